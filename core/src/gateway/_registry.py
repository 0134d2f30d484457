"""The one registry every start-up ``register`` callback fills: providers, routing strategies,
guardrail types, sinks, migrations, surfaces.

Plugins register things by name once, at start-up; a name registered by two plugins is a start-up
error naming both, never a silent override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from gateway._errors import PluginError

T = TypeVar("T")

DISABLE_ONE = "disable one of them (GATEWAY_DISABLE_PLUGINS)"


class Registry(Generic[T]):
    """``name -> item``, with the plugin that registered each."""

    def __init__(self, what: str, remedy: str = DISABLE_ONE) -> None:
        #: what a name names, for the error (``provider prefix``, ``routing strategy`` ...)
        self.what = what
        self.remedy = remedy
        self._items: dict[str, T] = {}
        self._owners: dict[str, str] = {}

    def add(self, plugin: str, name: str, item: T) -> None:
        if name in self._items:
            raise PluginError(
                f"{self.what} {name!r} is registered by both {self._owners[name]!r} and {plugin!r}; {self.remedy}"
            )
        self._items[name] = item
        self._owners[name] = plugin

    def registrar(self, plugin: str) -> Callable[[str, T], None]:
        """The ``register(name, item)`` callback handed to ``plugin``'s start-up hook."""

        def register(name: str, item: T) -> None:
            self.add(plugin, name, item)

        return register

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def owner(self, name: str) -> str | None:
        return self._owners.get(name)

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
