"""With gateway-virtual-keys: teams and keys made through LiteLLM's admin API, as operators do.

A team's answers are not served to another team; a team whose metadata says
``{"cache": {"no-store": true}}`` (LiteLLM's per-team setting) never has its answers stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from cache_helpers import MASTER, REDIS

pytestmark = pytest.mark.redis


def admin(gw: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(gw.url + path, json=body, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_teams_made_through_the_admin_api_keep_their_entries(
    cache_gateway: Any, fake_upstream: Any, namespace: str, tmp_path: Path
) -> None:
    import gateway_virtual_keys

    gw = cache_gateway(
        {"type": "redis", **REDIS, "namespace": namespace},
        extra=(("virtual_keys", gateway_virtual_keys),),
        general={"database_url": f"sqlite:///{tmp_path / 'keys.db'}"},
        plugins={"virtual_keys": {"revocation_wait": False}},
    )
    admin(gw, "/team/new", {"team_id": "team-a"})
    admin(gw, "/team/new", {"team_id": "team-b"})
    admin(gw, "/team/new", {"team_id": "team-private", "metadata": {"cache": {"no-store": True}}})
    keys = {
        name: admin(gw, "/key/generate", {"team_id": team})["key"]
        for name, team in (("a1", "team-a"), ("a2", "team-a"), ("b", "team-b"), ("private", "team-private"))
    }

    def ask(key: str) -> None:
        gw.openai(api_key=keys[key]).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "team question"}]
        )

    ask("a1")
    ask("a2")
    assert len(fake_upstream.requests) == 1  # one team, one entry
    ask("b")
    assert len(fake_upstream.requests) == 2  # team A's answer is not team B's
    ask("private")
    ask("private")
    assert len(fake_upstream.requests) == 4  # the team's metadata says no-store
