"""The objects that travel through the request pipeline.

They are plain dataclasses with ``slots`` so that creating one per request costs little; plugins
read and (where a hook says so) change them.  Anything a plugin needs to carry from one hook to
another goes into ``RequestContext.state[<plugin name>]``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

import orjson

if TYPE_CHECKING:
    from gateway.chat import ModelRequest

Endpoint = Literal["chat", "completions", "embeddings", "messages"]


@dataclass(slots=True)
class BudgetScope:
    """One thing whose spend and limits apply to a request: a key, its team, its user ...

    Auth plugins put the scopes that apply to a caller on ``Principal.scopes``; the budget and
    rate-limit plugin enforces every one of them (an end-user scope from the OpenAI ``user`` field
    and a global one may be added by that plugin itself).
    """

    #: ``key``, ``team``, ``user``, ``end_user``, ``org`` or ``global``
    scope: str
    #: key hash for ``key``; the team/user id otherwise
    id: str
    max_budget: Decimal | None = None
    #: ``30s``, ``30m``, ``24h``, ``30d``, ``1mo``: the budget window; None means never reset
    budget_duration: str | None = None
    soft_budget: Decimal | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    #: a readable name for messages (key alias, team alias)
    alias: str | None = None
    #: when the current budget window started (epoch seconds); None = the plugin's own clock
    budget_started_at: float | None = None


@dataclass(slots=True)
class Principal:
    """Who is calling and what they may do; the result of the ``gateway_auth`` hook."""

    #: stable identifier used in logs and metrics, never the raw key
    id: str
    #: ``master`` (admin), ``virtual_key``, ``anonymous`` or a plugin's own kind
    kind: str
    is_admin: bool = False
    #: model groups this principal may call; ``None`` means every model
    models: frozenset[str] | None = None
    #: public-name -> model group aliases that apply to this principal
    aliases: Mapping[str, str] = field(default_factory=dict)
    key_hash: str | None = None
    key_alias: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    team_alias: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: budgets and limits that apply to this caller (key, team, user ...), checked by the budget plugin
    scopes: list[BudgetScope] = field(default_factory=list)
    #: guardrail names attached to the key/team, and permissions such as ``allow_pii_controls``
    guardrails: list[str] = field(default_factory=list)
    permissions: Mapping[str, Any] = field(default_factory=dict)
    #: anything else an auth plugin wants later hooks to see (roles ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def may_use(self, model_group: str) -> bool:
        models = self.models
        if models is None or model_group in models:
            return True
        # a wildcard in the list (``openai/*``) allows every name it matches, as LiteLLM reads it;
        # only names outside the exact list pay for this
        return any("*" in allowed and fnmatchcase(model_group, allowed) for allowed in models)


@dataclass(slots=True)
class Deployment:
    """One entry of ``model_list``: a concrete upstream model behind a public model name."""

    id: str
    #: the public name clients send (``model_name``); deployments sharing it form a model group
    model_group: str
    #: provider prefix of ``litellm_params.model`` (``openai`` in ``openai/gpt-4o``)
    provider: str
    #: the provider's own model name (``gpt-4o`` in ``openai/gpt-4o``)
    model: str
    #: ``litellm_params`` with ``os.environ/`` references already resolved
    params: Mapping[str, Any]
    model_info: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    timeout: float | None = None
    stream_timeout: float | None = None
    #: why this deployment cannot be called (no installed plugin serves its provider ...), or None.
    #: It stays in the config's model groups, ``/health`` lists it as unhealthy with the reason, and
    #: the router never picks it (a call to a group with nothing else answers 503 with the reason)
    unavailable: str | None = None

    @property
    def api_base(self) -> str | None:
        return self.params.get("api_base")

    @property
    def api_key(self) -> str | None:
        return self.params.get("api_key")


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    #: True when the upstream gave no usage and the numbers are an estimate
    estimated: bool = False

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any] | None) -> Usage | None:
        if not usage:
            return None
        get = usage.get
        prompt = int(get("prompt_tokens") or get("input_tokens") or 0)
        completion = int(get("completion_tokens") or get("output_tokens") or 0)
        total = int(get("total_tokens") or prompt + completion)
        details = get("prompt_tokens_details")
        out_details = get("completion_tokens_details")
        if not details and not out_details:  # the common answer: three numbers
            return cls(prompt, completion, total)
        details = details or {}
        out_details = out_details or {}
        return cls(
            prompt,
            completion,
            total,
            int(details.get("cached_tokens") or 0),
            int(details.get("cache_creation_tokens") or 0),
            int(out_details.get("reasoning_tokens") or 0),
        )


class JSONResponseBody:
    """A complete (non-streaming) answer.

    ``data`` is the answer in OpenAI's format, the form every hook reads and may change.  A
    provider whose upstream speaks another format (Anthropic) may hand over its upstream's bytes as
    they came, with ``format`` and ``to_openai`` (builds the OpenAI form): a client that speaks that same format
    then gets those bytes unchanged unless a hook changed the answer, and ``data`` is only built
    when someone reads it.  A plugin that changes ``data`` in place calls :meth:`changed` (or
    assigns ``data``), so stale bytes are never sent.
    """

    __slots__ = ("_raw", "_data", "status", "headers", "format", "_to_openai", "_native_valid")

    def __init__(
        self,
        *,
        raw: bytes | None = None,
        data: dict[str, Any] | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        format: str = "openai",
        to_openai: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        if raw is None and data is None:
            raise ValueError("JSONResponseBody needs raw bytes or data")
        if format != "openai" and (raw is None or to_openai is None):
            raise ValueError("an answer in another format than OpenAI's needs its raw bytes and a to_openai converter")
        self._raw = raw
        self._data = data
        self.status = status
        #: response headers the gateway should pass on to the client
        self.headers: dict[str, str] = headers or {}
        #: the wire format of ``raw``: ``openai``, or the upstream's own (``anthropic``)
        self.format = format
        self._to_openai = to_openai
        self._native_valid = True

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = orjson.loads(self._raw) if self._to_openai is None else self._to_openai()  # type: ignore[arg-type]
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value
        self._native_valid = False
        if self.format == "openai":
            self._raw = None

    def changed(self) -> None:
        """Say that ``data`` was mutated in place, so the cached bytes are stale."""
        self.data  # noqa: B018 - make sure the parsed form exists before dropping the bytes
        self._native_valid = False
        if self.format == "openai":
            self._raw = None

    @property
    def raw(self) -> bytes:
        """The answer as OpenAI-format JSON bytes."""
        if self.format != "openai":
            return orjson.dumps(self.data)
        if self._raw is None:
            self._raw = orjson.dumps(self._data)
        return self._raw

    def native(self, format: str) -> bytes | None:
        """The upstream's own bytes when they are in ``format`` and no hook changed the answer."""
        if self.format == format and self._native_valid and self._raw is not None:
            return self._raw
        return None


class NativeEvents:
    """A stream's upstream events as they came, for a client that speaks the upstream's format.

    The provider adds each raw event (``add``) as it reads it, before the chunks it translates the
    event into; the surface takes them (``take``) as it sends each chunk.  Events that produce no
    chunk (pings, block stops) go out with the next one.
    """

    __slots__ = ("format", "_pending")

    def __init__(self, format: str) -> None:
        self.format = format
        self._pending: list[bytes] = []

    def add(self, event: bytes) -> None:
        self._pending.append(event)

    def take(self) -> bytes:
        pending = self._pending
        if not pending:
            return b""
        self._pending = []
        return b"".join(pending)


class StreamResponseBody:
    """A streamed answer: an async iterator of OpenAI chunk objects (dicts).

    ``post_call`` implementations wrap ``chunks`` with their own async generator to see or change
    every chunk and to act at the end of the stream (after the last chunk); the kernel marks the
    stream ``rewritten`` when one does.  A provider whose upstream speaks another format may also
    keep the upstream's own events in ``native`` (see :class:`NativeEvents`): a client speaking that
    format gets them as they came while no hook rewrote the stream.
    """

    __slots__ = ("chunks", "status", "headers", "_closers", "native", "rewritten")

    def __init__(
        self,
        chunks: AsyncIterator[dict[str, Any]],
        headers: dict[str, str] | None = None,
        native: NativeEvents | None = None,
    ) -> None:
        self.chunks = chunks
        self.status = 200
        self.headers: dict[str, str] = headers or {}
        self._closers: list[Any] = []
        self.native = native
        self.rewritten = False

    def native_events(self, format: str) -> NativeEvents | None:
        """The upstream's own events when they are in ``format`` and no hook rewrote the stream."""
        native = self.native
        return native if native is not None and native.format == format and not self.rewritten else None

    def on_close(self, callback: Any) -> None:
        """Run ``callback()`` (sync or async) when the stream ends, however it ends."""
        self._closers.append(callback)

    async def aclose(self) -> None:
        """Stop reading the upstream and run the ``on_close`` callbacks (the HTTP layer calls this)."""
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # closing must not mask what ended the stream
                pass
        closers, self._closers = self._closers, []  # once, however many times aclose is called
        for callback in closers:
            result = callback()
            if hasattr(result, "__await__"):
                await result


ResponseBody = JSONResponseBody | StreamResponseBody


@dataclass(slots=True)
class Attempt:
    deployment_id: str
    model_group: str
    error: str | None = None
    status: int | None = None


@dataclass(slots=True)
class RequestContext:
    """Everything the pipeline knows about one request; passed to every request hook."""

    #: the gateway's own id for this request (never the client's): log lines, ledger rows and
    #: ``x-litellm-call-id`` carry it
    request_id: str
    endpoint: Endpoint
    #: the JSON object the client sent, in its surface's format (read it; change ``request``)
    body: dict[str, Any]
    #: request headers, lower-case names
    headers: Mapping[str, str]
    client_ip: str | None = None
    #: the client's own ``x-request-id`` when it sent a sane one (recorded and echoed for tracing;
    #: clients may reuse it, so nothing is keyed on it)
    client_request_id: str | None = None
    #: the credential the client presented, if any (never logged)
    api_key: str | None = None
    principal: Principal | None = None
    #: the request, typed (a :class:`gateway.chat.ChatRequest` for chat, a
    #: :class:`gateway.chat.ModelRequest` otherwise); hooks read and change this, not ``body``
    request: ModelRequest | None = None
    #: the name of the surface (wire format) the client spoke: ``openai.chat``, ``anthropic.messages`` ...
    surface: str = ""
    #: the model name the client asked for, before aliases and routing
    requested_model: str = ""
    #: the model group being served (after aliases; a router may change it)
    model_group: str = ""
    stream: bool = False
    #: candidates chosen by ``gateway_route``, in order of preference
    deployments: list[Deployment] = field(default_factory=list)
    #: the deployment serving the current attempt
    deployment: Deployment | None = None
    attempts: list[Attempt] = field(default_factory=list)
    fallbacks_used: int = 0
    response: ResponseBody | None = None
    usage: Usage | None = None
    #: price of the call in USD, set by a pricing plugin (a string-safe Decimal is recommended)
    cost: Any = None
    status: int = 200
    error: BaseException | None = None
    start_time: float = field(default_factory=time.time)
    #: perf_counter timestamps
    started: float = field(default_factory=time.perf_counter)
    upstream_started: float | None = None
    #: when the serving attempt's answer arrived (a stream's first chunk): what the upstream took
    #: is ``upstream_answered - upstream_started``, the rest of the time is the gateway's
    upstream_answered: float | None = None
    first_token_at: float | None = None
    finished: float | None = None
    #: extra response headers plugins want the client to see
    response_headers: dict[str, str] = field(default_factory=dict)
    #: scratch space: ``state[plugin_name]`` belongs to that plugin
    state: dict[str, Any] = field(default_factory=dict)
    #: decisions worth logging (router explanation, guardrail outcomes ...), by plugin name
    annotations: dict[str, Any] = field(default_factory=dict)

    @property
    def is_streaming(self) -> bool:
        return self.stream


@dataclass(slots=True)
class Alert:
    """An operational event worth telling a human about (see ``gateway_alert``)."""

    #: ``deployment_cooldown``, ``soft_budget_crossed``, ``budget_exceeded``, ``sink_dropping`` ...
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "details": self.details, "time": self.time}


@dataclass(slots=True)
class LogEvent:
    """What ``gateway_log`` receives: the finished request, after the client got its answer.

    ``ctx`` is the live request context (read it, never change it).  :meth:`to_dict` is the stable,
    versioned payload every sink exports, documented field by field in ``docs/log-event.md``:
    ids, timings (total, upstream, overhead, time to first token), model group / deployment /
    provider, the principal (key alias and key hash, never the key), team, user, end user, usage,
    cost, status and error class, attempts/retries/fallbacks, route decision and guardrail
    outcomes (from ``ctx.annotations``), metadata and tags, and the messages and response unless
    redaction is configured.  Strings are valid UTF-8 and cut to the configured sizes.

    ``schema_version`` changes only when a field's meaning changes; new fields may be added.
    """

    ctx: RequestContext
    schema_version: int = 1

    def to_dict(self, options: Any = None) -> dict[str, Any]:
        """The payload (see docs/log-event.md); ``options`` is a ``gateway.sinks.PayloadOptions``.

        Without options: content included, principal not redacted, default size limits.  The
        sink framework passes the options built from ``litellm_settings`` (``turn_off_message_logging``,
        ``redact_user_api_key_info``) and ``plugins.sinks``.
        """
        # imported here so that importing ``types`` does not load the chat model the payload reads
        from gateway._log_payload import DEFAULT_OPTIONS, build_payload

        return build_payload(self, options or DEFAULT_OPTIONS)
