"""Separate the instruction from the material it operates on (issue 23).

A prompt such as "Fix the typo in this paragraph:\\n\\n<a paragraph about distributed consensus>"
asks for a trivial edit; the paragraph's technical words say nothing about how hard the task is.
So the prompt is cut into

* **material**: fenced code blocks, quoted spans (``"..."``, ``'...'``, ``“...”``, ``«...»``,
  ``「...」``, inline ```...```), ``>`` quoted lines, the paragraphs pasted between an introducing
  line ("... below:", "Here is the e-mail:") and a closing question, and what follows the colon of a
  one-line "<verb> this <thing>: <text>";
* **instruction**: the rest.

The classifier scores the instruction, and lets the material count only as far as the instruction
asks to work on it (see :mod:`gateway_complexity_router.classifier`).  A short quoted word is
material too: in "Is 'rate limiting' one word or two?" the words are mentioned, not used.

Cost: a few ``str.find``/``in`` checks on the (already bounded) window; the regular expressions run
only when their opening character is present.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
#: a quote opens after a non-word character and closes before one ("what's" is not a quote); a span
#: never contains its own opening mark, so unclosed marks cost one linear scan, not one per mark
_QUOTES = re.compile(
    r"(?<![\w])'[^'\n]{1,400}'(?![\w])|\"[^\"]{1,4000}\"|“[^“”]{1,4000}”|«[^«»]{1,4000}»|„[^„“”]{1,4000}[“”]"
    r"|「[^「」]{1,4000}」|`[^`\n]{1,400}`"
)
_QUOTE_CHARS = ("'", '"', "“", "«", "„", "「", "`")
#: words before a colon that point at material after it ("this paragraph:", "the following:")
_DEICTIC = re.compile(
    r"\b(?:this|these|that|the following|following|below|attached|here is|here's|here are|text|sentence|line|"
    r"paragraph|title|e-?mail|message|snippet|log|traceback|notes|document|capitali[sz]e|lowercase|uppercase|"
    r"title case|translate|summari[sz]e|rewrite|proofread)\b"
)
#: a short head paragraph that introduces pasted material
_INTRO_LIMIT = 300


def split(text: str) -> tuple[str, str]:
    """``(instruction, material)`` of a lower-cased prompt; material is ``""`` when there is none."""
    material: list[str] = []
    if "```" in text:
        material.extend(_FENCE.findall(text))
        text = _FENCE.sub(" ", text)
    if any(q in text for q in _QUOTE_CHARS):
        found = _QUOTES.findall(text)
        if found:
            material.extend(found)
            text = _QUOTES.sub(" ", text)
    if "\n>" in text or text.startswith(">"):
        lines = text.split("\n")
        material.extend(line for line in lines if line.lstrip().startswith(">"))
        text = "\n".join(line for line in lines if not line.lstrip().startswith(">"))
    if "\n\n" in text:
        text = _paragraphs(text, material)
    else:
        colon = text.find(":")
        if 0 < colon < 160 and len(text) - colon > 20 and _DEICTIC.search(text, 0, colon):
            rest = text[colon + 1 :]
            # "Here is our deployment: <what it is>. Review it for security." keeps the closing ask
            end = rest.rfind(". ", 0, len(rest) - 2)
            if end > 0 and len(rest) - end < _INTRO_LIMIT:
                material.append(rest[: end + 1])
                text = text[: colon + 1] + rest[end + 1 :]
            else:
                material.append(rest)
                text = text[: colon + 1]
    return text, "\n".join(material)


def _paragraphs(text: str, material: list[str]) -> str:
    """Keep the introducing paragraph(s) and a short closing one; the long middle is material."""
    parts = [p for p in text.split("\n\n") if p.strip()]
    if len(parts) < 2:
        return text
    head = parts[0]
    introduces = len(head) <= _INTRO_LIMIT and (head.rstrip().endswith(":") or _DEICTIC.search(head) is not None)
    if not introduces:
        return text
    kept = [head]
    rest = parts[1:]
    last = rest[-1]
    # a short closing line is the ask ("What's the tracking code?"), not the tail of a code listing
    if len(rest) > 1 and len(last) <= _INTRO_LIMIT and not last[:1].isspace() and "\n" not in last.strip():
        kept.append(last)
        rest = rest[:-1]
    material.extend(rest)
    return "\n\n".join(kept)
