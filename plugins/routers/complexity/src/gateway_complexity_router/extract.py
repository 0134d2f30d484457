"""Which text of a request is judged: the newest human ask, bounded, without agent boilerplate.

* chat: the last ``user`` message with text (string content, or the ``text`` parts of a list);
  ``<system-reminder>…</system-reminder>`` blocks that coding agents inject are removed;
* completions: ``prompt`` (a string, or the last string of a list);
* system prompt: only read when the router is configured to use it.

Long texts are never copied or scanned whole: only a head and a tail (what the classifier scores)
are cut out, and the full length is reported separately for the token estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


@dataclass(slots=True)
class Ask:
    """The text to classify: ``text`` (possibly head + tail only) and the full length in characters."""

    text: str
    total_chars: int
    system: str = ""


def _parts_text(content: Any, head: int, tail: int) -> tuple[str, int]:
    """Text of a message content (string or parts), cut to head + tail when long; and its full length."""
    if isinstance(content, str):
        length = len(content)
        if length > head + tail:
            return content[:head] + "\n" + content[length - tail :], length
        return content, length
    if not isinstance(content, list):
        return "", 0
    texts = [
        p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    ]
    if len(texts) == 1:
        return _parts_text(texts[0], head, tail)
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


def _strip_reminders(text: str) -> str:
    return _REMINDER.sub(" ", text) if "<system-reminder>" in text else text


def newest_ask(body: dict[str, Any], endpoint: str, head: int, tail: int, *, with_system: bool = False) -> Ask | None:
    """The ask to classify, or None when the request has no text to judge."""
    if endpoint == "completions":
        prompt = body.get("prompt")
        if isinstance(prompt, list):
            prompt = next((p for p in reversed(prompt) if isinstance(p, str)), None)
        if not isinstance(prompt, str) or not prompt.strip():
            return None
        text, length = _parts_text(prompt, head, tail)
        return Ask(text, length)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    ask: Ask | None = None
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        text, length = _parts_text(message.get("content"), head, tail)
        text = _strip_reminders(text)
        if text and not text.isspace():
            ask = Ask(text, length)
            break
    if ask is None:
        return None
    if with_system:
        system = next((m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")), None)
        if system is not None:
            ask.system = _parts_text(system.get("content"), head, tail)[0]
    return ask
