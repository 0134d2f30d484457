"""Plugin discovery and registration.

pluggy owns registration, validation and ordering; this module owns discovery.  It loads the
``gateway`` entry-point group in a loop of its own instead of pluggy's
``load_setuptools_entrypoints`` because that one crashes the host on a plugin that fails to
import and silently drops a second plugin with the same name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from gateway import _hookspecs
from gateway._errors import PluginError

ENTRY_POINT_GROUP = "gateway"

#: the kernel's own fallbacks, registered like any plugin (they are ``trylast`` where it matters)
BUILTIN_PLUGINS = (
    ("master_key", "gateway._builtin.master_key"),
    ("default_router", "gateway._builtin.default_router"),
    ("provider_dispatch", "gateway._builtin.provider_dispatch"),
    ("openai_surfaces", "gateway._builtin.openai_surfaces"),
    ("routing_strategies", "gateway._builtin.routing_strategies"),
    ("health_checks", "gateway._builtin.health_checks"),
    ("guardrails", "gateway.guardrails._plugin"),
    ("sinks", "gateway.sinks._plugin"),
)


@dataclass
class PluginRecord:
    """What ``gateway plugins`` reports for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    status: str  # "loaded", "failed", "disabled"
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    import_seconds: float = 0.0
    builtin: bool = False


def _origin(namespace: Any) -> str:
    """Where hook specifications come from: their module (and class), for error messages."""
    module = getattr(namespace, "__module__", None)
    if isinstance(namespace, ModuleType) or module is None:
        return getattr(namespace, "__name__", repr(namespace))
    return f"{module}.{getattr(namespace, '__qualname__', type(namespace).__name__)}"


def env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where every plugin came from and how loading went."""

    def __init__(self) -> None:
        super().__init__(_hookspecs.PROJECT)
        self.add_hookspecs(_hookspecs)
        self.records: dict[str, PluginRecord] = {}
        # historic: every plugin registered from now on declares its own hooks as it is registered
        self.hook.gateway_add_hookspecs.call_historic(kwargs={"pluginmanager": self})

    def add_hookspecs(self, module_or_class: Any) -> None:
        """pluggy's ``add_hookspecs``, refusing a hook that is declared already (two plugins
        declaring one hook would otherwise depend on which one was installed last)."""
        for name in dir(module_or_class):
            if self.parse_hookspec_opts(module_or_class, name) is None:
                continue
            caller = getattr(self.hook, name, None)
            if caller is not None and caller.spec is not None:
                raise PluginError(
                    f"the hook {name!r} is declared twice: by {_origin(caller.spec.namespace)} and by "
                    f"{_origin(module_or_class)}; uninstall one of the plugins"
                )
        super().add_hookspecs(module_or_class)

    # ------------------------------------------------------------------ registration

    def register_plugin(
        self,
        plugin: Any,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
        builtin: bool = False,
        import_seconds: float = 0.0,
    ) -> None:
        if name in self.records and self.records[name].status == "loaded":
            existing = self.records[name]
            raise PluginError(
                f"two plugins are named {name!r}: {existing.distribution or existing.module} and "
                f"{distribution or getattr(plugin, '__name__', plugin)!r}; uninstall one of them"
            )
        try:
            self.register(plugin, name=name)
        except PluginError:  # raised by its gateway_add_hookspecs, once it was half registered
            if self.get_plugin(name) is not None:
                self.unregister(name=name)
            raise
        self._refuse_wrappers(name)
        self.records[name] = PluginRecord(
            name=name,
            distribution=distribution,
            version=version,
            module=getattr(plugin, "__name__", type(plugin).__name__),
            status="loaded",
            hooks=sorted(impl_name for impl_name in self._hook_names_of(plugin)),
            import_seconds=import_seconds,
            builtin=builtin,
        )

    def _hook_names_of(self, plugin: Any) -> Iterable[str]:
        for caller in self.get_hookcallers(plugin) or []:
            yield caller.name

    def _refuse_wrappers(self, name: str) -> None:
        plugin = self.get_plugin(name)
        for caller in self.get_hookcallers(plugin) or []:
            if caller.name not in _hookspecs.REQUEST_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    self.unregister(plugin)
                    raise PluginError(
                        f"plugin {name!r} declares {caller.name} as a wrapper; request hooks are driven by the "
                        "gateway's async caller and cannot be wrapped (use a plain implementation)"
                    )

    def load_builtins(self) -> None:
        for name, module_name in BUILTIN_PLUGINS:
            self.register_plugin(importlib.import_module(module_name), name, distribution="gateway", builtin=True)

    def load_entrypoints(
        self,
        *,
        strict: bool,
        allow: list[str] | None = None,
        block: Iterable[str] = (),
    ) -> None:
        """Import and register every plugin of the ``gateway`` entry-point group.

        A plugin that fails to import is recorded (and logged by the caller) and skipped, unless
        ``strict``; a duplicate name always fails, naming both distributions.
        """
        blocked = set(block)
        seen: dict[str, str] = {}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            if ep.name in seen:
                raise PluginError(
                    f"two installed distributions provide a gateway plugin named {ep.name!r}: "
                    f"{seen[ep.name]} and {dist}; uninstall one of them"
                )
            seen[ep.name] = dist or ep.value
            if ep.name in blocked or (allow is not None and ep.name not in allow):
                self.records[ep.name] = PluginRecord(ep.name, dist, version, ep.value, "disabled")
                continue
            started = time.perf_counter()
            try:
                plugin = ep.load()
            except Exception as exc:  # any import-time failure of a third-party module
                if strict:
                    raise PluginError(
                        f"plugin {ep.name!r} (distribution {dist}) failed to import: {type(exc).__name__}: {exc}"
                    ) from exc
                self.records[ep.name] = PluginRecord(
                    ep.name,
                    dist,
                    version,
                    ep.value,
                    "failed",
                    error=f"{type(exc).__name__}: {exc}",
                )
                self.records[ep.name].error += "\n" + traceback.format_exc(limit=3)  # type: ignore[operator]
                continue
            self.register_plugin(
                plugin, ep.name, distribution=dist, version=version, import_seconds=time.perf_counter() - started
            )

    def register_explicit(self, plugins: Iterable[Any]) -> None:
        """Register plugins given as objects or modules (tests, embedding); names from ``__name__``."""
        for plugin in plugins:
            if isinstance(plugin, tuple):
                name, plugin = plugin
            else:
                name = getattr(plugin, "gateway_plugin_name", None)
                if name is None:
                    name = (
                        plugin.__name__.rsplit(".", 1)[-1] if isinstance(plugin, ModuleType) else type(plugin).__name__
                    )
            self.register_plugin(plugin, name)

    def finish(self) -> None:
        """Refuse implementations of hooks that do not exist (a typo would otherwise do nothing)."""
        try:
            self.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {self.get_name(exc.plugin)!r} implements a hook that does not exist: {exc}. "
                "Hook names start with 'gateway_' (see docs/plugins.md); a hook another plugin declares "
                "(gateway_add_hookspecs) exists only when that plugin is installed"
            ) from exc

    def failed(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.status == "failed"]
