"""Surfaces: the wire formats clients speak to the gateway (public API for plugins).

A *surface* is a codec for one wire format on some POST routes: it decodes a request body into
the typed request (:mod:`gateway.chat`), and encodes an answer, a stream and an error the way the
client expects them.  It owns no control flow: one function in the kernel serves every model
request (authenticate, read the body, decode, run the request hooks, encode, record exactly once),
whichever surface it came in on.  Core registers OpenAI's chat completions, completions and
embeddings; a plugin adds its own through ``gateway_register_surfaces`` (gateway-anthropic adds
``POST /v1/messages``)::

    @hookimpl
    def gateway_register_surfaces(register):
        register(MySurface())
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from gateway._errors import GatewayError
from gateway._sse import DONE, encode_data, encode_event

if TYPE_CHECKING:
    from gateway._types import Endpoint, JSONResponseBody, RequestContext, StreamResponseBody
    from gateway.chat import JSON, ModelRequest

#: how a surface hears about a failure in the middle of a stream: it returns the error to show
OnError = Callable[[BaseException], GatewayError]


class Surface:
    """A wire format a client speaks: a codec.  Subclass it and set the class attributes.

    Every method may raise :class:`gateway.GatewayError` (a 400 for a malformed body); any
    other exception is the surface's bug: the request is answered with a 500 in this surface's
    error shape naming the plugin, and the worker keeps serving.
    """

    #: unique name, ``<format>.<call>``: ``openai.chat``, ``anthropic.messages``
    name: ClassVar[str] = ""
    #: the wire format family of its bodies; a provider whose upstream speaks the same one may hand
    #: answers through unchanged (see :attr:`gateway.JSONResponseBody.native`)
    format: ClassVar[str] = ""
    #: the kind of call, which picks the provider's method: ``chat``, ``completions``, ``embeddings``
    endpoint: ClassVar[Endpoint] = "chat"
    #: the POST paths it serves; a whole segment ``{name}`` matches any one segment, handed to
    #: :meth:`decode_path` (``/openai/deployments/{deployment}/chat/completions``)
    paths: ClassVar[tuple[str, ...]] = ()
    #: the Content-Type of its answers
    content_type: ClassVar[bytes] = b"application/json"
    #: where its bodies name the end user (``ModelRequest.user``), named when
    #: ``general_settings.enforce_user_param`` refuses a request without one; ``None``: the format has
    #: no such field, and the setting does not apply to it
    user_field: ClassVar[str | None] = "user"
    #: what ``GET /openapi.json`` says of its routes: a one-line summary, a description, and the JSON
    #: Schemas (OpenAPI 3.0's dialect) of its request body, of a complete answer and of an error
    #: answer; ``None``: any JSON object, any JSON, and the gateway's own error envelope
    summary: ClassVar[str] = ""
    description: ClassVar[str] = ""
    request_schema: ClassVar[Mapping[str, Any] | None] = None
    response_schema: ClassVar[Mapping[str, Any] | None] = None
    error_schema: ClassVar[Mapping[str, Any] | None] = None

    def decode(self, body: JSON) -> ModelRequest:
        """The typed request for a JSON body (a ``BadRequestError`` naming the field when it is malformed)."""
        raise NotImplementedError

    def decode_path(self, body: JSON, params: Mapping[str, str]) -> ModelRequest:
        """The typed request for a body that came on a path with ``{name}`` segments (``params``:
        name -> the segment, as the server decoded the path).  By default the path says nothing the body does not."""
        return self.decode(body)

    def encode_answer(self, ctx: RequestContext, response: JSONResponseBody) -> bytes:
        """The body of a complete answer (``response.status`` is the status sent)."""
        raise NotImplementedError

    def encode_stream(
        self, ctx: RequestContext, response: StreamResponseBody, on_error: OnError
    ) -> AsyncIterator[bytes]:
        """The events of a streamed answer, as bytes.  Iterate ``response.chunks``; when it raises,
        call ``on_error(exc)`` and end the stream with that error in this format's shape."""
        raise NotImplementedError

    def encode_error(self, error: GatewayError) -> bytes:
        """The body of an error answer (sent with ``error.status``)."""
        return error.to_json()

    def __repr__(self) -> str:
        return f"<Surface {self.name} {' '.join(self.paths)}>"


async def openai_events(chunks: AsyncIterator[JSON], *, include_usage: bool, on_error: OnError) -> AsyncIterator[bytes]:
    """OpenAI chunks as SSE bytes, ending with ``[DONE]`` (or an error event, then ``[DONE]``).

    Providers always ask their upstream for usage (the gateway needs it for accounting); when the
    client did not ask for it (``stream_options.include_usage``), it is taken out again here.
    """
    try:
        async for chunk in chunks:
            if not include_usage and "usage" in chunk:
                if not chunk.get("choices"):
                    continue
                chunk = {k: v for k, v in chunk.items() if k != "usage"}
            yield encode_data(chunk)
    except Exception as exc:  # upstream failure, or a provider/plugin bug: end the stream cleanly, with a reason
        yield encode_data(on_error(exc).to_dict())
    yield DONE


__all__ = ["Surface", "OnError", "openai_events", "encode_data", "encode_event", "DONE"]
