"""The content filter: every rule compiled once at start-up into a few regular expressions.

A check is one ``search`` per blocking expression and one ``sub`` per masking rule, so the cost
per request is microseconds for typical prompts and linear in the text for large ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.guardrails import Guardrail, GuardrailConfigError, GuardrailResult, GuardrailSpec, TextBatch

from .prebuilt import PREBUILT

Action = Literal["BLOCK", "MASK"]


class Pattern(BaseModel):
    """One ``patterns:`` item (LiteLLM's shape)."""

    model_config = ConfigDict(extra="forbid")

    pattern_type: Literal["prebuilt", "regex"] = "regex"
    pattern_name: str | None = None
    pattern: str | None = None
    name: str | None = None
    action: Action = "BLOCK"


class BlockedWord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keyword: str = Field(min_length=1)
    action: Action = "BLOCK"
    description: str | None = None


class ContentFilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: words or phrases, matched as whole words; strings block, objects choose BLOCK or MASK
    blocked_words: list[str | BlockedWord] = Field(default_factory=list)
    #: a file with one blocked word per line (read once at start-up; ``#`` starts a comment)
    blocked_words_file: str | None = None
    #: prebuilt patterns by name, or your own regular expressions
    patterns: list[Pattern] = Field(default_factory=list)
    #: topic -> word list: a request mentioning any word is refused naming the topic
    blocked_topics: dict[str, list[str]] = Field(default_factory=dict)
    case_sensitive: bool = False
    #: what a masked match becomes; ``{name}`` is the rule's name in upper case
    mask_replacement: str = "[{name}_REDACTED]"

    @field_validator("blocked_topics")
    @classmethod
    def _topics_have_words(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for topic, words in value.items():
            if not [w for w in words if w.strip()]:
                raise ValueError(f"topic {topic!r} has no words; list the words that identify it")
        return value


@dataclass(slots=True)
class Rule:
    name: str
    regex: re.Pattern[str]
    #: what the client is told (``keyword``, ``pattern``, ``topic``)
    kind: str
    #: for masking rules: the replacement, escaped for ``re.sub``
    replacement: str = ""


def _words_regex(words: list[str], flags: int) -> re.Pattern[str]:
    # longest first so "credit card number" wins over "credit card"; \b only where the word has a word edge
    parts = []
    for word in sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True):
        escaped = re.escape(word)
        left = r"\b" if re.match(r"\w", word) else ""
        right = r"\b" if re.search(r"\w$", word) else ""
        parts.append(f"{left}{escaped}{right}")
    return re.compile("|".join(parts), flags)


def _read_words(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GuardrailConfigError(f"{path!r} cannot be read: {exc.strerror or exc}", "blocked_words_file") from exc
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def compile_rules(params: ContentFilterParams) -> tuple[list[Rule], list[Rule], WordIndex | None]:
    """``(blocking patterns, masking rules, blocking word index)``; raises naming a bad pattern."""
    flags = 0 if params.case_sensitive else re.IGNORECASE
    blocking: list[Rule] = []
    masking: list[Rule] = []
    owners: dict[str, tuple[str, str]] = {}
    words = [
        w if isinstance(w, str) else w.keyword
        for w in params.blocked_words
        if isinstance(w, str) or w.action == "BLOCK"
    ]
    if params.blocked_words_file:
        words += _read_words(params.blocked_words_file)
    for word in words:
        owners.setdefault(word.strip(), ("blocked_word", "keyword"))
    for topic, topic_words in params.blocked_topics.items():
        for word in topic_words:
            owners.setdefault(word.strip(), (topic, "topic"))
    index = WordIndex(owners, params.case_sensitive) if any(owners) else None
    for word in params.blocked_words:
        if isinstance(word, BlockedWord) and word.action == "MASK":
            masking.append(Rule(word.keyword, _words_regex([word.keyword], flags), "keyword"))
    for position, pattern in enumerate(params.patterns):
        if pattern.pattern_type == "prebuilt":
            source = PREBUILT.get(pattern.pattern_name or "")
            if source is None:
                raise GuardrailConfigError(
                    f"unknown prebuilt pattern {pattern.pattern_name!r}; choose one of {', '.join(sorted(PREBUILT))}",
                    "patterns",
                    position,
                )
            name = pattern.name or pattern.pattern_name or "pattern"
            compiled = re.compile(source)  # prebuilt patterns carry their own case rules
        else:
            if not pattern.pattern:
                raise GuardrailConfigError(
                    "a regex pattern needs 'pattern: <regular expression>'", "patterns", position
                )
            name = pattern.name or pattern.pattern_name or f"pattern_{position}"
            try:
                compiled = re.compile(pattern.pattern, flags)
            except re.error as exc:
                raise GuardrailConfigError(
                    f"{pattern.pattern!r} is not a valid regular expression: {exc}", "patterns", position
                ) from exc
        (blocking if pattern.action == "BLOCK" else masking).append(Rule(name, compiled, "pattern"))
    return blocking, masking, index


class WordIndex:
    """Every blocked word and topic word in one expression, so a text is scanned once.

    Case-insensitive lists are matched against the lower-cased text with a case-sensitive
    expression: several times faster in Python's ``re`` than ``IGNORECASE``.
    """

    def __init__(self, owners: dict[str, tuple[str, str]], case_sensitive: bool) -> None:
        self.case_sensitive = case_sensitive
        self.owners = {
            (normalized(w) if case_sensitive else normalized(w).lower()): owner for w, owner in owners.items() if w
        }
        self.regex = _words_regex(list(self.owners), 0)

    def find(self, text: str) -> tuple[str, str] | None:
        """``(rule name, kind)`` of the first blocked word in ``text``, or None."""
        found = self.regex.search(text if self.case_sensitive else text.lower())
        return None if found is None else self.owners[found.group(0)]


def normalized(text: str) -> str:
    """NFC, so that 'e' + combining accent matches a word list written with 'é'."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


class ContentFilter(Guardrail):
    """Blocks or masks text matching keywords, regular expressions or blocked topics."""

    params_model = ContentFilterParams

    def __init__(self, spec: GuardrailSpec, gateway: object) -> None:
        super().__init__(spec, gateway)  # type: ignore[arg-type]
        self.blocking, self.masking, self.words = compile_rules(spec.params)
        if not self.blocking and not self.masking and self.words is None:
            raise ValueError("the content filter has no rules; add blocked_words, patterns or blocked_topics")
        for rule in self.masking:
            try:
                text = spec.params.mask_replacement.format(name=rule.name.upper())
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"mask_replacement may only use {{name}}: {exc}") from exc
            rule.replacement = text.replace("\\", "\\\\")

    async def check(self, batch: TextBatch) -> GuardrailResult:
        texts = [normalized(t) for t in batch.texts]
        for text in texts:
            if self.words is not None:
                owner = self.words.find(text)
                if owner is not None:
                    return GuardrailResult.blocked(
                        f"Content blocked: {owner[0]} {owner[1]} detected", rule=owner[0], kind=owner[1]
                    )
            for rule in self.blocking:
                if rule.regex.search(text):
                    reason = f"Content blocked: {rule.name} {rule.kind} detected"
                    return GuardrailResult.blocked(reason, rule=rule.name, kind=rule.kind)
        if not self.masking:
            return GuardrailResult.passed()
        counts: dict[str, int] = {}
        masked = []
        for text in texts:
            for rule in self.masking:
                text, found = rule.regex.subn(rule.replacement, text)
                if found:
                    counts[rule.name] = counts.get(rule.name, 0) + found
            masked.append(text)
        if counts:
            return GuardrailResult.masked(masked, masked_counts=counts)
        return GuardrailResult.passed()
