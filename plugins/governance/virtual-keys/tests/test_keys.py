"""``/key/*`` as an operator uses them: what each call returns and what the key can do afterwards."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest
from vk_testkit import MASTER, Api, error_of


def test_generate_returns_the_key_once_and_stores_only_a_hash(api: Api, database: Any) -> None:
    made = api.new_key(
        key_alias="ci-bot",
        models=["gpt-4o"],
        max_budget=12.5,
        tpm_limit=1000,
        rpm_limit=10,
        max_parallel_requests=2,
        budget_duration="30d",
        soft_budget=10,
        metadata={"env": "ci"},
        aliases={"fast": "gpt-4o-mini"},
    )
    key = made["key"]
    assert key.startswith("sk-") and len(key) >= 3 + 32
    assert made["key_name"] == f"sk-...{key[-4:]}" and len(made["token_id"]) == 64
    assert made["tpm_limit"] == 1000 and made["budget_duration"] == "30d" and made["metadata"] == {"env": "ci"}
    info = api.ok("GET", "/key/info", {"key": key})["info"]
    assert key not in str(info)  # neither the key nor anything shows it again
    assert info["key_alias"] == "ci-bot" and info["soft_budget"] == 10 and info["max_parallel_requests"] == 2
    by_hash = api.ok("GET", "/key/info", {"key": made["token_id"]})
    assert by_hash["info"] == info


def test_key_may_read_its_own_info_without_parameters(api: Api) -> None:
    key = api.new_key(user_id="bob")["key"]
    own = api.ok("GET", "/key/info", key=key)
    assert own["info"]["user_id"] == "bob"


def test_generated_keys_are_distinct_and_url_safe(api: Api) -> None:
    keys = {api.new_key()["key"] for _ in range(5)}
    assert len(keys) == 5
    assert all(set(k[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for k in keys)


def test_custom_key_value_is_accepted_when_long_enough(api: Api) -> None:
    custom = "sk-" + "c" * 40
    api.new_key(key=custom)
    assert api.chat(custom).status_code == 200
    short = api.post("/key/generate", {"key": "sk-short"})
    assert short.status_code == 400 and error_of(short)["param"] == "key"


def test_update_changes_only_the_fields_sent(api: Api) -> None:
    made = api.new_key(key_alias="a", max_budget=5, models=["gpt-4o"], metadata={"x": 1})
    updated = api.ok("POST", "/key/update", {"key": made["key"], "max_budget": 9})
    assert updated["max_budget"] == 9 and updated["key_alias"] == "a" and updated["models"] == ["gpt-4o"]
    assert updated["metadata"] == {"x": 1}
    by_alias = api.ok("POST", "/key/update", {"key_alias": "a", "models": ["gpt-4o", "gpt-4o-mini"]})
    assert by_alias["models"] == ["gpt-4o", "gpt-4o-mini"] and by_alias["max_budget"] == 9
    assert api.chat(made["key"], "gpt-4o-mini").status_code == 200
    cleared = api.ok("POST", "/key/update", {"key": made["token_id"], "max_budget": None, "models": None})
    assert cleared["max_budget"] is None and cleared["models"] == []


def test_block_and_unblock_take_effect_on_the_next_request(api: Api) -> None:
    key = api.new_key()["key"]
    assert api.chat(key).status_code == 200
    assert api.ok("POST", "/key/block", {"key": key})["blocked"] is True
    refused = api.chat(key)
    assert refused.status_code == 401 and "blocked" in error_of(refused)["message"]
    api.ok("POST", "/key/unblock", {"key": key})
    assert api.chat(key).status_code == 200


def test_delete_by_key_and_by_alias(api: Api) -> None:
    first = api.new_key()
    api.new_key(key_alias="second")
    deleted = api.ok("POST", "/key/delete", {"keys": [first["key"]], "key_aliases": ["second"]})
    assert len(deleted["deleted_token_ids"]) == 2
    assert api.chat(first["key"]).status_code == 401
    assert api.get("/key/info", {"key": first["key"]}).status_code == 404


def test_regenerate_with_grace_period_keeps_the_old_key_working(api: Api) -> None:
    made = api.new_key(key_alias="rotating", max_budget=3)
    again = api.ok("POST", "/key/regenerate", {"key": made["key"], "grace_period": "1h"})
    assert again["key"] != made["key"] and again["token_id"] == made["token_id"] and again["max_budget"] == 3
    assert api.chat(again["key"]).status_code == 200
    assert api.chat(made["key"]).status_code == 200  # within the grace period
    third = api.ok("POST", f"/key/{again['token_id']}/regenerate", {})
    assert api.chat(third["key"]).status_code == 200
    refused = api.chat(again["key"])  # replaced without a grace period: refused at once
    assert refused.status_code == 401


def test_expired_key_is_refused_with_the_time_it_expired(api: Api) -> None:
    made = api.new_key(duration="1h")
    assert api.chat(made["key"]).status_code == 200
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    api.ok("POST", "/key/update", {"key": made["key"], "expires": past})
    refused = api.chat(made["key"])
    error = error_of(refused)
    assert refused.status_code == 401 and error["type"] == "expired_key" and "expired at" in error["message"]
    api.ok("POST", "/key/update", {"key": made["key"], "duration": "1d"})
    assert api.chat(made["key"]).status_code == 200


def same_day_next_month(moment: datetime) -> datetime:
    """LiteLLM's ``1mo``: the same day of the next month, or its last day when that month is shorter."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def test_a_one_month_key_expires_on_the_same_day_next_month_not_after_30_days(api: Api) -> None:
    before = datetime.now(UTC)
    made = api.new_key(duration="1mo")
    after = datetime.now(UTC)
    expires = datetime.fromisoformat(made["expires"])
    assert same_day_next_month(before) <= expires <= same_day_next_month(after)
    assert datetime.fromisoformat(api.ok("GET", "/key/info", {"key": made["key"]})["info"]["expires"]) == expires
    # m is minutes
    soon = datetime.fromisoformat(api.new_key(duration="90m")["expires"])
    assert before + timedelta(minutes=90) <= soon <= datetime.now(UTC) + timedelta(minutes=90)


def test_a_monthly_budget_resets_on_the_first_of_the_next_month(api: Api) -> None:
    """``budget_reset_at`` is when the budget plugin's ``1mo`` window ends: the 1st, midnight UTC."""
    today = datetime.now(UTC)
    first = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC)
    made = api.new_key(max_budget=10, budget_duration="1mo")
    assert datetime.fromisoformat(made["budget_reset_at"]) == first
    info = api.ok("GET", "/key/info", {"key": made["key"]})["info"]
    assert datetime.fromisoformat(info["budget_reset_at"]) == first
    daily = api.new_key(max_budget=10, budget_duration="1d")
    assert datetime.fromisoformat(daily["budget_reset_at"]) == datetime(
        today.year, today.month, today.day, tzinfo=UTC
    ) + timedelta(days=1)
    assert api.new_key(max_budget=10)["budget_reset_at"] is None  # no duration: never resets


def test_a_bad_duration_names_the_field_once_and_the_accepted_units(api: Api) -> None:
    refused = api.post("/key/generate", {"budget_duration": "1 month"})
    error = error_of(refused)
    assert refused.status_code == 400 and error["param"] == "budget_duration"
    assert error["message"].startswith("'budget_duration': '1 month' is not a duration; write a whole number")
    assert "15m (minutes)" in error["message"] and "1mo (calendar months)" in error["message"]


def test_list_is_paginated_and_filtered(api: Api) -> None:
    for i in range(5):
        api.new_key(user_id="lister" if i % 2 else "other", key_alias=f"l{i}")
    page = api.ok("GET", "/key/list", {"page": 1, "size": 2})
    assert page["total_count"] == 5 and page["total_pages"] == 3 and len(page["keys"]) == 2
    assert all(isinstance(k, str) and len(k) == 64 for k in page["keys"])
    mine = api.ok("GET", "/key/list", {"user_id": "lister", "return_full_object": "true"})
    assert mine["total_count"] == 2 and {k["key_alias"] for k in mine["keys"]} == {"l1", "l3"}
    assert (
        api.ok("GET", "/key/list", {"page": 3, "size": 2})["keys"]
        and not api.ok("GET", "/key/list", {"page": 4, "size": 2})["keys"]
    )


def test_models_aliases_and_access_groups(gateway_for: Any) -> None:
    running, api = gateway_for()
    made = api.new_key(models=["gpt-4o"], aliases={"house-model": "gpt-4o"})
    client = openai.OpenAI(base_url=running.base_url, api_key=made["key"], max_retries=0)
    assert sorted(m.id for m in client.models.list()) == ["gpt-4o", "house-model"]
    reply = client.chat.completions.create(model="house-model", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "gpt-4o"
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="claude-sonnet", messages=[{"role": "user", "content": "hi"}])
    assert denied.value.body["param"] == "model"  # type: ignore[index]
    grouped = api.new_key(models=["chat-models"])["key"]  # an access group from model_info
    assert api.chat(grouped, "claude-sonnet").status_code == 200
    everything = api.new_key()["key"]
    assert len(openai.OpenAI(base_url=running.base_url, api_key=everything, max_retries=0).models.list().data) == 3


def test_team_models_limit_the_key(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "narrow", "models": ["gpt-4o-mini"]})
    key = api.new_key(team_id="narrow")["key"]
    assert api.chat(key, "gpt-4o-mini").status_code == 200
    assert api.chat(key, "gpt-4o").status_code == 401
    outside = api.post("/key/generate", {"team_id": "narrow", "models": ["gpt-4o"]})
    assert outside.status_code == 400 and error_of(outside)["param"] == "models"


def test_sql_looking_input_is_stored_verbatim(api: Api) -> None:
    evil = "x'); DROP TABLE vk_keys; --"
    made = api.new_key(key_alias=evil, user_id=evil, metadata={"note": "' OR 1=1 --"})
    info = api.ok("GET", "/key/info", {"key": made["key"]})["info"]
    assert info["key_alias"] == evil and info["user_id"] == evil and info["metadata"] == {"note": "' OR 1=1 --"}
    assert api.ok("GET", "/key/list", {"key_alias": evil})["total_count"] == 1
    assert api.ok("GET", "/user/info", {"user_id": evil})["user_id"] == evil
    assert api.chat(made["key"]).status_code == 200


def test_master_key_is_not_a_virtual_key(api: Api) -> None:
    missing = api.get("/key/info")
    assert missing.status_code == 400 and error_of(missing)["param"] == "key"
    assert api.chat(MASTER).status_code == 200
