"""Retries, fallbacks, cooldowns and stream failures, against several local upstreams.

Error bodies follow OpenAI's error format (https://platform.openai.com/docs/guides/error-codes);
the context-window message is the one OpenAI returns with code ``context_length_exceeded``, the
content-policy one Azure OpenAI's content filter message
(https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from gateway import fake_openai
from gateway.testing import LogCollector, Reply

from .conftest import MASTER
from .test_routing_support import (
    MESSAGES,
    Alerts,
    chat,
    config,
    entry,
    failing,
    healthy,
    served_by,
    start,
    upstreams,
    wait_until,
)

__all__ = ["upstreams"]

CONTEXT_WINDOW_MESSAGE = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens. "
    "Please reduce the length of the messages."
)
CONTENT_POLICY_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."
)


def test_retries_within_the_group_then_each_fallback_group_with_its_own_retries(
    upstreams: Any, gateway_factory: Any
) -> None:
    p1, p2, second, third = upstreams(4)
    failing(p1, 500)
    failing(p2, 500)
    failing(second, 503, "overloaded")
    log = LogCollector()
    proxy = start(
        gateway_factory,
        config(
            entry("primary", p1),
            entry("primary", p2),
            entry("second", second),
            entry("third", third),
            num_retries=2,
            fallbacks=[{"primary": ["second", "third"]}],
            allowed_fails=100,
        ),
        plugins=(log,),
    )
    text, headers = chat(proxy)
    assert served_by(text) == served_by(third.content)
    # 1 try + 2 retries in "primary" (both deployments used), the same in "second", then "third"
    assert len(p1.requests) + len(p2.requests) == 3 and p1.requests and p2.requests
    assert (len(second.requests), len(third.requests)) == (3, 1)
    assert headers["x-litellm-attempted-retries"] == "4"
    assert headers["x-litellm-attempted-fallbacks"] == "2"
    event = log.wait_for(1)[0]
    assert [a["model_group"] for a in event["attempts"]] == ["primary"] * 3 + ["second"] * 3
    assert event["model_group"] == "primary" and event["fallbacks"] == 2


def test_context_window_and_content_policy_errors_use_their_own_fallbacks(upstreams: Any, gateway_factory: Any) -> None:
    primary, general, big, lenient = upstreams(4)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", primary),
            entry("general", general),
            entry("big", big),
            entry("lenient", lenient),
            num_retries=3,
            fallbacks=[{"primary": ["general"]}],
            context_window_fallbacks=[{"primary": ["big"]}],
            content_policy_fallbacks=[{"primary": ["lenient"]}],
        ),
    )
    failing(primary, 400, CONTEXT_WINDOW_MESSAGE, type="invalid_request_error", code="context_length_exceeded")
    text, headers = chat(proxy)
    assert served_by(text) == served_by(big.content)
    assert len(primary.requests) == 1, "a prompt that does not fit is not retried on the same group"
    assert headers["x-litellm-attempted-retries"] == "0" and headers["x-litellm-attempted-fallbacks"] == "1"

    failing(primary, 400, CONTENT_POLICY_MESSAGE, type="invalid_request_error", code="content_filter")
    assert served_by(chat(proxy)[0]) == served_by(lenient.content)

    failing(primary, 400, "'temperature' must be at most 2", type="invalid_request_error")
    with pytest.raises(openai.BadRequestError) as err:
        chat(proxy)
    assert "temperature" in err.value.body["message"]
    assert general.requests == [], "a malformed request does not fall back"
    assert len(primary.requests) == 3


def test_context_window_error_without_its_own_list_uses_the_general_fallbacks(
    upstreams: Any, gateway_factory: Any
) -> None:
    primary, general = upstreams(2)
    failing(primary, 400, "prompt is too long: 210000 tokens > 200000 maximum", type="invalid_request_error")
    proxy = start(
        gateway_factory,
        config(entry("primary", primary), entry("general", general), fallbacks=[{"primary": ["general"]}]),
    )
    assert served_by(chat(proxy)[0]) == served_by(general.content)


def test_request_fallbacks_replace_the_configured_ones_and_can_be_disabled(
    upstreams: Any, gateway_factory: Any
) -> None:
    primary, configured, chosen = upstreams(3)
    failing(primary, 500)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", primary),
            entry("configured", configured),
            entry("chosen", chosen),
            num_retries=0,
            fallbacks=[{"primary": ["configured"]}],
        ),
    )
    assert served_by(chat(proxy, extra_body={"fallbacks": ["chosen"]})[0]) == served_by(chosen.content)
    assert served_by(chat(proxy, extra_body={"fallbacks": [{"model": "chosen"}]})[0]) == served_by(chosen.content)
    assert configured.requests == []
    with pytest.raises(openai.InternalServerError):
        chat(proxy, extra_body={"disable_fallbacks": True})
    with pytest.raises(openai.BadRequestError) as err:
        chat(proxy, extra_body={"fallbacks": [{"model": "chosen", "temperature": 0}]})
    assert "overrides (temperature) are not supported" in err.value.body["message"]
    assert served_by(chat(proxy)[0]) == served_by(configured.content)


def test_default_fallbacks_and_max_fallbacks(upstreams: Any, gateway_factory: Any) -> None:
    primary, first, second = upstreams(3)
    failing(primary, 500)
    failing(first, 500)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", primary),
            entry("first", first),
            entry("second", second),
            num_retries=0,
            default_fallbacks=["first", "second"],
            max_fallbacks=1,
        ),
    )
    with pytest.raises(openai.InternalServerError) as err:
        chat(proxy)
    assert "after 2 attempts" in err.value.body["message"]
    assert err.value.response.headers["x-litellm-attempted-fallbacks"] == "1"
    assert (len(first.requests), len(second.requests)) == (1, 0)


def test_retry_policy_sets_retries_per_error_type(upstreams: Any, gateway_factory: Any) -> None:
    (only,) = upstreams(1)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", only),
            num_retries=1,
            retry_policy={"RateLimitErrorRetries": 0, "InternalServerErrorRetries": 3},
        ),
    )
    only.enqueue(Reply(status=429, json={"error": {"message": "slow down"}}))
    with pytest.raises(openai.RateLimitError):
        chat(proxy)
    assert len(only.requests) == 1

    only.enqueue(*[Reply(status=500, json={"error": {"message": "boom"}})] * 3)
    text, headers = chat(proxy)
    assert served_by(text) == served_by(only.content)
    assert len(only.requests) == 1 + 4
    assert headers["x-litellm-attempted-retries"] == "3"


def test_a_failing_deployment_cools_down_and_comes_back(upstreams: Any, gateway_factory: Any) -> None:
    sick, well = upstreams(2)
    failing(sick, 500)
    alerts = Alerts()
    proxy = start(
        gateway_factory,
        config(
            entry("primary", sick, model_info={"id": "sick"}),
            entry("primary", well, model_info={"id": "well"}),
            num_retries=1,
            allowed_fails=1,
            cooldown_time=3,
            routing_strategy_args={"seed": 3},
        ),
        plugins=(alerts,),
    )
    # every request is answered (a failure on "sick" is retried on "well") until "sick" fails twice
    for _ in range(50):
        if len(sick.requests) >= 2:
            break
        assert served_by(chat(proxy)[0]) == served_by(well.content)
    wait_until(lambda: bool(alerts.alerts), what="the deployment_cooldown alert")
    assert alerts.alerts[0]["kind"] == "deployment_cooldown" and alerts.alerts[0]["details"]["deployment_id"] == "sick"
    health = httpx.get(f"{proxy.url}/health", headers={"Authorization": f"Bearer {MASTER}"}).json()
    assert [e["model_id"] for e in health["unhealthy_endpoints"]] == ["sick"]

    failed_so_far = len(sick.requests)
    healthy(sick)
    for _ in range(10):
        assert served_by(chat(proxy)[0]) == served_by(well.content)
    assert len(sick.requests) == failed_so_far, "a cooling deployment gets no traffic"

    wait_until(
        lambda: served_by(chat(proxy)[0]) == served_by(sick.content),
        timeout=15,
        what="the cooled deployment serving again",
    )


def test_a_groups_only_deployment_is_never_cooled_down(upstreams: Any, gateway_factory: Any) -> None:
    (only,) = upstreams(1)
    failing(only, 500)
    proxy = start(gateway_factory, config(entry("primary", only), num_retries=0, allowed_fails=0, cooldown_time=60))
    for _ in range(4):
        with pytest.raises(openai.InternalServerError):
            chat(proxy)
    healthy(only)
    assert served_by(chat(proxy)[0]) == served_by(only.content)
    assert len(only.requests) == 5


def test_a_group_with_every_deployment_cooling_answers_429_or_falls_back(upstreams: Any, gateway_factory: Any) -> None:
    a, b, spare = upstreams(3)
    failing(a, 500)
    failing(b, 500)
    cfg = config(
        entry("primary", a),
        entry("primary", b),
        entry("spare", spare),
        num_retries=1,
        allowed_fails=0,
        cooldown_time=60,
    )
    proxy = start(gateway_factory, cfg)
    with pytest.raises(openai.InternalServerError):
        chat(proxy)  # both deployments fail once: both cool down
    with pytest.raises(openai.RateLimitError) as err:
        chat(proxy)
    assert "every one is cooling down" in err.value.body["message"]
    assert 1 <= int(err.value.response.headers["retry-after"]) <= 60
    assert len(a.requests) + len(b.requests) == 2
    assert served_by(chat(proxy, extra_body={"fallbacks": ["spare"]})[0]) == served_by(spare.content)


def _stream_text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _pinned_pair(first: Any, second: Any, **settings: Any) -> dict[str, Any]:
    """Two deployments of one group where the shuffle (seeded) all but surely tries ``first`` first."""
    return config(
        entry("primary", first, weight=1_000_000),
        entry("primary", second, weight=0.000001),
        routing_strategy_args={"seed": 1},
        **settings,
    )


@pytest.mark.parametrize("how", ["drops the connection", "sends an error event"])
def test_stream_failing_before_its_first_chunk_is_retried_once_on_another_deployment(
    how: str, upstreams: Any, gateway_factory: Any
) -> None:
    breaking, backup = upstreams(2)
    chunks = list(fake_openai.chat_chunks("gpt-4o", breaking.content, prompt=3))
    if how == "drops the connection":
        breaking.default = Reply(stream=chunks, break_after=0, done=False)
    else:
        breaking.default = Reply(stream=[{"error": {"message": "overloaded", "type": "server_error"}}])
    log = LogCollector()
    proxy = start(gateway_factory, _pinned_pair(breaking, backup, num_retries=3), plugins=(log,))
    raw = proxy.openai().chat.completions.with_raw_response.create(model="primary", messages=MESSAGES, stream=True)
    text = _stream_text(list(raw.parse()))
    assert text == backup.content, "the client gets one whole answer, from the other deployment"
    assert (len(breaking.requests), len(backup.requests)) == (1, 1)
    assert raw.headers["x-litellm-attempted-retries"] == "1"
    event = log.wait_for(1)[0]
    assert event["status"] == 200 and len(event["attempts"]) == 1


def test_stream_failing_after_its_first_chunk_is_not_retried(upstreams: Any, gateway_factory: Any) -> None:
    breaking, backup = upstreams(2)
    breaking.default = Reply(
        stream=list(fake_openai.chat_chunks("gpt-4o", "one two three four five", prompt=3)), break_after=2, done=False
    )
    proxy = start(gateway_factory, _pinned_pair(breaking, backup, num_retries=3))
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in proxy.openai().chat.completions.create(model="primary", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received, "what was sent before the failure reached the client"
    assert "closed the stream early" in str(err.value.message)
    assert (len(breaking.requests), len(backup.requests)) == (1, 0), "never duplicated on another deployment"


def test_allowed_fails_policy_counts_each_error_type_on_its_own(upstreams: Any, gateway_factory: Any) -> None:
    limited, other = upstreams(2)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", limited, model_info={"id": "limited"}),
            entry("primary", other, model_info={"id": "other"}),
            num_retries=1,
            allowed_fails=100,
            cooldown_time=60,
            allowed_fails_policy={"RateLimitErrorAllowedFails": 0},
            routing_strategy_args={"seed": 5},
        ),
    )
    failing(limited, 500)
    for _ in range(50):  # three 5xx: far below allowed_fails, no cooldown
        if len(limited.requests) >= 3:
            break
        chat(proxy)
    assert proxy.gateway.router.cooldowns.cooling() == {}
    failing(limited, 429, "rate limited")
    for _ in range(50):  # one 429: over its own allowance of 0
        if len(limited.requests) >= 4:
            break
        chat(proxy)
    assert list(proxy.gateway.router.cooldowns.cooling()) == ["limited"]
