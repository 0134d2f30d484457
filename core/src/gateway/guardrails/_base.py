"""What a guardrail is: the base class plugins subclass, what it is given and what it answers.

A guardrail sees text, never HTTP: the framework pulls the texts out of every endpoint format
(chat messages, text prompts, embedding inputs, response choices, stream deltas), hands them to
the guardrail as a :class:`TextBatch`, and applies the :class:`GuardrailResult` (pass, replace the
texts, or refuse the request).  Timeouts, failure policies, modes, selection, streaming policies
and recording outcomes are the framework's job, so a vendor plugin is mostly one HTTP call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import RequestContext
    from gateway.guardrails._settings import GuardrailSettings

Outcome = Literal["passed", "masked", "blocked"]
Direction = Literal["input", "output"]


class NoParams(BaseModel):
    """The params model of a guardrail type that takes no provider-specific keys."""

    model_config = ConfigDict(extra="forbid")


@dataclass(slots=True)
class TextBatch:
    """The texts one check looks at, in document order.

    ``roles[i]`` is the chat role ``texts[i]`` came from (``user``, ``system``, ``assistant``,
    ``tool``; ``user`` for prompts and embedding inputs, ``assistant`` for model output).
    ``message_index[i]`` groups texts that belong to one message (multi-part content).
    For stream windows, ``context[i]`` is text that came just before ``texts[i]`` and was already
    sent: use it to detect something split across windows, never return it in a mask.
    """

    texts: list[str]
    roles: list[str]
    direction: Direction
    ctx: RequestContext
    message_index: list[int] = field(default_factory=list)
    context: list[str] | None = None
    #: non-text parts (images, audio, files) the request carries; they are never sent to a guardrail
    non_text_parts: int = 0
    #: True when this batch is one window of a stream (``check_stream``)
    streaming: bool = False

    def joined(self, separator: str = "\n") -> str:
        return separator.join(self.texts)

    def request_messages(self) -> list[dict[str, str]]:
        """The request's text as OpenAI-style messages (after pre_call masks): the conversation an
        output check belongs to, for vendors that screen whole interactions."""
        from gateway.guardrails._content import request_texts

        slots = request_texts(self.ctx.request).slots
        batch = TextBatch(
            [s.get() for s in slots],
            [s.role for s in slots],
            "input",
            self.ctx,
            message_index=[s.message_index for s in slots],
        )
        return batch.messages()

    def messages(self) -> list[dict[str, str]]:
        """The texts as OpenAI-style ``[{role, content}]`` messages (parts of one message joined)."""
        out: list[dict[str, str]] = []
        last = None
        indexes = self.message_index or list(range(len(self.texts)))
        for text, role, index in zip(self.texts, self.roles, indexes, strict=False):
            if index == last and out:
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": role, "content": text})
            last = index
        return out


@dataclass(slots=True)
class GuardrailResult:
    """What a check decided.  Build it with :meth:`passed`, :meth:`masked` or :meth:`blocked`.

    ``details`` is recorded in the log event (``ctx.annotations["guardrails"]``) and, for a block,
    returned to the client in ``provider_specific_fields``: put counts, labels and vendor verdicts
    there, never the sensitive text itself.
    """

    outcome: Outcome
    #: for ``masked``: the replacement for every text of the batch, same length and order
    texts: list[str] | None = None
    #: for ``blocked``: the error message the client sees
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, **details: Any) -> GuardrailResult:
        return cls("passed", details=details)

    @classmethod
    def masked(cls, texts: list[str], **details: Any) -> GuardrailResult:
        return cls("masked", texts=texts, details=details)

    @classmethod
    def blocked(cls, message: str, **details: Any) -> GuardrailResult:
        return cls("blocked", message=message, details=details)


class GuardrailUnavailable(Exception):
    """The guardrail could not decide (vendor down, timeout, malformed answer).

    The framework applies the guardrail's ``on_error`` policy: ``fail_closed`` refuses the request
    (HTTP 503), ``fail_open`` lets it through and records the error.  Any other exception a check
    raises is treated the same way (and logged as a bug).
    """


class GuardrailConfigError(ValueError):
    """Raised by a guardrail factory for a config mistake; ``key`` locates it under ``litellm_params``.

    ``GuardrailConfigError("not a valid regex", "patterns", 0)`` is reported with the line of
    ``patterns[0]``.  A plain ``ValueError`` is reported at the entry's ``litellm_params``.
    """

    def __init__(self, message: str, *key: str | int) -> None:
        super().__init__(message)
        self.key = key


class OutputRewriter:
    """Rewrites the model's output text after the checks ran (for example: un-masking).

    :meth:`rewrite` handles a whole text; :meth:`feed`/:meth:`flush` handle a stream, where one
    instance sees the deltas of one choice in order and may hold text back until it can decide
    (a placeholder split across chunks).  ``feed`` returns what may be sent now.
    """

    def rewrite(self, text: str) -> str:
        return text

    def feed(self, delta: str) -> str:
        return delta

    def flush(self) -> str:
        return ""

    def fresh(self) -> OutputRewriter:
        """A rewriter with the same settings and no stream state (one per streamed choice)."""
        return self


@dataclass(slots=True)
class GuardrailSpec:
    """One validated ``guardrails:`` entry, handed to a guardrail factory."""

    name: str
    #: the ``guardrail:`` type (``presidio``)
    type: str
    settings: GuardrailSettings
    #: the provider-specific keys, validated against the factory's ``params_model``
    params: Any
    #: ``guardrail_info`` as written (a description for admins)
    info: dict[str, Any] | None = None


class Guardrail:
    """Base class of every guardrail type.

    Subclass it, set ``params_model`` (a pydantic model with ``extra="forbid"`` for the
    provider-specific ``litellm_params`` keys) and implement :meth:`check`, or the more specific
    :meth:`check_input` / :meth:`check_output` / :meth:`check_stream`.  Register the class from
    ``gateway_register_guardrails``: ``register("my_type", MyGuardrail)``.

    Checks run on the event loop: do network I/O with ``await`` (``self.gateway.upstream``) and
    move CPU-heavy work to a thread (``asyncio.to_thread``).
    """

    #: provider-specific ``litellm_params`` keys, validated at start-up
    params_model: ClassVar[type[BaseModel]] = NoParams
    #: the modes this type can run in; other modes are a start-up error
    supported_modes: ClassVar[frozenset[str]] = frozenset({"pre_call", "during_call", "post_call", "logging_only"})

    def __init__(self, spec: GuardrailSpec, gateway: Gateway) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = spec.settings
        self.params = spec.params
        self.gateway = gateway

    async def start(self) -> None:
        """Open resources (engines, warm-ups) when the gateway starts serving."""

    async def close(self) -> None:
        """Release what :meth:`start` opened."""

    async def check(self, batch: TextBatch) -> GuardrailResult:
        """Decide about ``batch``; the default for input, output and stream windows."""
        raise NotImplementedError(f"guardrail type {self.spec.type!r} implements no check")

    async def check_input(self, batch: TextBatch) -> GuardrailResult:
        return await self.check(batch)

    async def check_output(self, batch: TextBatch) -> GuardrailResult:
        return await self.check(batch)

    async def check_stream(self, batch: TextBatch) -> GuardrailResult:
        """One window of a streamed answer (``batch.streaming`` is true, ``context`` is set)."""
        return await self.check_output(batch)

    def output_rewriter(self, ctx: RequestContext) -> OutputRewriter | None:
        """A rewriter for this request's output (called after the input checks), or None."""
        return None
