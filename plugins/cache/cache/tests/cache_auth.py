"""A test-only auth plugin: ``sk-team-<team>-<n>`` keys belong to team ``<team>``; ``sk-solo-<n>`` keys
to no team.  It stands in for gateway-virtual-keys (which needs a database) with the same Principal
fields the cache reads: ``team_id``, ``key_hash`` and ``metadata`` (``sk-solo-nocache`` carries
LiteLLM's per-key ``metadata.cache``)."""

from __future__ import annotations

from typing import Any

from gateway import Principal, hookimpl


class TeamAuth:
    @hookimpl
    def gateway_auth(self, ctx: Any, api_key: str | None, gateway: Any) -> Principal | None:
        if not api_key:
            return None
        if api_key.startswith("sk-team-"):
            team = api_key.split("-")[2]
            return Principal(id=f"hash-{api_key}", kind="virtual_key", key_hash=f"hash-{api_key}", team_id=team)
        if api_key.startswith("sk-solo-"):
            metadata = {"cache": {"no-store": True}} if api_key == "sk-solo-nostore" else {}
            return Principal(id=f"hash-{api_key}", kind="virtual_key", key_hash=f"hash-{api_key}", metadata=metadata)
        return None
