"""The local prompt classifier: a weighted sum of a few explainable signals -> a tier.

Everything that can be prepared is prepared once (:class:`Classifier` is built at start-up); the
request path lower-cases at most ``score_prefix_chars + score_suffix_chars`` characters, splits
them into a set of words with one ``bytes.translate`` and one ``split`` (both in C), intersects
that set with the keyword sets, and confirms the few phrases whose words are all present.  The
token estimate uses the whole length, which is free.  So a 1 MB prompt costs what a 6 kB one
does.

Dimensions (each scored on a small fixed scale, then multiplied by its weight):

=====================  ==================================================================  ======
dimension              score                                                               weight
=====================  ==================================================================  ======
``tokenCount``         -1 under ``token_thresholds.simple``, +1 over ``.complex``, else 0   0.10
``codePresence``       code keywords or syntax: 1 hit 0.5, 2+ hits 1.0                      0.30
``reasoningMarkers``   "step by step", "prove", "trade-offs" ...: 1 hit 0.7, 2+ hits 1.0    0.25
``technicalTerms``     "architecture", "latency" ...: 2-3 hits 0.5, 4+ hits 1.0             0.25
``simpleIndicators``   "what is", "hello", "thanks" ...: any hit -1.0                       0.05
``multiStepPatterns``  numbered lists, "first ... then", "step 2": 1 kind 0.5, 2+ kinds 1.0 0.03
``questionComplexity`` more than 3 question marks: 0.5                                      0.02
``mathematics``        "integral", "probability", "prime" ...: 1 hit 0.5, 2+ hits 1.0       0.25
=====================  ==================================================================  ======

Then, in order: ``keyword_tier_rules`` (a hit makes the tier at least the rule's tier); the
reasoning override (2+ reasoning markers and a score of at least ``reasoning_override_min_score``
-> REASONING); otherwise the score through ``tier_boundaries``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import keywords as kw
from .config import TIERS, ComplexityRouterConfig, Tier

#: ASCII punctuation (except the word characters of c++, c#, snake_case) -> space, for bytes.translate
_SEPARATORS = bytes(
    32 if chr(i) in string.punctuation and chr(i) not in "+#_" else i for i in range(256)
)
_MULTI_STEP = (
    ("numbered list", re.compile(r"\n[ \t]*\d{1,2}[.)][ \t]")),
    ("lettered list", re.compile(r"\n[ \t]*[a-h]\)[ \t]")),
    ("step n", re.compile(r"step[ \t]*\d")),
)
_MATH_SYNTAX = ("^2", "^3", "^n", "∫", "√", "≤", "≥", "∑", "π", "≡")
_CODE_SYNTAX = ("```", "def ", "=>", "();", "{\n", "#include", "select ", "console.log", "print(", "</")


def _words(text: str) -> set[bytes]:
    return set(text.encode().translate(_SEPARATORS).split())


@dataclass(slots=True)
class KeywordSet:
    """One dimension's keywords, split by how they are matched."""

    words: frozenset[bytes]
    #: (words that must all be present, the phrase to confirm as a substring)
    phrases: tuple[tuple[frozenset[bytes], str], ...]
    #: CJK and other keywords with no word boundaries: substring matches on non-ASCII text
    substrings: tuple[str, ...]
    #: word form -> the keyword it came from, for explanations
    origin: dict[bytes, str]

    @classmethod
    def build(cls, keywords: Iterable[str], *, inflect: bool = True) -> KeywordSet:
        words: set[bytes] = set()
        phrases: list[tuple[frozenset[bytes], str]] = []
        substrings: list[str] = []
        origin: dict[bytes, str] = {}
        for keyword in dict.fromkeys(k.strip().lower() for k in keywords if k.strip()):
            parts = _words(keyword)
            if not any(c.isascii() for c in keyword):
                substrings.append(keyword)  # CJK: no spaces between words, so no word boundaries
            elif parts == {keyword.encode()}:
                for form in kw.word_forms(keyword) if inflect else (keyword,):
                    encoded = form.encode()
                    words.add(encoded)
                    origin.setdefault(encoded, keyword)
            else:
                phrases.append((frozenset(parts), keyword))
        return cls(frozenset(words), tuple(phrases), tuple(substrings), origin)

    def matches(self, tokens: set[bytes], text: str, ascii_only: bool) -> list[str]:
        found = [self.origin[t] for t in self.words.intersection(tokens)]
        for needed, phrase in self.phrases:
            if needed <= tokens and phrase in text:
                found.append(phrase)
        if not ascii_only:
            found += [s for s in self.substrings if s in text]
        return sorted(set(found))


@dataclass(slots=True)
class Signal:
    score: float
    matches: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Classification:
    """The decision and why: what a response header and the log event report."""

    tier: Tier
    score: float
    #: dimension -> signal (only dimensions that fired)
    signals: dict[str, Signal]
    #: ``score``, ``reasoning_override``, ``keyword_rule``, ``no_text``
    reason: str
    estimated_tokens: int
    #: only a prefix and a suffix of the text were scored
    truncated: bool = False

    def explain(self) -> str:
        """``codePresence=1.0;tokenCount=-1.0`` (ASCII, for a header)."""
        return ";".join(f"{name}={signal.score:g}" for name, signal in self.signals.items())

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "score": round(self.score, 4),
            "reason": self.reason,
            "estimated_tokens": self.estimated_tokens,
            "truncated": self.truncated,
            "signals": {n: {"score": s.score, "matches": s.matches} for n, s in self.signals.items()},
        }


def _hits_score(hits: int, one: float, many: float) -> float:
    """The score for one hit, or for two or more."""
    if hits >= 2:
        return many
    return one if hits else 0.0


class Classifier:
    """Built once per router entry from its config; ``classify`` is pure and allocation-light."""

    def __init__(self, config: ComplexityRouterConfig) -> None:
        self.config = config
        self.weights = config.weights()
        extra = config.extra_keywords

        def keyword_set(dimension: str, override: list[str] | None, default: list[str]) -> KeywordSet:
            return KeywordSet.build([*(override if override is not None else default), *extra.get(dimension, [])])

        self.code = keyword_set("codePresence", config.code_keywords, kw.CODE)
        self.reasoning = keyword_set("reasoningMarkers", config.reasoning_keywords, kw.REASONING)
        self.technical = keyword_set("technicalTerms", config.technical_keywords, kw.TECHNICAL)
        self.simple = keyword_set("simpleIndicators", config.simple_keywords, kw.SIMPLE)
        self.math = keyword_set("mathematics", config.math_keywords, kw.MATH)
        # instruction verbs match as written: "plans" in "any plans for the weekend?" asks for nothing
        self.task = KeywordSet.build(config.task_keywords if config.task_keywords is not None else kw.TASK, inflect=False)
        self.rules = [(TIERS.index(tier), tier, KeywordSet.build(words)) for tier, words in config.keyword_tier_rules.items()]
        self.rules.sort(reverse=True)  # the most severe tier first
        bounds = config.tier_boundaries
        self.bounds = (bounds.simple_medium, bounds.medium_complex, bounds.complex_reasoning)
        self.override_min = (
            config.reasoning_override_min_score if config.reasoning_override_min_score is not None else 0.0
        )
        self.prefix = config.score_prefix_chars
        self.suffix = config.score_suffix_chars

    def window(self, text: str) -> tuple[str, bool]:
        """The part of ``text`` that is scored: all of it, or its head and tail."""
        if len(text) <= self.prefix + self.suffix:
            return text, False
        tail = text[len(text) - self.suffix :] if self.suffix else ""
        return text[: self.prefix] + "\n" + tail, True

    def classify(self, text: str, *, total_chars: int | None = None, system: str = "") -> Classification:
        """Classify the user's text (``total_chars``: the full length when ``text`` is already a window)."""
        window, truncated = self.window(text)
        length = len(text) if total_chars is None else total_chars
        truncated = truncated or length > len(text)
        lowered = window.lower().replace("\u2019", "'")
        ascii_only = lowered.isascii()
        tokens_estimate = length // 4 if ascii_only else length // 2
        scored = lowered
        if system and self.config.use_system_prompt:
            scored = lowered + "\n" + self.window(system)[0].lower()
        tokens = _words(scored)

        signals: dict[str, Signal] = {}
        limits = self.config.token_thresholds
        if tokens_estimate < limits.simple:
            signals["tokenCount"] = Signal(-1.0)
        elif tokens_estimate > limits.complex:
            signals["tokenCount"] = Signal(1.0)

        code = self.code.matches(tokens, scored, ascii_only)
        code += [f"syntax {s.strip()}" for s in _CODE_SYNTAX if s in scored]
        self._add(signals, "codePresence", code, _hits_score(len(code), 0.5, 1.0))
        reasoning = self.reasoning.matches(tokens, scored, ascii_only)
        self._add(signals, "reasoningMarkers", reasoning, _hits_score(len(reasoning), 0.7, 1.0))
        technical = self.technical.matches(tokens, scored, ascii_only)
        self._add(signals, "technicalTerms", technical, 1.0 if len(technical) >= 4 else 0.5 if len(technical) >= 2 else 0.0)
        simple = self.simple.matches(tokens, lowered, ascii_only)
        self._add(signals, "simpleIndicators", simple, -1.0 if simple else 0.0)
        steps = [name for name, pattern in _MULTI_STEP if pattern.search(scored)]
        if b"first" in tokens and b"then" in tokens:
            steps.append("first ... then")
        self._add(signals, "multiStepPatterns", steps, _hits_score(len(steps), 0.5, 1.0))
        questions = scored.count("?")
        if questions > 3:
            signals["questionComplexity"] = Signal(0.5, [f"{questions} questions"])
        maths = self.math.matches(tokens, scored, ascii_only)
        maths += [f"syntax {s}" for s in _MATH_SYNTAX if s in scored]
        self._add(signals, "mathematics", maths, _hits_score(len(maths), 0.5, 1.0))

        weights = self.weights
        score = sum(signal.score * weights[name] for name, signal in signals.items())
        task = self.task.matches(tokens, lowered, ascii_only)
        if task:
            signals["taskVerbs"] = Signal(0.0, task)
        tier, reason = self._tier(score, len(reasoning), len(maths), len(technical), bool(task or maths), tokens, scored, ascii_only)
        return Classification(tier, score, signals, reason, tokens_estimate, truncated)

    @staticmethod
    def _add(signals: dict[str, Signal], name: str, matches: list[str], score: float) -> None:
        if score:
            signals[name] = Signal(score, matches)

    def _tier(
        self, score: float, reasoning: int, maths: int, technical: int, asks_for_work: bool,
        tokens: set[bytes], text: str, ascii_only: bool,
    ) -> tuple[Tier, str]:
        simple_medium, medium_complex, complex_reasoning = self.bounds
        if score < simple_medium:
            tier: Tier = "SIMPLE"
        elif score < medium_complex:
            tier = "MEDIUM"
        elif score < complex_reasoning:
            tier = "COMPLEX"
        else:
            tier = "REASONING"
        reason = "score"
        if tier == "SIMPLE" and asks_for_work:
            tier, reason = "MEDIUM", "task_floor"
        chain = reasoning >= 2 or (reasoning and maths)
        if chain and technical < 4 and score >= self.override_min and tier != "REASONING":
            tier, reason = "REASONING", "reasoning_override"
        for rank, rule_tier, words in self.rules:
            if rank > TIERS.index(tier) and words.matches(tokens, text, ascii_only):
                return rule_tier, "keyword_rule"
        return tier, reason
