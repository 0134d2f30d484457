"""Tag budgets (gateway-virtual-keys' ``/tag/*``, LiteLLM's docs/proxy/tag_budgets) enforced by
gateway-spend on SQLite, through gateway-spend's ``gateway_tag_scopes`` hook: a tag's budget is
shared by every request carrying the tag, whichever key sends it and however it is tagged (the
body's ``metadata.tags``, ``tags``, the ``x-litellm-tags`` header, the key's ``metadata.tags``); the
request that would overshoot it is refused naming the tag, and its spend shows in ``/tag/info``.
(Two processes on PostgreSQL and Redis: gateway-spend's test_tag_budget_two_processes.py.)"""

# ruff: noqa: F811 - the fixture imported from the governance flow test is a parameter of the same name

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from gateway import fake_openai

sys.path.insert(0, str(Path(__file__).parent))
from test_customers_flow import with_anthropic  # noqa: F401 - fixture
from test_governance_flow import MESSAGES, REPLY, admin, call_cost, governed  # noqa: F401 - fixture


def test_a_tag_budget_stops_every_request_carrying_the_tag_and_shows_its_spend(governed: Any) -> None:
    cost = call_cost()
    made = admin(governed, "POST", "/tag/new", json={"name": "engineering", "max_budget": str(cost * Decimal("4.5"))})
    assert made.status_code == 200, made.text
    tagged_key = admin(governed, "POST", "/key/generate", json={"tags": ["engineering"]}).json()["key"]
    plain_key = admin(governed, "POST", "/key/generate", json={}).json()["key"]
    tagged = openai.OpenAI(base_url=governed.base_url, api_key=tagged_key, max_retries=0)
    plain = openai.OpenAI(base_url=governed.base_url, api_key=plain_key, max_retries=0)
    limit = fake_openai.count_tokens(REPLY)

    def ask(client: openai.OpenAI, **tagging: Any) -> None:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, **tagging)

    ask(tagged)  # the key's own tag
    ask(plain, extra_body={"metadata": {"tags": ["engineering"]}})
    ask(plain, extra_body={"tags": ["engineering", "project-alpha"]})
    ask(plain, extra_headers={"x-litellm-tags": "engineering"})
    for client, tagging in ((tagged, {}), (plain, {"extra_headers": {"x-litellm-tags": "x,engineering"}})):
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            ask(client, **tagging)
        assert refused.value.body["type"] == "budget_exceeded"
        assert "tag 'engineering'" in refused.value.body["message"]
    ask(plain, extra_body={"metadata": {"tags": ["marketing"]}})  # other tags are not affected
    ask(plain)
    deadline = time.monotonic() + 10
    while True:
        info = admin(governed, "POST", "/tag/info", json={"names": ["engineering"]}).json()["engineering"]
        if Decimal(str(info["spend"])) == cost * 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert Decimal(str(info["spend"])) == cost * 4
    # the ledger: each request's tags, and the spend report by tag (a request with two tags in both)
    logs = admin(governed, "GET", "/spend/logs").json()
    assert sorted(tuple(r["request_tags"]) for r in logs if r["status"] == "success") == sorted(
        [("engineering",)] * 3 + [("engineering", "project-alpha"), ("marketing",), ()]
    )
    report = admin(governed, "GET", "/global/spend/report", params={"group_by": "tag"}).json()
    (day,) = report
    by_tag = {entry["tag"]: Decimal(entry["total_spend_exact"]) for entry in day["tags"]}
    # the refused request tagged "x,engineering" is in the report too, at no cost
    assert by_tag == {"engineering": cost * 4, "project-alpha": cost, "marketing": cost, "x": 0}
    # raising the budget lets the tag in again at once
    assert admin(governed, "POST", "/tag/update", json={"name": "engineering", "max_budget": 1}).status_code == 200
    ask(tagged)


def test_an_anthropic_client_tags_its_requests_with_litellm_metadata(with_anthropic: Any) -> None:
    gw = with_anthropic
    assert admin(gw, "POST", "/tag/new", json={"name": "batch", "rpm_limit": 1}).status_code == 200
    key = admin(gw, "POST", "/key/generate", json={}).json()["key"]
    client = anthropic.Anthropic(base_url=gw.base_url.removesuffix("/v1"), api_key=key, max_retries=0)
    message = {"role": "user", "content": "Hi"}
    tagged = {"litellm_metadata": {"tags": ["batch"]}}
    client.messages.create(model="claude", max_tokens=10, messages=[message], extra_body=tagged)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model="claude", max_tokens=10, messages=[message], extra_body=tagged)
    assert "tag 'batch'" in refused.value.body["error"]["message"]  # Anthropic's error format
    # the tag's limit is the tag's: an untagged request of the same key goes through
    client.messages.create(model="claude", max_tokens=10, messages=[message])
