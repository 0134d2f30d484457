"""OpenAI's chat completions, completions and embeddings: the surfaces core serves itself, on
OpenAI's paths and on Azure OpenAI's (``/openai/deployments/{deployment}/...``, for the
``AzureOpenAI`` client: the deployment in the path is the model group, ``api-version`` is
accepted, the ``api-key`` header is a credential like ``Authorization: Bearer``).

Answers are OpenAI's format already (every provider hands its answer over in it), so encoding is
the answer's bytes, or SSE ``data:`` events ending with ``[DONE]``.  Errors have OpenAI's
envelope, ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

from gateway._builtin import openai_schemas as schemas
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
    summary = "Chat completions (OpenAI's format), for any provider"
    request_schema = schemas.CHAT_REQUEST
    response_schema = schemas.CHAT_RESPONSE

    def decode(self, body: JSON) -> ModelRequest:
        return decode_openai_chat(body)


class PromptSurface(OpenAISurface):
    def decode(self, body: JSON) -> ModelRequest:
        return decode_openai_prompt(body, self.endpoint)


class Completions(PromptSurface):
    name = "openai.completions"
    endpoint = "completions"
    paths = _paths("completions")
    summary = "Text completions (OpenAI's legacy format)"
    request_schema = schemas.COMPLETION_REQUEST
    response_schema = schemas.COMPLETION_RESPONSE


class Embeddings(PromptSurface):
    name = "openai.embeddings"
    endpoint = "embeddings"
    paths = _paths("embeddings")
    summary = "Embeddings (OpenAI's format)"
    request_schema = schemas.EMBEDDINGS_REQUEST
    response_schema = schemas.EMBEDDINGS_RESPONSE


class AzureDeployment(Surface):
    """Azure OpenAI's routes: the deployment named in the path is the model, whatever the body says
    (Azure clients may send none).  Mixed in before an OpenAI surface, whose codec it keeps."""

    def decode_path(self, body: JSON, params: Mapping[str, str]) -> ModelRequest:
        return self.decode({**body, "model": params["deployment"]})


def _azure_path(path: str) -> tuple[str, ...]:
    return (f"/openai/deployments/{{deployment}}/{path}",)


class AzureChatCompletions(AzureDeployment, ChatCompletions):
    name = "azure.chat"
    paths = _azure_path("chat/completions")


class AzureCompletions(AzureDeployment, Completions):
    name = "azure.completions"
    paths = _azure_path("completions")


class AzureEmbeddings(AzureDeployment, Embeddings):
    name = "azure.embeddings"
    paths = _azure_path("embeddings")


@hookimpl
def gateway_register_surfaces(register: Callable[[Surface], None]) -> None:
    for surface in (ChatCompletions(), Completions(), Embeddings()):
        register(surface)
    for azure in (AzureChatCompletions(), AzureCompletions(), AzureEmbeddings()):
        register(azure)
