"""Concurrent admin calls on one key: no field is lost, no request fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vk_testkit import Api

ROUNDS = 6
FIELDS: dict[str, Any] = {
    "max_budget": lambda i: 100 + i,
    "soft_budget": lambda i: 50 + i,
    "rpm_limit": lambda i: 10 + i,
    "tpm_limit": lambda i: 1000 + i,
    "max_parallel_requests": lambda i: 1 + i,
    "key_alias": lambda i: f"alias-{i}",
    "metadata": lambda i: {"round": i},
    "budget_duration": lambda i: f"{i + 1}d",
}


def test_concurrent_updates_of_different_fields_never_lose_one(api: Api) -> None:
    made = api.new_key(models=["gpt-4o"], aliases={"a": "gpt-4o"})

    def writer(field: str) -> list[int]:
        client = Api(api.running, api.key)
        try:
            return [
                client.post("/key/update", {"key": made["token_id"], field: FIELDS[field](i)}).status_code
                for i in range(ROUNDS)
            ]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=len(FIELDS)) as pool:
        statuses = list(pool.map(writer, FIELDS))
    assert all(code == 200 for codes in statuses for code in codes), statuses
    info = api.ok("GET", "/key/info", {"key": made["key"]})["info"]
    for field, value in FIELDS.items():
        assert info[field] == value(ROUNDS - 1), (field, info[field])
    assert info["models"] == ["gpt-4o"] and info["aliases"] == {"a": "gpt-4o"}  # untouched fields kept
    assert api.chat(made["key"]).status_code == 200


def test_concurrent_key_creation_with_one_alias_admits_exactly_one(api: Api) -> None:
    def create(_: int) -> int:
        client = Api(api.running, api.key)
        try:
            return client.post("/key/generate", {"key_alias": "only-one"}).status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(create, range(6)))
    assert codes == [200] + [400] * 5
    assert api.ok("GET", "/key/list", {"key_alias": "only-one"})["total_count"] == 1
