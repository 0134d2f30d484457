"""LiteLLM's request-level controls that the retry loop honours, for every provider.

A request's own timeout: ``timeout`` (or ``request_timeout``) in the body, or the
``x-litellm-timeout`` header, in seconds; it bounds each attempt (until the answer, or a stream's
first chunk) and is what ``x-litellm-timeout`` reports.

LiteLLM's testing aids (docs.litellm.ai: "Mock Completion() Responses", "Reliability: test
fallbacks", "Load balancing: test"), which teams use to check a fallback or retry set-up without a
failing upstream:

* ``mock_testing_fallbacks: true``: the requested model group fails at once (HTTP 500, no
  retries), so its ``fallbacks`` are tried; ``mock_testing_context_fallbacks`` and
  ``mock_testing_content_policy_fallbacks`` fail it with a context-window or content-policy error
  instead (``context_window_fallbacks``, ``content_policy_fallbacks``).
* ``mock_testing_rate_limit_error: true``: the first attempt answers 429; the loop retries.
* ``mock_timeout: true``: every attempt waits for the request's timeout, then times out.
* ``mock_response: "text"``: every attempt is answered by the gateway with that text (streamed
  when asked) without calling the upstream, and costs nothing; ``"litellm.RateLimitError"`` and
  ``"litellm.InternalServerError"`` fail every attempt that way instead.  ``mock_delay`` (seconds)
  is waited before the answer.

A failure made on purpose is never reported to the router (no cooldown, no strategy statistics):
a client must not be able to take a deployment out of service for everyone else.  For the same
reason a request's own timeout running out is reported as an aborted attempt, not a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import gateway.fake_openai as fake_openai
from gateway._errors import BadRequestError, UpstreamError, UpstreamTimeoutError
from gateway._router import CONTENT_POLICY, CONTEXT_WINDOW, INTERNAL
from gateway._types import Attempt, JSONResponseBody, ResponseBody, StreamResponseBody
from gateway.upstream import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from gateway._providers import Provider
    from gateway._types import Deployment, RequestContext

T = TypeVar("T")
#: the request header LiteLLM reads a request's timeout from
TIMEOUT_HEADER = "x-litellm-timeout"
#: flag -> the kind of failure it makes the requested model group fail with
GROUP_FAILURES = {
    "mock_testing_fallbacks": INTERNAL,
    "mock_testing_context_fallbacks": CONTEXT_WINDOW,
    "mock_testing_content_policy_fallbacks": CONTENT_POLICY,
}
#: ``mock_response`` values that make every attempt fail (LiteLLM's names) instead of answering
MOCK_ERRORS = {"litellm.RateLimitError": 429, "litellm.InternalServerError": 500}
#: marks a request answered by ``mock_response`` (``ctx.annotations``): pricing plugins charge nothing
MOCKED = "mock_response"


@dataclass(slots=True)
class RequestFlags:
    """What one request asked for; None from :func:`request_flags` when it asked for nothing."""

    #: the kind of failure of the requested group (``mock_testing_*fallbacks``), until it happened
    group_failure: str | None = None
    group_flag: str = ""
    #: the first attempt answers 429 (``mock_testing_rate_limit_error``), until it happened
    rate_limit_once: bool = False
    mock_timeout: bool = False
    mock_response: str | None = None
    mock_delay: float = 0.0
    #: the request's own timeout, seconds
    timeout: float | None = None

    def fail_group(self, ctx: RequestContext, group: str) -> None:
        """Raise the requested group's made-up failure (once): the caller then tries the fallbacks."""
        kind = self.group_failure
        if kind is None or group != ctx.model_group:
            return
        self.group_failure = None
        error = _group_error(kind, group, self.group_flag)
        ctx.attempts.append(Attempt("", group, str(error), error.status))
        raise error

    async def attempt(self, ctx: RequestContext, deployment: Deployment) -> ResponseBody | None:
        """Before a deployment is called: raise the failure asked for, or answer, or None (call it)."""
        if self.rate_limit_once:
            self.rate_limit_once = False
            raise self._failed(ctx, deployment, _rate_limit(deployment.model_group))
        if self.mock_timeout:
            seconds = self.timeout or effective_timeout(deployment, ctx.stream)
            await asyncio.sleep(seconds)
            raise self._failed(
                ctx,
                deployment,
                UpstreamTimeoutError(
                    f"litellm.Timeout: the mock call to {deployment.model_group!r} timed out after {seconds:g} s "
                    "(mock_timeout)"
                ),
            )
        text = self.mock_response
        if text is None:
            return None
        if text in MOCK_ERRORS:
            status = MOCK_ERRORS[text]
            error = (
                _rate_limit(deployment.model_group)
                if status == 429
                else UpstreamError(
                    f"{text}: this is a mock exception for model={deployment.model_group} (mock_response)",
                    status=500,
                    upstream_status=500,
                    type="internal_server_error",
                )
            )
            raise self._failed(ctx, deployment, error)
        if self.mock_delay:
            await asyncio.sleep(self.mock_delay)
        ctx.annotations[MOCKED] = True
        return mock_answer(ctx, deployment, text)

    @staticmethod
    def _failed(ctx: RequestContext, deployment: Deployment, error: UpstreamError) -> UpstreamError:
        ctx.attempts.append(Attempt(deployment.id, deployment.model_group, str(error), error.status))
        return error


def request_flags(ctx: RequestContext) -> RequestFlags | None:
    """The request's flags (400 for a malformed one), or None when it sent none (the common case)."""
    fields: Mapping[str, Any] = ctx.request.gateway if ctx.request is not None else {}
    header = ctx.headers.get(TIMEOUT_HEADER)
    if not fields and header is None:
        return None
    flags = RequestFlags()
    found = False
    for name, kind in GROUP_FAILURES.items():
        if _flag(fields, name):
            flags.group_failure, flags.group_flag, found = kind, name, True
            break
    if _flag(fields, "mock_testing_rate_limit_error"):
        flags.rate_limit_once = found = True
    if _flag(fields, "mock_timeout"):
        flags.mock_timeout = found = True
    text = fields.get("mock_response")
    if text is not None:
        if not isinstance(text, str):
            raise BadRequestError(
                f"mock_response must be a string (the reply to return), not {type(text).__name__}",
                param="mock_response",
            )
        flags.mock_response, found = text, True
        flags.mock_delay = _seconds(fields.get("mock_delay"), "mock_delay", allow_zero=True) or 0.0
    timeout = request_timeout(ctx)
    if timeout is not None:
        flags.timeout, found = timeout, True
    return flags if found else None


def request_timeout(ctx: RequestContext) -> float | None:
    """The request's own timeout in seconds (body ``timeout`` / ``request_timeout``, else the
    ``x-litellm-timeout`` header), or None."""
    fields = ctx.request.gateway if ctx.request is not None else {}
    for name in ("timeout", "request_timeout"):
        value = fields.get(name) if fields else None
        if value is not None:
            return _seconds(value, name)
    header = ctx.headers.get(TIMEOUT_HEADER)
    if header is None:
        return None
    try:
        return _seconds(float(header), TIMEOUT_HEADER)
    except ValueError:
        raise BadRequestError(
            f"the {TIMEOUT_HEADER} header must be a number of seconds, not {header[:40]!r}", param=TIMEOUT_HEADER
        ) from None


def effective_timeout(deployment: Deployment, stream: bool) -> float:
    """The deployment's timeout for this kind of call (the upstream client's default when unset)."""
    return (deployment.stream_timeout if stream else deployment.timeout) or DEFAULT_TIMEOUT


#: ``x-litellm-timeout`` values by timeout (a handful of distinct values: formatted once each)
_TIMEOUT_TEXT: dict[float, str] = {}


def timeout_header(flags: RequestFlags | None, deployment: Deployment, stream: bool) -> str:
    """``x-litellm-timeout``: the timeout the request's attempts ran under, in seconds (``"600.0"``)."""
    seconds = flags.timeout if flags is not None else None
    if seconds is None:  # the deployment's (effective_timeout, inlined: this runs on every answer)
        seconds = (deployment.stream_timeout if stream else deployment.timeout) or DEFAULT_TIMEOUT
    text = _TIMEOUT_TEXT.get(seconds)
    if text is None:
        text = str(float(seconds))
        if len(_TIMEOUT_TEXT) < 1024:
            _TIMEOUT_TEXT[seconds] = text
    return text


class RequestTimeoutError(UpstreamTimeoutError):
    """The request's own timeout ran out: the client's choice, so never the deployment's failure."""


async def call_within(seconds: float, call: Awaitable[T], deployment: Deployment) -> T:
    """``call`` (an attempt, until its answer or a stream's first chunk), bounded by the request's own timeout."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise RequestTimeoutError(
            f"litellm.Timeout: {deployment.model_group!r} did not answer within the request's timeout of {seconds:g} s"
        ) from None


def _flag(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    if value is None or value is False:
        return False
    if value is True:
        return True
    raise BadRequestError(f"{name} must be true or false, not {value!r}", param=name)


def _seconds(value: Any, name: str, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (value >= 0 if allow_zero else value > 0):
        raise BadRequestError(f"{name} must be a positive number of seconds, not {value!r}", param=name)
    if value > 86_400:
        raise BadRequestError(f"{name} must be at most 86400 seconds, not {value!r}", param=name)
    return float(value)


def _group_error(kind: str, group: str, flag: str) -> UpstreamError:
    if kind == CONTEXT_WINDOW:
        return UpstreamError(
            f"litellm.ContextWindowExceededError: this is a mock exception for model={group}: the context window "
            f"was exceeded ({flag}), to trigger its context_window_fallbacks",
            status=400,
            upstream_status=400,
            type="context_length_exceeded",
        )
    if kind == CONTENT_POLICY:
        return UpstreamError(
            f"litellm.ContentPolicyViolationError: this is a mock exception for model={group}: content_policy_violation "
            f"({flag}), to trigger its content_policy_fallbacks",
            status=400,
            upstream_status=400,
            type="content_policy_violation",
        )
    return UpstreamError(
        f"litellm.InternalServerError: this is a mock exception for model={group}, to trigger a fallback ({flag})",
        status=500,
        upstream_status=500,
        type="internal_server_error",
    )


def _rate_limit(group: str) -> UpstreamError:
    return UpstreamError(
        f"litellm.RateLimitError: this is a mock exception for model={group}, to trigger a rate limit error",
        status=429,
        upstream_status=429,
        type="rate_limit_error",
    )


def mock_answer(ctx: RequestContext, deployment: Deployment, text: str) -> ResponseBody:
    """The answer of a ``mock_response`` request, in OpenAI's format (the surface encodes it)."""
    from gateway.chat import ChatRequest

    request = ctx.request
    if ctx.endpoint == "embeddings":
        raise BadRequestError("mock_response is for chat and text completions, not embeddings", param="mock_response")
    if ctx.endpoint == "completions":
        prompt = request.body.get("prompt") if request is not None else None
        tokens = fake_openai.count_tokens(prompt if isinstance(prompt, str) else str(prompt or ""))
        data = fake_openai.text_completion(deployment.model, text, prompt=tokens)
        return JSONResponseBody(data=data)
    prompt_tokens = fake_openai.request_prompt_tokens(request) if isinstance(request, ChatRequest) else 0
    if ctx.stream:
        chunks = fake_openai.chat_chunks(deployment.model, text, prompt=prompt_tokens, seed=ctx.request_id)
        return StreamResponseBody(_aiter(chunks))
    return JSONResponseBody(
        data=fake_openai.chat_completion(deployment.model, text, prompt=prompt_tokens, seed=ctx.request_id)
    )


async def _aiter(chunks: Any) -> AsyncIterator[dict[str, Any]]:
    for chunk in chunks:
        yield chunk


def deployment_flags(deployment: Deployment, provider: Provider | None) -> RequestFlags | str | None:
    """A deployment's own ``mock_response`` / ``mock_timeout`` (LiteLLM reads them from
    ``litellm_params``, for every provider): the flags every call to it gets, None without them, or
    a message when ``mock_response`` is not a text.  A provider listing ``mock_response`` in its
    ``params`` answers it itself (a mock provider's failure simulation keeps working)."""
    params = deployment.params
    text = params.get("mock_response")
    if provider is not None and "mock_response" in provider.params:
        text = None
    timeout = bool(params.get("mock_timeout"))
    if text is None and not timeout:
        return None
    if text is not None and not isinstance(text, str):
        return f"must be a string (the reply every call gets), not {type(text).__name__}"
    return RequestFlags(mock_timeout=timeout, mock_response=text)
