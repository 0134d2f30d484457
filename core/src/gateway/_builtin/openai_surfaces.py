"""OpenAI's chat completions, completions and embeddings: the surfaces core serves itself.

Answers are OpenAI's format already (every provider hands its answer over in it), so encoding is
the answer's bytes, or SSE ``data:`` events ending with ``[DONE]``.  Errors have OpenAI's
envelope, ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from gateway._hookspecs import hookimpl
from gateway.chat import JSON, ModelRequest, decode_openai_chat, decode_openai_prompt
from gateway.surfaces import OnError, Surface, openai_events

if TYPE_CHECKING:
    from gateway._types import JSONResponseBody, RequestContext, StreamResponseBody


def _paths(path: str) -> tuple[str, ...]:
    return (f"/v1/{path}", f"/{path}")


class OpenAISurface(Surface):
    format = "openai"

    def encode_answer(self, ctx: RequestContext, response: JSONResponseBody) -> bytes:
        return response.raw

    def encode_stream(
        self, ctx: RequestContext, response: StreamResponseBody, on_error: OnError
    ) -> AsyncIterator[bytes]:
        include_usage = ctx.request.include_usage if ctx.request is not None else False
        return openai_events(response.chunks, include_usage=include_usage, on_error=on_error)


class ChatCompletions(OpenAISurface):
    name = "openai.chat"
    endpoint = "chat"
    paths = _paths("chat/completions")

    def decode(self, body: JSON) -> ModelRequest:
        return decode_openai_chat(body)


class PromptSurface(OpenAISurface):
    def decode(self, body: JSON) -> ModelRequest:
        return decode_openai_prompt(body, self.endpoint)


class Completions(PromptSurface):
    name = "openai.completions"
    endpoint = "completions"
    paths = _paths("completions")


class Embeddings(PromptSurface):
    name = "openai.embeddings"
    endpoint = "embeddings"
    paths = _paths("embeddings")


@hookimpl
def gateway_register_surfaces(register: Callable[[Surface], None]) -> None:
    for surface in (ChatCompletions(), Completions(), Embeddings()):
        register(surface)
