"""A deterministic mock model: fixed replies and usage, optional latency and failures.

It powers the embedded default config and the tests: the same request always gives the same
answer and the same token counts (``gateway.fake_openai.count_tokens``), so the cost of any call
can be computed exactly.  It reads the typed request (``ctx.request``) as the hooks left it, so a
client speaking any surface (OpenAI, Anthropic ...) gets the same counts.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

from gateway import (
    Deployment,
    JSONResponseBody,
    Provider,
    RequestContext,
    StreamResponseBody,
    UpstreamError,
    fake_openai,
)
from gateway.chat import ChatRequest, ModelRequest


class MockProvider(Provider):
    params = frozenset(
        {
            "mock_latency_ms",
            "mock_stream_chunk_delay_ms",
            "mock_stream_pieces",
            "mock_failure_rate",
            "mock_fail_every",
            "mock_failure_status",
            # answered here, with the failure simulation above, rather than by core's testing aid
            "mock_response",
        }
    )
    distribution = "gateway-mock"
    #: the reply names the model it was asked for: one deployment serves every name of ``mock/*``
    wildcard_models = True

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._rng = random.Random(0)

    def validate_deployment(self, deployment: Deployment) -> None:
        rate = deployment.params.get("mock_failure_rate", 0)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("mock_failure_rate must be a number from 0 to 1")
        self._counters[deployment.id] = itertools.count(1)

    def reply_text(self, deployment: Deployment, request: ModelRequest | None = None) -> str:
        """The deployment's ``mock_response``, else a fixed text.  (A request's own ``mock_response``
        is answered by the gateway before any provider is called, whatever the provider.)"""
        fixed = deployment.params.get("mock_response")
        return str(fixed) if fixed is not None else f"This is a mock reply from {deployment.model}."

    async def _before(self, deployment: Deployment) -> None:
        latency = deployment.params.get("mock_latency_ms")
        if latency:
            await asyncio.sleep(latency / 1000)
        self._fail_on_purpose(deployment)

    def _fail_on_purpose(self, deployment: Deployment) -> None:
        """``mock_fail_every`` / ``mock_failure_rate``: raise this call's failure, if it is one."""
        params = deployment.params
        call_number = next(self._counters[deployment.id])
        every = params.get("mock_fail_every")
        rate = params.get("mock_failure_rate") or 0
        if (every and call_number % int(every) == 0) or (rate and self._rng.random() < rate):
            status = int(params.get("mock_failure_status", 500))
            raise UpstreamError(
                f"mock deployment {deployment.id} failed on purpose (HTTP {status})",
                status=status if status >= 500 else 502,
                upstream_status=status,
            )

    async def chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> JSONResponseBody | StreamResponseBody:
        request = ctx.request
        text = self.reply_text(deployment, request)
        if deployment.params.get("mock_latency_ms"):
            await self._before(deployment)
        else:  # no coroutine of its own on every call when there is nothing to wait for
            self._fail_on_purpose(deployment)
        prompt = fake_openai.request_prompt_tokens(request) if isinstance(request, ChatRequest) else 0
        if ctx.stream:
            pieces = int(deployment.params.get("mock_stream_pieces", 5))
            delay = (deployment.params.get("mock_stream_chunk_delay_ms") or 0) / 1000
            chunks = fake_openai.chat_chunks(deployment.model, text, prompt=prompt, pieces=pieces, seed=ctx.request_id)
            return StreamResponseBody(_paced(chunks, delay))
        data = fake_openai.chat_completion(deployment.model, text, prompt=prompt, seed=ctx.request_id)
        return JSONResponseBody(data=data)

    async def completions(self, ctx: RequestContext, deployment: Deployment, gateway: Any) -> JSONResponseBody:
        text = self.reply_text(deployment, ctx.request)
        await self._before(deployment)
        prompt = _member(ctx.request, "prompt")
        prompt_text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))
        return JSONResponseBody(
            data=fake_openai.text_completion(deployment.model, text, prompt=fake_openai.count_tokens(prompt_text))
        )

    async def embeddings(self, ctx: RequestContext, deployment: Deployment, gateway: Any) -> JSONResponseBody:
        await self._before(deployment)
        value = _member(ctx.request, "input")
        inputs = [value] if isinstance(value, str) else [str(v) for v in value or []]
        return JSONResponseBody(data=fake_openai.embeddings(deployment.model, inputs))


def _member(request: ModelRequest | None, name: str) -> Any:
    """A completions or embeddings member no typed field holds (``prompt``, ``input``), as hooks left it."""
    if request is None:
        return None
    return (request.extra if request.extra_touched else request.body).get(name)


async def _paced(chunks: Any, delay: float) -> AsyncIterator[dict[str, Any]]:
    for i, chunk in enumerate(chunks):
        if i and delay:
            await asyncio.sleep(delay)
        yield chunk
