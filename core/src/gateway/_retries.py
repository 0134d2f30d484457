"""Calling the planned deployments: retries within a group, then fallback groups.

The order, for a plan from the default router (:class:`gateway.routing.RoutePlan`):

1. The first deployment of the group, in the strategy's order.
2. On an error, retry within the group: the next deployment in that order each time (a
   deployment that started cooling down meanwhile is skipped while another is left), as many
   times as ``retry_policy`` / ``model_group_retry_policy`` allow for the error's type, else
   ``num_retries`` (the request's ``num_retries``, ``router_settings.num_retries``,
   ``litellm_settings.num_retries``, 2) for retryable errors (connection errors, timeouts, 429,
   5xx, rejected upstream credentials) and none for the client's mistakes (400, 404, 422,
   context window, content policy).  Before a retry the loop waits ``retry_after`` seconds; before
   retrying a deployment already tried it also backs off exponentially, honouring the
   upstream's ``retry-after`` (capped at 5 s).
3. When the group is exhausted: the fallback groups for the error's type (see
   :meth:`gateway._router.Router.fallback_targets`), each planned by the strategy and given its
   own retries; a plain 400 does not fall back (the request itself is wrong).
4. Every attempt is reported to the router (strategy statistics, cooldowns); a cooldown emits
   the ``deployment_cooldown`` alert.

Streams: the first chunk is read before the response is handed on, so a deployment that fails
before sending anything is retried like any other failure, and the client sees one clean
stream.  After the first chunk the client has data, so a failure is never retried: it ends the
stream with an error event.  A stream that ends without usage gets a last chunk with usage counted
by the gateway (``gateway._usage_estimate``), as does a complete answer without it.

``x-litellm-attempted-retries`` (retries made, over all groups) and
``x-litellm-attempted-fallbacks`` (fallback groups tried) are set on the response, success or
failure.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from gateway._defaults import apply_defaults
from gateway._errors import BadRequestError, GatewayError, UpstreamError, UpstreamTimeoutError, UpstreamUnreachableError
from gateway._hooks import log_plugin_failure
from gateway._request_flags import (
    TIMEOUT_HEADER,
    RequestFlags,
    RequestTimeoutError,
    call_within,
    request_flags,
    timeout_header,
)
from gateway._retry_classifier import RETRY_REASONS, verdict
from gateway._router import (
    AUTHENTICATION,
    BAD_REQUEST,
    CONTENT_POLICY,
    CONTEXT_WINDOW,
    INTERNAL,
    MAX_REQUEST_RETRIES,
    NOT_FOUND,
    RATE_LIMIT,
    TIMEOUT,
    UNAVAILABLE,
)
from gateway._types import Attempt, ResponseBody, StreamResponseBody, Usage
from gateway._usage_estimate import COUNTED, fill_answer, usage_chunk
from gateway.routing import AttemptResult, RoutePlan

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Deployment, RequestContext

#: backoff before retrying the same deployment again: base * 2**n, capped, with jitter
RETRY_BACKOFF_BASE = 0.1
RETRY_BACKOFF_CAP = 2.0
#: an upstream's retry-after is honoured up to this many seconds before retrying in-process
RETRY_AFTER_CAP = 5.0

#: ``ctx.annotations`` mark of an answer a response cache served in ``gateway_call`` (docs/log-event.md)
CACHE_HIT = "cache_hit"

#: phrases upstreams use in a 400 when the prompt does not fit (OpenAI, Azure, Anthropic, Gemini, Bedrock, vLLM)
CONTEXT_WINDOW_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "input is too long",
    "exceeds the maximum number of tokens",
    "too many tokens",
    "reduce the length of the messages",
)
#: phrases upstreams use when a safety filter refused the request
CONTENT_POLICY_MARKERS = (
    "content_policy_violation",
    "content management policy",
    "content_filter",
    "content policy",
    "safety system",
)


def classify(error: GatewayError) -> str:
    """The error's kind (``RateLimitError``, ``ContextWindowExceededError`` ...), LiteLLM's names."""
    status = getattr(error, "upstream_status", None)
    if isinstance(error, UpstreamTimeoutError) or status == 408:
        return TIMEOUT
    if status == 429 or error.status == 429:
        return RATE_LIMIT
    if status in (401, 403):
        return AUTHENTICATION
    if status == 404:
        return NOT_FOUND
    if status is not None and 400 <= status < 500:
        text = f"{error.message} {error.type} {error.code}".lower()
        if any(marker in text for marker in CONTEXT_WINDOW_MARKERS):
            return CONTEXT_WINDOW
        if any(marker in text for marker in CONTENT_POLICY_MARKERS):
            return CONTENT_POLICY
        return BAD_REQUEST
    if status == 503:
        return UNAVAILABLE
    return INTERNAL


def attempts_for(plan: Sequence[Deployment], group: str, num_retries: int) -> list[Deployment]:
    """For a plain list from a routing plugin: the primary group's deployments, cycled to
    ``num_retries + 1`` tries; then the other deployments once each, in the given order."""
    primary = [d for d in plan if d.model_group == group]
    rest = [d for d in plan if d.model_group != group]
    tries = max(len(primary), num_retries + 1) if primary else 0
    cycled = [primary[i % len(primary)] for i in range(tries)] if primary else []
    return cycled + rest


def _backoff(previous_tries: int, error: GatewayError | None, minimum: float) -> float:
    if error is not None:
        retry_after = error.headers.get("retry-after")
        if retry_after:
            try:
                return min(max(float(retry_after), minimum), RETRY_AFTER_CAP)
            except ValueError:
                pass
    delay = min(RETRY_BACKOFF_BASE * 2.0 ** (previous_tries - 1), RETRY_BACKOFF_CAP)
    return max(minimum, delay * (0.75 + random.random() * 0.25))


#: the attempted-retries and -fallbacks headers' usual values, formatted once (every answer carries both)
_COUNT_TEXT = tuple(str(n) for n in range(16))


async def call_with_retries(gateway: Gateway, ctx: RequestContext, plan: Sequence[Deployment]) -> ResponseBody:
    """Serve the request from ``plan`` (see the module docstring for the order)."""
    loop = RetryLoop(gateway, ctx)
    try:
        if isinstance(plan, RoutePlan):
            if len(plan) and loop.flags is None:
                # the common case, flattened: the group's first attempt from here (no coroutine for
                # run_plan and run_group); a failure goes on where run_group would have
                try:
                    return await loop.attempt(loop.pick(plan, 0) if len(plan) > 1 else plan[0])
                except UpstreamError as exc:
                    return await loop.run_plan(plan, exc)
            return await loop.run_plan(plan)
        return await loop.run_list(plan)
    except GatewayError as exc:
        attempts = len(ctx.attempts)
        if attempts > 1 and isinstance(exc, UpstreamError) and "attempts)" not in exc.message:
            exc.message = f"{exc.message} (after {attempts} attempts)"
            exc.args = (exc.message,)
        raise
    finally:
        headers = ctx.response_headers
        retries, fallbacks = loop.retries, ctx.fallbacks_used
        headers["x-litellm-attempted-retries"] = _COUNT_TEXT[retries] if retries < 16 else str(retries)
        headers["x-litellm-attempted-fallbacks"] = _COUNT_TEXT[fallbacks] if fallbacks < 16 else str(fallbacks)
        if ctx.deployment is not None:
            headers["x-litellm-timeout"] = timeout_header(loop.flags, ctx.deployment, ctx.stream)


def request_num_retries(ctx: RequestContext, default: int) -> int:
    value = ctx.request.gateway.get("num_retries") if ctx.request is not None else None
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REQUEST_RETRIES:
        raise BadRequestError(
            f"num_retries must be a whole number from 0 to {MAX_REQUEST_RETRIES}", param="num_retries"
        )
    return value


class RetryLoop:
    """One request's walk through its deployments; counts what it did for the headers."""

    def __init__(self, gateway: Gateway, ctx: RequestContext) -> None:
        self.gateway = gateway
        self.router = gateway.router
        self.ctx = ctx
        #: the request's own timeout and LiteLLM's testing aids (``mock_response`` ...); None for most
        self.flags: RequestFlags | None
        if ctx.request is not None and ctx.request.gateway:
            self.num_retries = request_num_retries(ctx, gateway.num_retries)
            self.flags = request_flags(ctx)
        else:  # no gateway fields (most requests): only a timeout header can set a flag
            self.num_retries = gateway.num_retries
            self.flags = request_flags(ctx) if TIMEOUT_HEADER in ctx.headers else None
        self.deployment_flags = gateway.deployment_flags
        self.deployment_defaults = gateway.deployment_defaults
        #: request fields the last deployment's defaults set (taken back before another is called)
        self.defaulted: list[str] | None = None  # made when a deployment has defaults: most requests never do
        self.retries = 0
        self.tries_on: dict[str, int] = {}
        self.last_error: GatewayError | None = None
        #: each deployment's last error (made on the first failure: most requests never fail)
        self.errors_on: dict[str, GatewayError] | None = None

    def repeated(self, error: GatewayError, explicit: bool) -> GatewayError | None:
        """The error the deployment just called gave on its previous attempt (None: first, or
        ``retry_policy`` names the kind: the operator's count of retries is kept)."""
        deployment = self.ctx.deployment
        if deployment is None:
            return None
        if self.errors_on is None:
            self.errors_on = {}
        previous = self.errors_on.get(deployment.id)
        self.errors_on[deployment.id] = error
        return None if explicit else previous

    def reason(self, why: str) -> None:
        """Say why the loop retried (or stopped retrying): the access line's ``retried_because``."""
        self.ctx.annotations.setdefault(RETRY_REASONS, []).append(why)

    # ------------------------------------------------------------------ plans from the default router

    async def run_plan(self, plan: RoutePlan, first_error: UpstreamError | None = None) -> ResponseBody:
        """``first_error``: the group's first attempt was made (by :func:`call_with_retries`) and failed so."""
        error: GatewayError
        if len(plan):
            try:
                return await self.run_group(plan.group, plan, first_error)  # a fresh list per request already
            except UpstreamError as exc:
                error = exc
        else:
            assert plan.unavailable is not None
            error = plan.unavailable
        kind = classify(error)
        if not falls_back(error, kind):
            raise error
        for target in self.router.fallback_targets(self.ctx, plan.group, kind):
            try:
                ordered = self.router.order_group(self.ctx, target)
            except GatewayError as exc:  # the strategy found no room (rpm/tpm)
                error = exc
                continue
            if not ordered:
                error = self.router.unavailable_error(target)
                continue
            self.ctx.fallbacks_used += 1
            try:
                return await self.run_group(target, ordered)
            except UpstreamError as exc:
                error = exc
                if not falls_back(exc, classify(exc)):
                    raise
        raise error

    async def run_group(
        self, group: str, ordered: list[Deployment], first_error: UpstreamError | None = None
    ) -> ResponseBody:
        """Try ``group``'s deployments with its retries; ``first_error``: its first attempt was made and failed so."""
        if first_error is None and self.flags is not None:
            self.flags.fail_group(self.ctx, group)  # mock_testing_fallbacks: on to the fallbacks
        retries_here = 0
        index = 0
        error = first_error
        while True:
            if error is not None:
                kind = classify(error)
                explicit = kind in self.router.retry_policy or kind in self.router.group_retry_policy.get(group, ())
                retry, why = verdict(self.router.settings.retry_classifier, error, kind, self.repeated(error, explicit))
                if retry is False:
                    self.reason(f"stopped: {why}")
                    raise error
                retryable = retry or (error.retryable and kind not in (CONTEXT_WINDOW, CONTENT_POLICY))
                if retries_here >= self.router.retries_for(kind, group, self.num_retries if retryable else 0):
                    raise error
                self.reason(why)
                self.last_error = error
                retries_here += 1
                self.retries += 1
                index += 1
            deployment = self.pick(ordered, index) if len(ordered) > 1 else ordered[0]  # one: no call
            if retries_here:
                await self.wait_before(deployment)
            try:
                return await self.attempt(deployment)
            except UpstreamError as exc:
                error = exc

    def pick(self, ordered: list[Deployment], index: int) -> Deployment:
        """The deployment at ``index`` (cycling), skipping ones that started cooling down meanwhile."""
        size = len(ordered)
        if size > 1:
            now = time.time()
            cooling_until = self.router.state.cooling_until
            for offset in range(size):
                candidate = ordered[(index + offset) % size]
                if cooling_until(candidate.id) <= now:
                    return candidate
        return ordered[index % size]

    async def wait_before(self, deployment: Deployment) -> None:
        minimum = self.router.settings.retry_after
        previous = self.tries_on.get(deployment.id, 0)
        delay = _backoff(previous, self.last_error, minimum) if previous else minimum
        if delay > 0:
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ plain lists from routing plugins

    async def run_list(self, plan: Sequence[Deployment]) -> ResponseBody:
        primary_group = self.ctx.model_group
        last: UpstreamError | None = None
        skip_group = None
        if self.flags is not None:
            try:
                self.flags.fail_group(self.ctx, primary_group)
            except UpstreamError as exc:  # mock_testing_fallbacks: on to the other groups
                last = self.last_error = exc
                skip_group = primary_group
        for deployment in attempts_for(plan, primary_group, self.num_retries):
            if deployment.model_group == skip_group:
                continue
            previous_group = self.ctx.deployment.model_group if self.ctx.deployment else primary_group
            if deployment.model_group != primary_group and deployment.model_group != previous_group:
                self.ctx.fallbacks_used += 1
            elif self.ctx.deployment is not None:
                self.retries += 1
            if self.tries_on.get(deployment.id):
                await self.wait_before(deployment)
            try:
                return await self.attempt(deployment)
            except UpstreamError as exc:
                kind = classify(exc)
                retry, why = verdict(
                    self.router.settings.retry_classifier,
                    exc,
                    kind,
                    self.repeated(exc, kind in self.router.retry_policy),
                )
                if retry is False or (retry is None and not exc.retryable):
                    self.reason(f"stopped: {why}")
                    raise
                self.reason(why)
                last = self.last_error = exc
        assert last is not None
        raise last

    # ------------------------------------------------------------------ one attempt

    async def attempt(self, deployment: Deployment) -> ResponseBody:
        ctx, router = self.ctx, self.router
        ctx.deployment = deployment
        self.tries_on[deployment.id] = self.tries_on.get(deployment.id, 0) + 1
        flags = self.flags
        if flags is not None and (mocked := await flags.attempt(ctx, deployment)) is not None:
            return self.mocked(mocked)
        # the deployment's own mock_response / mock_timeout (litellm_params): one lookup when it has none
        own = self.deployment_flags.get(deployment.id) if self.deployment_flags else None
        if own is not None and (mocked := await own.attempt(ctx, deployment)) is not None:
            return self.mocked(mocked)
        if self.deployment_defaults:  # litellm_params.temperature ...: this deployment's only
            if self.defaulted is None:
                self.defaulted = []
            apply_defaults(ctx.request, self.deployment_defaults.get(deployment.id), self.defaulted)
        started = ctx.upstream_started = time.perf_counter()
        router.attempt_started(ctx, deployment)
        first_at: float | None = None
        first: dict[str, Any] | None = None
        response: ResponseBody
        try:
            if flags is None or flags.timeout is None:
                single = self.gateway.hooks.call_single
                if single is not None:  # hooks.call, inlined for its common case: one coroutine less
                    try:
                        called = single.call({"ctx": ctx, "deployment": deployment, "gateway": self.gateway})
                        if single.is_async or (called is not None and hasattr(called, "__await__")):
                            called = await called
                    except GatewayError:
                        raise
                    except Exception as exc:
                        raise log_plugin_failure(single.plugin, "gateway_call", exc) from exc
                else:
                    called = await self.gateway.hooks.call(ctx, deployment)
                if called is None:
                    raise RuntimeError("no gateway_call implementation answered")
                response = called
                if isinstance(response, StreamResponseBody):
                    first = await first_chunk(response)
                    first_at = time.perf_counter()
            else:
                response, first, first_at = await call_within(flags.timeout, self.answer(deployment), deployment)
        except RequestTimeoutError as exc:  # the client's own deadline: not the deployment's failure
            ctx.attempts.append(_attempt_record(deployment, exc))
            router.attempt_failed(ctx, deployment, AttemptResult(time.perf_counter() - started, aborted=True), None)
            raise
        except UpstreamError as exc:
            if isinstance(exc, UpstreamUnreachableError):  # say which deployment, never where it is
                exc.name_deployment(deployment.id, deployment.model_group)
            self.failed(deployment, exc, AttemptResult(time.perf_counter() - started, error=exc))
            raise
        except BaseException as exc:  # cancelled, or a plugin's bug: not the deployment's fault
            error = exc if isinstance(exc, GatewayError) else None
            router.attempt_failed(
                ctx, deployment, AttemptResult(time.perf_counter() - started, error=error, aborted=error is None), None
            )
            raise
        if ctx.annotations.get(CACHE_HIT):
            return self.cached(deployment, response, first, started)
        if isinstance(response, StreamResponseBody):
            ctx.upstream_answered = first_at
            report = StreamReport(self, deployment, started, first_at)
            response.chunks = report.watch(response.chunks, first)
            return response
        ctx.upstream_answered = time.perf_counter()
        usage = response.data.get("usage") if response.status == 200 else None
        ctx.usage = Usage.from_openai(usage) if isinstance(usage, dict) else None
        if ctx.usage is None and response.status == 200 and ctx.endpoint in COUNTED:  # a server that counts nothing
            await fill_answer(ctx, response)
        if router.wants_results:
            router.attempt_succeeded(ctx, deployment, AttemptResult(time.perf_counter() - started, usage=ctx.usage))
        return response

    async def answer(self, deployment: Deployment) -> tuple[ResponseBody, dict[str, Any] | None, float | None]:
        """One call to ``deployment`` until its answer, or a stream's first chunk (under a request's timeout)."""
        response = await self.gateway.hooks.call(self.ctx, deployment)
        if response is None:
            raise RuntimeError("no gateway_call implementation answered")
        if isinstance(response, StreamResponseBody):
            return response, await first_chunk(response), time.perf_counter()
        return response, None, None

    def mocked(self, response: ResponseBody) -> ResponseBody:
        """An answer the gateway made up (``mock_response``): its usage is recorded, the router is not told."""
        ctx = self.ctx
        ctx.upstream_started = ctx.upstream_answered = time.perf_counter()
        if isinstance(response, StreamResponseBody):
            response.chunks = _recording_usage(ctx, response.chunks)
        else:
            ctx.usage = Usage.from_openai(response.data.get("usage"))
        return response

    def cached(
        self, deployment: Deployment, response: ResponseBody, first: dict[str, Any] | None, started: float
    ) -> ResponseBody:
        """A response cache answered (``gateway_call`` set ``annotations["cache_hit"]``): the deployment was
        not called, so the router learns nothing from it (no latency sample, no tokens, no cooldown); the
        attempt is reported as abandoned only to balance ``on_start``.  Its usage is recorded."""
        ctx = self.ctx
        self.router.attempt_failed(ctx, deployment, AttemptResult(time.perf_counter() - started, aborted=True), None)
        ctx.upstream_answered = time.perf_counter()
        if isinstance(response, StreamResponseBody):
            ctx.first_token_at = ctx.upstream_answered
            response.chunks = _recording_usage(ctx, _starting_with(first, response.chunks))
        else:
            usage = response.data.get("usage") if response.status == 200 else None
            ctx.usage = Usage.from_openai(usage) if isinstance(usage, dict) else None
        return response

    def failed(self, deployment: Deployment, error: UpstreamError, result: AttemptResult) -> None:
        ctx = self.ctx
        ctx.attempts.append(_attempt_record(deployment, error))
        if self.router.attempt_failed(ctx, deployment, result, classify(error)):
            self.gateway.emit_alert(
                "deployment_cooldown",
                f"deployment {deployment.id} of model group {deployment.model_group!r} is cooling down for "
                f"{self.router.cooldowns.cooldown_time:g} s after repeated failures: {error.message}",
                deployment_id=deployment.id,
                model_group=deployment.model_group,
                provider=deployment.provider,
            )


async def _recording_usage(ctx: RequestContext, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    async for chunk in chunks:
        if chunk.get("usage"):
            ctx.usage = Usage.from_openai(chunk["usage"])
        yield chunk


async def _starting_with(
    first: dict[str, Any] | None, chunks: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    """The stream again, its first chunk (already read) included."""
    try:
        if first is not None:
            yield first
        async for chunk in chunks:
            yield chunk
    finally:
        await close_quietly(chunks)


def _attempt_record(deployment: Deployment, error: UpstreamError) -> Attempt:
    return Attempt(deployment.id, deployment.model_group, str(error), error.status)


def falls_back(error: GatewayError, kind: str) -> bool:
    """Whether a group that failed this way should hand the request to fallback groups."""
    if kind in (CONTEXT_WINDOW, CONTENT_POLICY):
        return True
    return bool(getattr(error, "retryable", True))


async def first_chunk(response: StreamResponseBody) -> dict[str, Any] | None:
    """Read the stream's first chunk (None for an empty stream); close the stream if that fails."""
    try:
        return await response.chunks.__anext__()
    except StopAsyncIteration:
        return None
    except BaseException:
        await close_quietly(response.chunks)
        raise


async def close_quietly(chunks: AsyncIterator[Any]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing must not mask what ended the stream
            pass


class StreamReport:
    """Reports a streamed attempt to the router exactly once, when the stream ends however it ends.

    If the stream is dropped without ever being read (a later hook refused the response), a
    finalizer reports it as abandoned, so ``least-busy`` never counts it as in flight forever.
    """

    def __init__(self, loop: RetryLoop, deployment: Deployment, started: float, first_at: float | None) -> None:
        self.loop = loop
        self.deployment = deployment
        self.started = started
        self.first_at = first_at
        self.done = False

    def watch(
        self, chunks: AsyncIterator[dict[str, Any]], first: dict[str, Any] | None
    ) -> AsyncIterator[dict[str, Any]]:
        generator = self._watch(chunks, first)
        weakref.finalize(generator, self._abandoned)
        return generator

    def _result(self, error: GatewayError | None = None, aborted: bool = False) -> AttemptResult:
        ttft = self.first_at - self.started if self.first_at is not None else None
        return AttemptResult(
            time.perf_counter() - self.started,
            time_to_first_token=ttft,
            usage=self.loop.ctx.usage,
            error=error,
            aborted=aborted,
        )

    def _abandoned(self) -> None:
        if not self.done:
            self.done = True
            self.loop.router.attempt_failed(self.loop.ctx, self.deployment, self._result(aborted=True), None)

    async def _watch(
        self, chunks: AsyncIterator[dict[str, Any]], first: dict[str, Any] | None
    ) -> AsyncIterator[dict[str, Any]]:
        # the one wrapper every stream passes through: it also records, for the request, the time
        # to first token (when the gateway read it) and the final usage
        ctx = self.loop.ctx
        ended = False
        error: UpstreamError | None = None
        #: the chunks until one carried usage; a stream that ends without it gets a counted usage chunk
        uncounted: list[dict[str, Any]] | None = []
        try:
            if first is not None:
                ctx.first_token_at = self.first_at
                if first.get("usage"):
                    ctx.usage = Usage.from_openai(first["usage"])
                    uncounted = None
                else:
                    uncounted = [first]
                yield first
            async for chunk in chunks:
                if chunk.get("usage"):
                    ctx.usage = Usage.from_openai(chunk["usage"])
                    uncounted = None
                elif uncounted is not None:
                    uncounted.append(chunk)
                yield chunk
            if uncounted is not None and ctx.endpoint in COUNTED:  # no usage from the upstream (llama.cpp ...)
                yield await usage_chunk(ctx, uncounted)
            ended = True
        except UpstreamError as exc:  # after the first chunk: never retried, the client sees an error event
            error = exc
            raise
        finally:
            await close_quietly(chunks)
            if not self.done:
                self.done = True
                loop = self.loop
                if ended:
                    loop.router.attempt_succeeded(loop.ctx, self.deployment, self._result())
                elif error is not None:
                    loop.failed(self.deployment, error, self._result(error))
                else:
                    loop.router.attempt_failed(loop.ctx, self.deployment, self._result(aborted=True), None)
