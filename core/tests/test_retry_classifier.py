"""Retries that make sense (issue 24, item 3): ``router_settings.retry_classifier``.

A local server that refuses a request with a 500 (llama.cpp's ``can only concatenate str (not
"list") to str``) refuses it again on every attempt: the gateway stops after one retry that met the
same error.  Patterns decide other errors: ``never`` retried, ``always`` retried.  The access line
says why it retried, or why it stopped (``retried_because``).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gateway import ConfigError, Gateway
from gateway.testing import FakeUpstream, Reply

MASTER = "sk-master"
HI = [{"role": "user", "content": "hi"}]
DETERMINISTIC = 'can only concatenate str (not "list") to str'


def config(upstream: FakeUpstream, **router: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {"model_name": "local", "litellm_params": {"model": "openai/smollm2", "api_base": upstream.base_url}}
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 3, **router},
    }


def error(status: int, message: str) -> Reply:
    return Reply(status=status, json={"error": {"message": message, "type": "server_error"}})


def access_line(server_logs: Any) -> dict[str, Any]:
    line: dict[str, Any] = server_logs.wait_for("request")
    return line


def test_the_same_500_twice_stops_retrying(fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any) -> None:
    fake_upstream.default = error(500, DETERMINISTIC)
    gw = gateway_factory(config(fake_upstream))
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="local", messages=HI)
    assert DETERMINISTIC in caught.value.message and "after 2 attempts" in caught.value.message
    assert len(fake_upstream.requests) == 2  # the first attempt and one retry, not 1 + 3
    line = access_line(server_logs)
    assert line["retries"] == 2
    assert line["retried_because"] == (
        "InternalServerError (500); stopped: InternalServerError (500) repeated: "
        "the same error on two attempts is the request's problem"
    )


def test_different_500s_are_retried_as_configured(
    fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any
) -> None:
    fake_upstream.enqueue(error(500, "worker 1 crashed"), error(500, "worker 2 crashed"))
    gw = gateway_factory(config(fake_upstream))
    answer = gw.openai().chat.completions.create(model="local", messages=HI)
    assert answer.choices[0].message.content and len(fake_upstream.requests) == 3
    assert access_line(server_logs)["retried_because"] == "InternalServerError (500); InternalServerError (500)"


def test_repeated_errors_may_be_retried_when_configured(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    fake_upstream.default = error(500, DETERMINISTIC)
    gw = gateway_factory(config(fake_upstream, retry_classifier={"stop_on_repeated_error": False}))
    with pytest.raises(openai.InternalServerError):
        gw.openai().chat.completions.create(model="local", messages=HI)
    assert len(fake_upstream.requests) == 4


def test_never_patterns_are_not_retried(fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any) -> None:
    fake_upstream.default = error(500, DETERMINISTIC)
    gw = gateway_factory(config(fake_upstream, retry_classifier={"never": ["can only concatenate"]}))
    with pytest.raises(openai.InternalServerError):
        gw.openai().chat.completions.create(model="local", messages=HI)
    assert len(fake_upstream.requests) == 1
    line = access_line(server_logs)
    assert line["retried_because"] == "stopped: InternalServerError (500) matches retry_classifier.never"


def test_always_patterns_retry_a_transient_400(
    fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any
) -> None:
    fake_upstream.enqueue(error(400, "model 'smollm2' is loading, try again"))
    gw = gateway_factory(config(fake_upstream, retry_classifier={"always": ["model .* is loading"]}))
    answer = gw.openai().chat.completions.create(model="local", messages=HI)
    assert answer.choices[0].message.content and len(fake_upstream.requests) == 2
    assert access_line(server_logs)["retried_because"] == "BadRequestError (400) matches retry_classifier.always"
    # without the pattern, a 400 is the client's mistake: not retried
    fake_upstream.enqueue(error(400, "model 'smollm2' is loading, try again"))
    plain = gateway_factory(config(fake_upstream))
    with pytest.raises(openai.BadRequestError):
        plain.openai().chat.completions.create(model="local", messages=HI)
    assert len(fake_upstream.requests) == 3


def test_a_pattern_that_is_not_a_regular_expression_stops_start_up(fake_upstream: FakeUpstream) -> None:
    with pytest.raises(ConfigError, match=r"retry_classifier.never.*'\(unclosed' is not a regular expression"):
        Gateway(config(fake_upstream, retry_classifier={"never": ["(unclosed"]}))
