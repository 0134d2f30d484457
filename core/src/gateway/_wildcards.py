"""Wildcard model groups, as LiteLLM routes them.

A ``model_name`` with ``*`` in it (``"*"``, ``"anthropic/*"``, ``"fo::*:static::*"``) is a pattern:
a requested name that is no exact model group and matches it is served by that group, each ``*``
of the deployment's ``litellm_params.model`` replaced by the part of the name it matched
(``model_name: "anthropic/*"`` with ``model: "anthropic/*"`` sends ``anthropic/claude-x`` as
``claude-x`` to Anthropic; ``model_name: "*"`` with ``model: "openai/*"`` sends ``gpt-4o`` to OpenAI).
An exact group always wins, then the most specific pattern: the one with the longest literal part,
then the fewest wildcards, so ``*`` is the last resort.

Patterns are compiled once at start-up; a request pays for a match only when its name is no
exact group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


def is_wildcard(name: str) -> bool:
    return "*" in name


@dataclass(frozen=True, slots=True)
class WildcardMatch:
    #: the wildcard group's ``model_name`` (``anthropic/*``)
    group: str
    #: what each ``*`` matched, in order
    parts: tuple[str, ...]


def _specificity(pattern: str) -> tuple[int, int, str]:
    return (-(len(pattern) - pattern.count("*")), pattern.count("*"), pattern)


class WildcardGroups:
    """The config's wildcard model groups, most specific first."""

    def __init__(self, names: Iterable[str]) -> None:
        patterns = sorted((n for n in names if is_wildcard(n)), key=_specificity)
        self._compiled = [
            (name, re.compile("(.*)".join(re.escape(piece) for piece in name.split("*")), re.DOTALL))
            for name in patterns
        ]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def names(self) -> list[str]:
        return [name for name, _ in self._compiled]

    def match(self, requested: str) -> WildcardMatch | None:
        """The most specific wildcard group serving ``requested``, or None."""
        for name, regex in self._compiled:
            found = regex.fullmatch(requested)
            if found is not None:
                return WildcardMatch(name, found.groups())
        return None


def substitute(template: str, match: WildcardMatch, requested: str) -> str:
    """The deployment's ``litellm_params.model`` for ``requested``: each ``*`` replaced by what the
    pattern's ``*`` at the same place matched (``model_name: "*"`` with ``model: "openai/*"``:
    ``openai/gpt-4o``); when the pattern and the model have different numbers of ``*``, each ``*``
    stands for the whole requested name."""
    pieces = template.split("*")
    if len(pieces) == 1:
        return template  # a fixed model behind a pattern: every name goes to it
    parts = match.parts if len(match.parts) == len(pieces) - 1 else (requested,) * (len(pieces) - 1)
    out = [pieces[0]]
    for part, piece in zip(parts, pieces[1:], strict=True):
        out.append(part)
        out.append(piece)
    return "".join(out)
