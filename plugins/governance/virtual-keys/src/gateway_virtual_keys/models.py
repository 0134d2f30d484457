"""What the names in a key's, team's or user's ``models`` list mean, as LiteLLM reads them.

A name may be a model group or alias of the config, an access group (``model_info.access_groups``),
a wildcard (``openai/*``, ``gpt-4*``) or a model the config does not list yet (LiteLLM stores such
names, so a key made for a model before it is deployed can use it once it is).  ``*`` and
``all-proxy-models`` (or an empty list) mean every model.  Names are expanded once, when a key is
resolved, against the config the gateway started with: nothing here runs per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from gateway import Deployment

ALL_MODELS = frozenset({"*", "all-proxy-models"})


def is_pattern(name: str) -> bool:
    return "*" in name and name not in ALL_MODELS


class ModelCatalog:
    """The config's model groups and access groups, to expand ``models`` lists with."""

    def __init__(self, deployments: Iterable[Deployment], names: Iterable[str]) -> None:
        groups: dict[str, set[str]] = {}
        for deployment in deployments:
            for group in deployment.model_info.get("access_groups") or ():
                groups.setdefault(str(group), set()).add(deployment.model_group)
        #: access group -> the model groups in it
        self.access_groups = {name: frozenset(members) for name, members in groups.items()}
        #: every model group and alias name of the config (what wildcards are matched against)
        self.names = frozenset(names)

    def expand_one(self, name: str) -> frozenset[str]:
        """The model groups one name stands for; the name itself is kept for a plain name, so a
        model the config does not list yet works once it is deployed."""
        if name in self.access_groups:
            return self.access_groups[name]
        if is_pattern(name):
            return frozenset({name, *(n for n in self.names if fnmatchcase(n, name))})
        return frozenset({name})

    def expand(self, names: Iterable[str] | None) -> frozenset[str] | None:
        """Every model group a ``models`` list allows; None means every model."""
        listed = list(names or ())
        if not listed or ALL_MODELS.intersection(listed):
            return None
        expanded: set[str] = set()
        for name in listed:
            expanded |= self.expand_one(name)
        return frozenset(expanded)

    def effective(self, key_models: Iterable[str] | None, team_models: Iterable[str] | None) -> frozenset[str] | None:
        """What a key may use: its own list and its team's both apply (None: every model)."""
        own = self.expand(key_models)
        team = self.expand(team_models)
        if own is None:
            return team
        if team is None:
            return own
        return own & team

    def outside(self, names: Iterable[str] | None, team_models: Iterable[str] | None) -> list[str]:
        """The names of a key's list that its team's list does not cover.

        A name is covered when the team lists it as it is (a future model, a wildcard, an access
        group), when every model it stands for today is the team's, or when it matches one of the
        team's wildcards.  A key listing every model is not outside: it gets its team's models.
        """
        listed = list(names or ())
        team_names = list(team_models or ())
        allowed = self.expand(team_names)
        if allowed is None or not listed or ALL_MODELS.intersection(listed):
            return []
        patterns = [n for n in team_names if is_pattern(n)]
        out = []
        for name in listed:
            if name in team_names:
                continue
            if not is_pattern(name) and any(fnmatchcase(name, p) for p in patterns):
                continue
            stands_for = self.expand_one(name) - {name} if is_pattern(name) else self.expand_one(name)
            if stands_for and stands_for <= allowed:
                continue
            out.append(name)
        return out
