"""What an Anthropic-format request carries that OpenAI's chat format has no field for.

``POST /v1/messages`` translates the client's Anthropic request into an OpenAI chat body so it
runs through the same pipeline as every other request.  Some of its content has no OpenAI
equivalent (``cache_control`` breakpoints, signed ``thinking`` blocks, ``is_error`` on tool
results, ``top_k``, ``thinking``), and OpenAI-format upstreams refuse unknown fields, so it cannot
ride along in the body.  It is kept here, in ``ctx.state["anthropic"]``, keyed by positions in
the OpenAI body, and the Anthropic provider puts it back when the request is served by an
``anthropic/...`` deployment.

A ``pre_call`` plugin may rewrite the messages (a guardrail masking text keeps their number;
one that inserts a message does not).  The extras are applied only while the number of messages
is unchanged; otherwise they are skipped, which costs at most a prompt-cache hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ``ctx.state`` key (the plugin's entry-point name)
STATE_KEY = "anthropic"


@dataclass(slots=True)
class AnthropicExtras:
    """Anthropic-only details of one request, by position in the translated OpenAI body."""

    message_count: int
    #: (message index, content part index) -> ``cache_control``
    part_cache: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    #: message index -> ``cache_control`` of the whole message (a ``tool_result`` block)
    message_cache: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: tool index -> ``cache_control``
    tool_cache: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: assistant message index -> its ``thinking`` / ``redacted_thinking`` blocks (signatures intact)
    thinking: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: indexes of ``tool`` messages whose result had ``is_error: true``
    tool_errors: set[int] = field(default_factory=set)
    #: top-level Anthropic parameters with no OpenAI equivalent (``top_k``, ``thinking``)
    params: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, messages: Any) -> bool:
        return isinstance(messages, list) and len(messages) == self.message_count


#: used when a request has no extras, or its messages changed since they were recorded
NO_EXTRAS = AnthropicExtras(message_count=-1)


def extras_for(state: dict[str, Any]) -> AnthropicExtras | None:
    """The extras recorded for this request by ``POST /v1/messages``, if any."""
    found = state.get(STATE_KEY)
    extras = found.get("extras") if isinstance(found, dict) else None
    return extras if isinstance(extras, AnthropicExtras) else None
