"""Which text of a request is judged: the newest human ask, bounded, without agent boilerplate.

It reads the typed request (``ctx.request``), so every surface's clients are judged alike:

* chat: the last ``user`` message with text (its text parts; tool results are not an ask);
  ``<system-reminder>…</system-reminder>`` blocks that coding agents inject are removed;
* completions: ``prompt`` (a string, or the last string of a list);
* system prompt (the first ``system`` or ``developer`` message): only read when the router is
  configured to use it.

Long texts are never copied or scanned whole: only a head and a tail (what the classifier scores)
are cut out, and the full length is reported separately for the token estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.chat import ChatRequest, Message, ModelRequest, Text

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


@dataclass(slots=True)
class Ask:
    """The text to classify: ``text`` (possibly head + tail only) and the full length in characters."""

    text: str
    total_chars: int
    system: str = ""


def _cut(texts: list[str], head: int, tail: int) -> tuple[str, int]:
    """The text parts of one message, cut to head + tail when long; and their full length."""
    if len(texts) == 1:
        content = texts[0]
        length = len(content)
        if length > head + tail:
            return content[:head] + "\n" + content[length - tail :], length
        return content, length
    length = sum(len(t) for t in texts)
    if length <= head + tail:
        return "\n".join(texts), length
    first, last = "", ""
    for text in texts:  # the first `head` characters, then the last `tail`, without joining everything
        if len(first) >= head:
            break
        first += text[: head - len(first)] + "\n"
    for text in reversed(texts):
        if len(last) >= tail:
            break
        last = text[max(0, len(text) - (tail - len(last))) :] + "\n" + last
    return first + last, length


def _texts(message: Message) -> list[str]:
    """The message's own text parts (tool results, images and files are not the ask)."""
    return [part.text for part in message.parts if isinstance(part, Text)]


def _strip_reminders(text: str) -> str:
    return _REMINDER.sub(" ", text) if "<system-reminder>" in text else text


def _prompt(request: ModelRequest) -> Any:
    """A completions ``prompt`` as the hooks left it (no typed field holds it)."""
    return (request.extra if request.extra_touched else request.body).get("prompt")


def newest_ask(request: ModelRequest, head: int, tail: int, *, with_system: bool = False) -> Ask | None:
    """The ask to classify, or None when the request has no text to judge."""
    if not isinstance(request, ChatRequest):  # completions; embeddings have no prompt, so no ask
        prompt = _prompt(request)
        if isinstance(prompt, list):
            prompt = next((p for p in reversed(prompt) if isinstance(p, str)), None)
        if not isinstance(prompt, str) or not prompt.strip():
            return None
        text, length = _cut([prompt], head, tail)
        return Ask(text, length)
    messages = request.messages
    ask: Ask | None = None
    for message in reversed(messages):
        if message.role != "user":
            continue
        text, length = _cut(_texts(message), head, tail)
        text = _strip_reminders(text)
        if text and not text.isspace():
            ask = Ask(text, length)
            break
    if ask is None:
        return None
    if with_system:
        # OpenAI system/developer messages; an Anthropic top-level ``system`` is decoded as one too
        system = next((m for m in messages if m.role in ("system", "developer")), None)
        if system is not None:
            ask.system = _cut(_texts(system), head, tail)[0]
    return ask
