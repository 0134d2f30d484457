"""Running one check: the timeout, the failure policy, the outcome record and the block error."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from gateway._errors import BadRequestError, GatewayError
from gateway._logs import get_logger
from gateway.guardrails._base import GuardrailResult, GuardrailUnavailable, TextBatch

if TYPE_CHECKING:
    from gateway._types import RequestContext
    from gateway.guardrails._base import Guardrail

log = get_logger("gateway.guardrails")

#: where outcomes go: ``ctx.annotations[ANNOTATION]`` is a list of records, one per check
ANNOTATION = "guardrails"


class GuardrailBlocked(BadRequestError):
    """HTTP 400 naming the guardrail and mode (LiteLLM's ``provider_specific_fields`` shape)."""


class GuardrailFailed(GatewayError):
    """A fail-closed guardrail could not decide: the request is refused rather than let through."""

    status = 503
    type = "guardrail_unavailable"


def record(ctx: RequestContext, entry: dict[str, Any]) -> None:
    ctx.annotations.setdefault(ANNOTATION, []).append(entry)


def block_error(guardrail: Guardrail, mode: str, result: GuardrailResult) -> GuardrailBlocked:
    reason = result.message or "Violated guardrail policy"
    template = guardrail.settings.violation_message_template
    message = template.format(guardrail_name=guardrail.name, mode=mode, reason=reason) if template else reason
    extra = {**result.details, "guardrail_name": guardrail.name, "guardrail_mode": mode}
    if message != reason:
        extra.setdefault("reason", reason)
    return GuardrailBlocked(message, extra=extra)


async def run_check(guardrail: Guardrail, mode: str, batch: TextBatch) -> GuardrailResult:
    """Run the check that fits ``batch`` under the guardrail's timeout and failure policy.

    Returns the result (a fail-open failure comes back as ``passed``); raises ``GuardrailFailed``
    for a fail-closed failure.  Blocks are returned, not raised: the caller decides (a
    ``logging_only`` block changes nothing).  The outcome is recorded on ``batch.ctx``.
    """
    if batch.streaming:
        check = guardrail.check_stream
    elif batch.direction == "input":
        check = guardrail.check_input
    else:
        check = guardrail.check_output
    settings = guardrail.settings
    started = time.perf_counter()
    error: str | None = None
    try:
        # asyncio.timeout, not wait_for: no extra task per check (tens of microseconds on the hot path)
        async with asyncio.timeout(settings.timeout):
            result = await check(batch)
        if result.outcome == "masked" and (result.texts is None or len(result.texts) != len(batch.texts)):
            raise GuardrailUnavailable(f"returned {len(result.texts or [])} masked texts for {len(batch.texts)} inputs")
    except TimeoutError:
        error = f"timed out after {settings.timeout:g} s"
    except GuardrailUnavailable as exc:
        error = str(exc) or type(exc).__name__
    except GatewayError as exc:  # an upstream error from gateway.upstream: vendor 5xx, refused connection
        error = exc.message
    except Exception as exc:  # a bug in the guardrail: same policy, louder log
        error = f"{type(exc).__name__}: {exc}"
        log.error("guardrail_crashed", guardrail=guardrail.name, mode=mode, error=error, exc_info=exc)
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    entry: dict[str, Any] = {
        "guardrail": guardrail.name,
        "type": guardrail.spec.type,
        "mode": mode,
        "direction": batch.direction,
        "latency_ms": latency_ms,
    }
    if error is None:
        entry["outcome"] = result.outcome
        if result.details:
            entry["details"] = result.details
        record(batch.ctx, entry)
        return result
    log.warning(
        "guardrail_failed",
        guardrail=guardrail.name,
        mode=mode,
        policy=settings.on_error,
        error=error,
        request_id=batch.ctx.request_id,
    )
    entry["error"] = error
    entry["on_error"] = settings.on_error
    if settings.on_error == "fail_open":
        entry["outcome"] = "passed"
        record(batch.ctx, entry)
        return GuardrailResult.passed(error=error)
    entry["outcome"] = "blocked"
    record(batch.ctx, entry)
    raise GuardrailFailed(
        f"guardrail {guardrail.name!r} ({mode}) could not check this request ({error}); it is configured to fail "
        "closed, so the request was refused. Retry later, or ask an admin to set on_error: fail_open",
        extra={"guardrail_name": guardrail.name, "guardrail_mode": mode},
    )


def check_non_text(guardrail: Guardrail, mode: str, batch: TextBatch) -> None:
    """``non_text: block``: refuse requests carrying images, audio or files this guardrail cannot read."""
    if batch.non_text_parts and guardrail.settings.non_text == "block":
        record(
            batch.ctx,
            {
                "guardrail": guardrail.name,
                "type": guardrail.spec.type,
                "mode": mode,
                "direction": batch.direction,
                "outcome": "blocked",
                "latency_ms": 0.0,
                "details": {"non_text_parts": batch.non_text_parts},
            },
        )
        raise GuardrailBlocked(
            f"guardrail {guardrail.name!r} cannot check images, audio or files and is configured to block them "
            "(non_text: block); send text only",
            extra={"guardrail_name": guardrail.name, "guardrail_mode": mode, "non_text_parts": batch.non_text_parts},
        )
