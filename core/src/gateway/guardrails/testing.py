"""Test helpers for guardrail plugins: vendor failures, and what both failure policies must do.

Use with ``gateway.testing.FakeUpstream`` as the vendor's server::

    @pytest.mark.parametrize("reply", vendor_failures(Reply(json={"unexpected": "shape"})))
    def test_failures(reply, ...):
        vendor.default = reply
        gw = ...  # two guardrails of your type: "closed" (default policy) and "open" (on_error: fail_open)
        assert_failure_policies(lambda name: ask(gw, "hi", extra_body={"guardrails": [name]}), upstream)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.testing import FakeUpstream, Reply


def vendor_failures(*malformed: Reply) -> list[Any]:
    """pytest params: a vendor 5xx, a non-JSON answer, a hang (timeout), plus your malformed answers."""
    import pytest

    cases = [
        pytest.param(Reply(status=503, json={"error": "service unavailable"}), id="5xx"),
        pytest.param(Reply(body=b"<html>502 Bad Gateway</html>", status=200), id="not-json"),
        pytest.param(Reply(hang=True), id="timeout"),
    ]
    return cases + [pytest.param(reply, id=f"malformed-{i}") for i, reply in enumerate(malformed)]


def assert_failure_policies(
    send: Callable[[str], Any], upstream: FakeUpstream, closed: str = "closed", opened: str = "open"
) -> None:
    """``send(name)`` makes one request through the guardrail ``name`` with the OpenAI SDK.

    The fail-closed guardrail must refuse with 503 ``guardrail_unavailable`` naming itself, and
    nothing may reach the upstream; the fail-open one must let the request through.
    """
    import openai

    before = len(upstream.requests)
    try:
        send(closed)
    except openai.APIStatusError as exc:
        assert exc.status_code == 503, exc.body
        assert isinstance(exc.body, dict), exc.body
        assert exc.body["type"] == "guardrail_unavailable"
        assert exc.body["provider_specific_fields"]["guardrail_name"] == closed
    else:
        raise AssertionError(f"the fail-closed guardrail {closed!r} let the request through")
    assert len(upstream.requests) == before, "a fail-closed guardrail let the request reach the upstream"
    send(opened)
    assert len(upstream.requests) == before + 1, "the fail-open guardrail did not let the request through"
