"""Finding the text in requests and answers of every endpoint, and writing masked text back.

A :class:`Slot` points at one string inside a body (``container[key]``), so a guardrail's masked
texts are written back exactly where they came from and everything else (images, tool
definitions, unknown fields) is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.chat import ChatRequest, File, Image, ModelRequest, Opaque, Text, ToolResult

#: content-part types that carry text, by API (OpenAI chat, OpenAI responses, Anthropic)
TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass(slots=True)
class Slot:
    """One text: ``container[key]`` in a JSON body, or the ``text`` of a typed part (``key`` None)."""

    container: Any
    key: Any
    role: str
    message_index: int

    def get(self) -> str:
        if self.key is None:
            return self.container.text  # type: ignore[no-any-return]
        return self.container[self.key]  # type: ignore[no-any-return]

    def set(self, value: str) -> None:
        if self.key is None:
            self.container.text = value
        else:
            self.container[self.key] = value


@dataclass(slots=True)
class Extracted:
    slots: list[Slot]
    #: parts that are not text (images, audio, files)
    non_text_parts: int = 0

    @property
    def texts(self) -> list[str]:
        return [slot.get() for slot in self.slots]


def _message_slots(messages: list[Any], out: Extracted, first_index: int = 0) -> None:
    for index, message in enumerate(messages, start=first_index):
        if not isinstance(message, dict):
            continue
        role = str(message.get("role") or "user")
        content = message.get("content")
        if isinstance(content, str):
            out.slots.append(Slot(message, "content", role, index))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, str):
                    continue  # not a valid part; nothing to point at safely
                if not isinstance(part, dict):
                    continue
                if part.get("type") in TEXT_PART_TYPES and isinstance(part.get("text"), str):
                    out.slots.append(Slot(part, "text", role, index))
                elif part.get("type") == "tool_result" and isinstance(part.get("content"), str):
                    out.slots.append(Slot(part, "content", role, index))
                else:
                    out.non_text_parts += 1


def request_texts(request: ModelRequest | None) -> Extracted:
    """The text slots of a live request: a masked text is written into the typed request, so it is
    what every provider encodes.  Chat: the text parts of every message, tool results' included;
    completions and embeddings: the prompt or the inputs."""
    if isinstance(request, ChatRequest):
        out = Extracted([])
        for index, message in enumerate(request.messages):
            _part_slots(message.parts, message.role, index, out)
        return out
    if request is None:
        return Extracted([])
    return body_texts("completions" if "prompt" in request.body else "embeddings", request.body)


def _part_slots(parts: list[Any], role: str, index: int, out: Extracted) -> None:
    for part in parts:
        if isinstance(part, Text):
            out.slots.append(Slot(part, None, role, index))
        elif isinstance(part, ToolResult):
            _part_slots(part.parts, "tool", index, out)
        elif isinstance(part, (Image, File, Opaque)):
            out.non_text_parts += 1


def body_texts(endpoint: str, body: dict[str, Any]) -> Extracted:
    """The text slots of a JSON request body (chat, Anthropic messages, completions, embeddings):
    for copies made for logging, and for prompts (which have no typed parts)."""
    out = Extracted([])
    if endpoint in ("chat", "messages"):
        system = body.get("system")  # Anthropic's top-level system prompt
        if isinstance(system, str):
            out.slots.append(Slot(body, "system", "system", -1))
        elif isinstance(system, list):
            _message_slots([{"role": "system", "content": system}], out, first_index=-1)
        messages = body.get("messages")
        if isinstance(messages, list):
            _message_slots(messages, out)
    elif endpoint in ("completions", "embeddings"):
        field = "prompt" if endpoint == "completions" else "input"
        value = body.get(field)
        if isinstance(value, str):
            out.slots.append(Slot(body, field, "user", 0))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    out.slots.append(Slot(value, i, "user", i))
                else:
                    out.non_text_parts += 1  # token ids: nothing a text guardrail can read
    return out


def select_slots(slots: list[Slot], *, skip_system: bool, latest_user_only: bool) -> list[Slot]:
    """Apply ``skip_system_message_in_guardrail`` / ``experimental_use_latest_role_message_only``."""
    if skip_system:
        slots = [s for s in slots if s.role not in ("system", "developer")]
    if latest_user_only:
        users = [s for s in slots if s.role == "user"]
        if users:
            last = users[-1].message_index
            slots = [s for s in users if s.message_index == last]
    return slots


def response_texts(endpoint: str, data: dict[str, Any]) -> Extracted:
    """The text slots of a complete answer: message contents, text completions, Anthropic blocks."""
    out = Extracted([])
    choices = data.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
            message = choice.get("message")
            if isinstance(message, dict):
                if isinstance(message.get("content"), str):
                    out.slots.append(Slot(message, "content", "assistant", index))
                elif isinstance(message.get("content"), list):
                    _message_slots([{"role": "assistant", "content": message["content"]}], out, first_index=index)
            elif isinstance(choice.get("text"), str):
                out.slots.append(Slot(choice, "text", "assistant", index))
    elif endpoint == "messages" and isinstance(data.get("content"), list):
        _message_slots([{"role": "assistant", "content": data["content"]}], out)
    return out


def chunk_deltas(chunk: dict[str, Any]) -> list[Slot]:
    """The text deltas of one streamed chat/completions chunk (one slot per choice with text)."""
    slots: list[Slot] = []
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return slots
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if isinstance(delta.get("content"), str) and delta["content"]:
                slots.append(Slot(delta, "content", "assistant", index))
        elif isinstance(choice.get("text"), str) and choice["text"]:
            slots.append(Slot(choice, "text", "assistant", index))
    return slots
