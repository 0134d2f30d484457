"""The typed chat request: what every chat-like surface decodes into and every provider encodes from.

A client speaks one wire format (OpenAI chat, Anthropic messages, ...); a deployment speaks one
too.  Between the two the gateway holds one :class:`ChatRequest`: messages made of typed parts
(text, image, file, tool call, tool result, thinking), tools, sampling parameters, and, for
everything no type covers, the client's own JSON members kept verbatim (``extra`` on the request,
on each message and on each part).

Two rules make the model safe to put in the middle:

* **Fidelity.**  Decoding a body and encoding it back to the same format gives the same JSON
  members, including fields the gateway has never heard of.  So a request whose format is the
  provider's format reaches the upstream unchanged unless a hook changed it, and a hook that
  masks one text changes exactly that text.
* **Nothing foreign is invented.**  ``extra`` members belong to the source format
  (:attr:`ChatRequest.format`); an encoder for another format never copies them blindly: it
  translates the ones it understands and drops or refuses the others (see
  :func:`gateway.chat.foreign_extras`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from gateway._errors import BadRequestError
from gateway.chat._checks import parse_data_url

JSON = dict[str, Any]

#: how a message's (or tool result's) content was written: a string, a list of parts, ``null``, or not at all
ContentForm = Literal["text", "parts", "null", "absent"]


def _extra() -> JSON:
    return {}


_NO_HINTS: JSON = {}


@dataclass(slots=True)
class Text:
    text: str
    cache_control: JSON | None = None
    #: members of the part no field covers (``citations`` ...), in the source format
    extra: JSON = field(default_factory=_extra)
    #: the client sent a bare string inside a content list (OpenAI tolerates it)
    bare: bool = False


@dataclass(slots=True)
class Image:
    """An image: a URL (``https://`` or a ``data:`` URL) or inline base64 ``data`` with its media type."""

    url: str | None = None
    media_type: str | None = None
    data: str | None = None
    #: OpenAI's ``detail`` (``auto``, ``low``, ``high``)
    detail: str | None = None
    cache_control: JSON | None = None
    extra: JSON = field(default_factory=_extra)
    #: members of the inner object (OpenAI ``image_url``, Anthropic ``source``) no field covers
    source_extra: JSON = field(default_factory=_extra)
    #: OpenAI's legacy ``"image_url": "<url>"`` string form
    bare: bool = False

    def inline(self, where: str = "image_url.url") -> tuple[str, str] | None:
        """``(media_type, base64 data)`` for an inline image (given so, or as a ``data:`` URL, checked:
        a 400 naming ``where`` when it is malformed); None for a link."""
        if self.data is not None:
            return self.media_type or "application/octet-stream", self.data
        if self.url is not None and self.url.startswith("data:"):
            return parse_data_url(self.url, where)
        return None


@dataclass(slots=True)
class File:
    """A document (a PDF, a text): inline data, a ``data:`` URL, an uploaded file id, or plain text."""

    data: str | None = None
    media_type: str | None = None
    #: OpenAI's ``file_data`` (a ``data:`` URL), or a link
    url: str | None = None
    file_id: str | None = None
    filename: str | None = None
    #: a plain-text document (Anthropic's ``{"type": "text"}`` source)
    text: str | None = None
    cache_control: JSON | None = None
    extra: JSON = field(default_factory=_extra)
    source_extra: JSON = field(default_factory=_extra)

    def inline(self, where: str = "file.file_data") -> tuple[str, str] | None:
        if self.data is not None:
            return self.media_type or "application/pdf", self.data
        if self.url is not None and self.url.startswith("data:"):
            return parse_data_url(self.url, where)
        return None


class ToolCall:
    """An assistant's call of a tool.  The arguments are kept as sent: a JSON string (OpenAI) or an
    object (Anthropic); :meth:`arguments_json` and :meth:`input_object` convert on demand."""

    __slots__ = ("id", "name", "arguments", "input", "cache_control", "extra", "function_extra", "arguments_form")

    def __init__(
        self,
        id: str,
        name: str,
        *,
        arguments: str | None = None,
        input: JSON | None = None,
        cache_control: JSON | None = None,
        extra: JSON | None = None,
        function_extra: JSON | None = None,
        arguments_form: Literal["string", "object", "absent", "null"] = "string",
    ) -> None:
        self.id = id
        self.name = name
        self.arguments = arguments
        self.input = input
        self.cache_control = cache_control
        self.extra: JSON = extra if extra is not None else {}
        #: OpenAI: members of ``function`` besides ``name`` and ``arguments``
        self.function_extra: JSON = function_extra if function_extra is not None else {}
        #: how an OpenAI client wrote ``arguments``: a string, an object (tolerated), ``null``, or not at all
        self.arguments_form = arguments_form

    def arguments_json(self) -> str:
        if self.arguments is not None:
            return self.arguments
        return orjson.dumps(self.input if self.input is not None else {}).decode()

    def input_object(self, where: str = "tool call") -> JSON:
        """The arguments as an object; a string that is not a JSON object is the client's mistake (400)."""
        if self.arguments is None:
            return self.input if self.input is not None else {}
        if self.arguments == "":
            return {}
        try:
            value = orjson.loads(self.arguments)
        except orjson.JSONDecodeError:
            raise BadRequestError(
                f"{where}.function.arguments is not valid JSON: {self.arguments[:80]!r}",
                param=f"{where}.function.arguments",
            ) from None
        if not isinstance(value, dict):
            raise BadRequestError(
                f"{where}.function.arguments must encode a JSON object", param=f"{where}.function.arguments"
            )
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ToolCall) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        return f"ToolCall(id={self.id!r}, name={self.name!r}, arguments={self.arguments_json()[:60]!r})"


@dataclass(slots=True)
class ToolResult:
    """The answer to a tool call: its content (text and images), and whether the tool failed."""

    call_id: str
    parts: list[Part]
    content_form: ContentForm = "parts"
    is_error: bool | None = None
    cache_control: JSON | None = None
    extra: JSON = field(default_factory=_extra)

    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, Text))


@dataclass(slots=True)
class Thinking:
    """A reasoning block an assistant produced earlier, sent back with its signature intact."""

    text: str | None = None
    signature: str | None = None
    #: the encrypted ``data`` of a redacted block
    redacted: str | None = None
    extra: JSON = field(default_factory=_extra)


@dataclass(slots=True)
class Opaque:
    """A part no type covers (audio, a server tool's result ...), kept verbatim in its source format."""

    format: str
    data: JSON
    #: where the part stood: in the content, or (OpenAI) in an assistant's ``thinking_blocks``
    slot: Literal["content", "thinking_blocks"] = "content"

    @property
    def type(self) -> str:
        kind = self.data.get("type")
        return kind if isinstance(kind, str) else "?"


Part = Text | Image | File | ToolCall | ToolResult | Thinking | Opaque


@dataclass(slots=True)
class Message:
    role: str
    parts: list[Part]
    name: str | None = None
    content_form: ContentForm = "parts"
    cache_control: JSON | None = None
    #: members of the message no field covers, in the source format
    extra: JSON = field(default_factory=_extra)

    def text(self) -> str:
        """The concatenated text of the message's text parts."""
        return "".join(p.text for p in self.parts if isinstance(p, Text))

    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]


@dataclass(slots=True)
class Tool:
    """A function the model may call."""

    name: str
    description: str | None = None
    #: a JSON schema of type object
    parameters: JSON = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    cache_control: JSON | None = None
    #: members of the definition no field covers (OpenAI ``function``; Anthropic's tool object)
    extra: JSON = field(default_factory=_extra)
    #: OpenAI: members of the tool object besides ``type`` and ``function``
    outer_extra: JSON = field(default_factory=_extra)
    #: the client sent no ``parameters`` / ``input_schema``
    parameters_absent: bool = False


@dataclass(slots=True)
class OpaqueTool:
    """A tool no type covers (a provider's built-in tool such as web search), kept verbatim."""

    format: str
    data: JSON

    @property
    def type(self) -> str:
        kind = self.data.get("type")
        return kind if isinstance(kind, str) else "?"


@dataclass(slots=True)
class ToolChoice:
    """``auto``, ``none``, ``required`` (some tool), ``tool`` (``name``); ``raw`` keeps a form no mode covers."""

    mode: Literal["auto", "none", "required", "tool", "raw"]
    name: str | None = None
    raw: Any = None


#: the typed fields every request has, in the order :meth:`ModelRequest.snapshot` lists them
COMMON_FIELDS = ("model", "stream", "max_tokens", "n", "user")
#: and the ones chat requests add
CHAT_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "stop",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "thinking",
)
#: every typed top-level field of a chat request
TOP_FIELDS = COMMON_FIELDS + CHAT_FIELDS


class ModelRequest:
    """One model request, whatever format the client spoke: what a surface decodes and every hook reads.

    ``body`` is the JSON object the client sent (read it, never change it).  The typed fields are
    the ones plugins need whatever the format; set one to ``None`` to remove it.  ``gateway`` holds
    the fields that steer the gateway itself (``metadata``, ``tags``, ``fallbacks`` ...; they never
    reach an upstream) and ``extra`` the client's other members, verbatim, in its own format (a
    hook may change them; an encoder for another format translates or reports them).
    Completions and embeddings are plain ``ModelRequest`` s; chat is a :class:`ChatRequest`.
    """

    __slots__ = (
        "format", "body", "model", "stream", "include_usage", "max_tokens", "n", "user",
        "_gateway", "_extra", "_extra_seen", "_members", "_gateway_fields", "_original", "_hints",
    )  # fmt: skip
    fields: tuple[str, ...] = COMMON_FIELDS
    _snapshot = operator.attrgetter(*COMMON_FIELDS)

    def __init__(
        self, format: str, body: JSON, model: str, members: frozenset[str], gateway_fields: frozenset[str]
    ) -> None:
        self.format = format
        self.body = body
        self.model = model
        self.stream = False
        #: the client asked for usage at the end of a stream (OpenAI ``stream_options.include_usage``)
        self.include_usage = False
        self.max_tokens: int | None = None
        #: choices to generate (OpenAI ``n``; ``best_of`` counts on completions)
        self.n: int | None = None
        self.user: str | None = None
        self._gateway: JSON | None = None
        self._extra: JSON | None = None
        self._extra_seen = False
        #: the source format's members that typed fields hold (the rest is ``extra`` or ``gateway``)
        self._members = members
        self._gateway_fields = gateway_fields
        self._original: tuple[Any, ...] = ()
        self._hints: JSON = _NO_HINTS

    # ------------------------------------------------------------------ split on first use

    def _split(self) -> None:
        members, gateway_fields = self._members, self._gateway_fields
        if members.issuperset(self.body):  # most bodies: typed members only (one check in C)
            self._gateway, self._extra = {}, {}
            return
        gateway: JSON = {}
        extra: JSON = {}
        for name, value in self.body.items():
            if name in members:
                continue
            (gateway if name in gateway_fields else extra)[name] = value
        self._gateway, self._extra = gateway, extra

    @property
    def gateway(self) -> JSON:
        if self._gateway is None:
            self._split()
        return self._gateway  # type: ignore[return-value]

    @property
    def extra(self) -> JSON:
        if self._extra is None:
            self._split()
        self._extra_seen = True
        return self._extra  # type: ignore[return-value]

    @extra.setter
    def extra(self, value: JSON) -> None:
        self.gateway  # noqa: B018 - split first, so the gateway's fields stay apart
        self._extra = value
        self._extra_seen = True

    @property
    def extra_touched(self) -> bool:
        """Whether anyone took ``extra`` (and so may have changed it): reading ``gateway`` does not count."""
        return self._extra_seen

    def metadata(self) -> JSON:
        """The gateway's ``metadata`` (LiteLLM's: tags, trace ids ...), or ``{}``."""
        found = self.gateway.get("metadata")
        return found if isinstance(found, dict) else {}

    # ------------------------------------------------------------------ for codecs

    def snapshot(self) -> tuple[Any, ...]:
        return self._snapshot(self)

    def seal(self, hints: JSON | None = None) -> None:
        """Called by a decoder when it is done: remember the decoded values, so that an encoder for
        the same format can tell which typed fields a hook changed.  ``hints`` tell that encoder how
        the client spelled things (``max_completion_tokens`` or ``max_tokens`` ...)."""
        self._original = self._snapshot(self)
        if hints is not None:
            self._hints = hints

    def changed_fields(self) -> list[str]:
        """The typed fields whose value differs from what was decoded."""
        original = self._original
        if not original:
            return list(self.fields)
        now = self._snapshot(self)
        if now == original:  # the common case, compared in C
            return []
        return [name for name, before, after in zip(self.fields, original, now, strict=True) if after != before]

    def hint(self, name: str, default: Any = None) -> Any:
        return self._hints.get(name, default)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} model={self.model!r} stream={self.stream}>"


class ChatRequest(ModelRequest):
    """A chat request: messages of typed parts, tools, sampling parameters.

    Decoders may hand over the raw messages and tools with a function that decodes them, so a
    request nobody looks into is never decoded (:attr:`messages_decoded`): an encoder for the same
    format then sends the client's own lists.
    """

    __slots__ = (
        "temperature", "top_p", "top_k", "seed", "stop", "tool_choice", "parallel_tool_calls", "response_format",
        "reasoning_effort", "thinking", "_messages", "_tools", "_raw_messages", "_raw_tools", "_decode_messages",
        "_decode_tools", "_tools_decoded",
    )  # fmt: skip
    fields = TOP_FIELDS
    _snapshot = operator.attrgetter(*TOP_FIELDS)

    def __init__(
        self,
        format: str,
        body: JSON,
        model: str,
        members: frozenset[str],
        gateway_fields: frozenset[str],
        *,
        lazy: tuple[list[Any], list[Any] | None, Any, Any] | None = None,
    ) -> None:
        """``lazy``: the client's messages and tools with the functions that decode them, as :meth:`lazy`
        takes them (a decoder passes them here rather than calling it: one call less per request)."""
        ModelRequest.__init__(self, format, body, model, members, gateway_fields)  # not super(): cheaper, same MRO
        self.temperature: float | None = None
        self.top_p: float | None = None
        self.top_k: int | None = None
        self.seed: int | None = None
        self.stop: list[str] | None = None
        self.tool_choice: ToolChoice | None = None
        self.parallel_tool_calls: bool | None = None
        #: OpenAI's shape (``{"type": "json_schema", "json_schema": {...}}``)
        self.response_format: JSON | None = None
        self.reasoning_effort: str | None = None
        #: Anthropic's shape (``{"type": "enabled", "budget_tokens": N}``)
        self.thinking: JSON | None = None
        self._tools: list[Tool | OpaqueTool] | None = None
        self._messages: list[Message] | None
        self._raw_messages: list[Any] | None
        self._raw_tools: list[Any] | None
        self._decode_messages: Any
        self._decode_tools: Any
        if lazy is None:
            self._messages = []
            self._raw_messages = self._raw_tools = self._decode_messages = self._decode_tools = None
            self._tools_decoded = True
        else:
            self._messages = None
            self._raw_messages, self._raw_tools, self._decode_messages, self._decode_tools = lazy
            self._tools_decoded = False

    def lazy(self, messages: list[Any], tools: list[Any] | None, decode_messages: Any, decode_tools: Any) -> None:
        """Keep the client's lists; decode them on first use."""
        self._messages = None
        self._raw_messages = messages
        self._raw_tools = tools
        self._decode_messages = decode_messages
        self._decode_tools = decode_tools
        self._tools = None
        self._tools_decoded = False

    @property
    def messages(self) -> list[Message]:
        if self._messages is None:
            self._messages = self._decode_messages(self._raw_messages)
        return self._messages

    @messages.setter
    def messages(self, value: list[Message]) -> None:
        self._messages = value

    @property
    def tools(self) -> list[Tool | OpaqueTool] | None:
        if not self._tools_decoded:
            self._tools = self._decode_tools(self._raw_tools) if self._raw_tools is not None else None
            self._tools_decoded = True
        return self._tools

    @tools.setter
    def tools(self, value: list[Tool | OpaqueTool] | None) -> None:
        self._tools = value
        self._tools_decoded = True

    @property
    def messages_decoded(self) -> bool:
        return self._messages is not None

    @property
    def tools_decoded(self) -> bool:
        return self._tools_decoded

    def untouched(self) -> bool:
        """Nobody decoded the messages or tools, took ``extra`` or changed a typed field since the
        decoder sealed the request: an encoder of its own format may send the client's body.  (One
        call for what :meth:`changed_fields` and the ``*_decoded`` properties say, on every request.)"""
        original = self._original
        return (
            self._messages is None
            and not self._tools_decoded
            and not self._extra_seen
            and bool(original)
            and self._snapshot(self) == original
        )

    def raw_messages(self) -> list[Any]:
        """The client's messages as sent (valid only while :attr:`messages_decoded` is false)."""
        return self._raw_messages or []

    # ------------------------------------------------------------------ for plugins

    def iter_parts(self) -> Iterator[tuple[Message, Part]]:
        """Every part of every message, tool results' parts included, in order."""
        for message in self.messages:
            for part in message.parts:
                yield message, part
                if isinstance(part, ToolResult):
                    for inner in part.parts:
                        yield message, inner

    def text(self) -> str:
        """All the text of the request, for estimates and classifiers (tool results included)."""
        return "\n".join(part.text for _, part in self.iter_parts() if isinstance(part, Text))

    def __repr__(self) -> str:
        count = len(self._messages) if self._messages is not None else len(self._raw_messages or [])
        return f"<ChatRequest {self.format} model={self.model!r} messages={count} stream={self.stream}>"
