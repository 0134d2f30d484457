"""``/key/regenerate`` with a grace period (issue 18 item 7), across two real ``gateway`` processes
on one database, with and without Redis: the old secret keeps working on every process until its
grace period ends, then is refused there with ``expired_key``; the key keeps its id, alias,
metadata and models; a regenerate without a grace period refuses the old secret at once everywhere.
Scheduled rotation (``auto_rotate``, ``rotation_interval``) is tested in test_scheduled_rotation.py.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_offboarding import GatewayProcess, two_gateways  # noqa: F401 - the fixture is used by name
from vk_testkit import MASTER

pytest.importorskip("gateway_openai", reason="the two processes serve the model through gateway-openai")


def chat(gateway: GatewayProcess, key: str) -> httpx.Response:
    return gateway.http.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )


def key_info(gateway: GatewayProcess, key: str) -> dict[str, Any]:
    response = gateway.http.get("/key/info", params={"key": key}, headers={"Authorization": f"Bearer {MASTER}"})
    assert response.status_code == 200, response.text
    return dict(response.json()["info"])


def test_the_old_secret_works_on_every_process_during_its_grace_period_and_not_after(
    two_gateways: tuple[GatewayProcess, GatewayProcess],  # noqa: F811 - the fixture
) -> None:
    first, second = two_gateways
    made = first.admin("/key/generate", {"key_alias": "rotating", "metadata": {"app": "billing"}, "models": ["gpt-4o"]})
    old = made["key"]
    assert chat(second, old).status_code == 200  # the second process knows the key before it rotates

    rotated = first.admin("/key/regenerate", {"key": old, "grace_period": "1h"})
    new = rotated["key"]
    assert new != old and rotated["token_id"] == made["token_id"]
    # the key is the same key: id, alias, metadata and models survive the rotation
    info = key_info(second, new)
    assert (info["token_id"], info["key_alias"], info["metadata"], info["models"]) == (
        made["token_id"],
        "rotating",
        {"app": "billing"},
        ["gpt-4o"],
    )
    for gateway in (first, second):
        assert chat(gateway, new).status_code == 200
        assert chat(gateway, old).status_code == 200  # within its grace period

    # a grace period that ends: the old secret is refused on both processes, the new one served
    short = first.admin("/key/generate", {})["key"]
    assert chat(second, short).status_code == 200
    replacement = first.admin("/key/regenerate", {"key": short, "grace_period": "2s"})["key"]
    time.sleep(2.5)
    for gateway in (first, second):
        refused = chat(gateway, short)
        assert refused.status_code == 401, refused.text
        error = refused.json()["error"]
        assert error["type"] == "expired_key" and "grace period" in error["message"]
        ended = datetime.fromisoformat(error["message"].split("ended at ")[1].split(";")[0])
        assert ended <= datetime.now(UTC)
        assert chat(gateway, replacement).status_code == 200


def test_a_regenerate_without_grace_refuses_the_old_secret_everywhere_at_once(
    two_gateways: tuple[GatewayProcess, GatewayProcess],  # noqa: F811 - the fixture
) -> None:
    first, second = two_gateways
    old = first.admin("/key/generate", {})["key"]
    assert chat(second, old).status_code == 200
    new = first.admin("/key/regenerate", {"key": old})["key"]
    # when the admin call has answered, every process refuses the old secret (see test_offboarding)
    assert chat(second, old).status_code == 401
    assert chat(first, old).status_code == 401
    assert chat(second, new).status_code == 200
