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
from dataclasses import dataclass

from . import keywords as kw
from .config import TIERS, ComplexityRouterConfig, Tier
from .matching import KeywordIndex

#: (name, a substring the text must contain for the pattern to be tried, pattern)
_MULTI_STEP = (
    ("numbered list", "\n", re.compile(r"\n[ \t]*\d{1,2}[.)][ \t]")),
    ("lettered list", ")", re.compile(r"\n[ \t]*[a-h]\)[ \t]")),
    ("step n", "step", re.compile(r"step[ \t]*\d")),
)
#: (marker, a character it contains): the marker is searched only when the character, found with one
#: fast memchr-style scan, is in the text at all
_MATH_SYNTAX = (
    ("^2", "^"),
    ("^3", "^"),
    ("^n", "^"),
    ("∫", "∫"),
    ("√", "√"),
    ("≤", "≤"),
    ("≥", "≥"),
    ("∑", "∑"),
    ("π", "π"),
)
_CODE_SYNTAX = (("```", "`"), ("=>", ">"), ("();", ";"), ("{\n", "{"), ("#include", "#"), ("</", "<"), ("!=", "!"))


#: every gate character of the syntax markers and list patterns: most short prompts contain none of
#: them (nor "step"), and one scan then skips all 19 checks. Only for short texts: on a long one the
#: character class is slower than the checks it would save (each check is a fast substring search)
_ANY_GATE_CHAR = re.compile(
    "[" + re.escape("".join(sorted({gate for _, gate in _MATH_SYNTAX + _CODE_SYNTAX} | {"\n", ")"}))) + "]"
)
_GATE_SCAN_LIMIT = 512
_RANK = {tier: rank for rank, tier in enumerate(TIERS)}


def _syntax(text: str, markers: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"syntax {marker}" for marker, gate in markers if gate in text and marker in text]


#: one dimension's result: (score, what matched)
Signal = tuple[float, list[str]]
_LABELS: dict[tuple[str, float], str] = {}


def _label(name: str, score: float) -> str:
    """``codePresence=1`` (memoised: dimensions and scores come from small fixed sets)."""
    label = _LABELS.get((name, score))
    if label is None:
        label = _LABELS[(name, score)] = f"{name}={score:g}"
    return label


@dataclass(slots=True)
class Classification:
    """The decision and why: what a response header and the log event report."""

    tier: Tier
    score: float
    #: dimension -> (score, matches), for the dimensions that fired
    signals: dict[str, Signal]
    #: ``score``, ``task_floor``, ``reasoning_override``, ``keyword_rule``
    reason: str
    estimated_tokens: int
    #: only a prefix and a suffix of the text were scored
    truncated: bool = False

    def explain(self) -> str:
        """``codePresence=1,tokenCount=-1`` (ASCII, for a header)."""
        return ",".join([_label(name, signal[0]) for name, signal in self.signals.items()])

    def to_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "score": round(self.score, 4),
            "reason": self.reason,
            "estimated_tokens": self.estimated_tokens,
            "truncated": self.truncated,
            "signals": {n: {"score": s[0], "matches": s[1]} for n, s in self.signals.items()},
        }


class Classifier:
    """Built once per router entry from its config; ``classify`` is pure and allocation-light."""

    def __init__(self, config: ComplexityRouterConfig) -> None:
        self.config = config
        self.weights = config.weights()
        extra = config.extra_keywords

        def listed(override: list[str] | None, default: list[str], dimension: str) -> list[str]:
            return [*(override if override is not None else default), *extra.get(dimension, [])]

        lists = {
            "codePresence": listed(config.code_keywords, kw.CODE, "codePresence"),
            "reasoningMarkers": listed(config.reasoning_keywords, kw.REASONING, "reasoningMarkers"),
            "technicalTerms": listed(config.technical_keywords, kw.TECHNICAL, "technicalTerms"),
            "simpleIndicators": listed(config.simple_keywords, kw.SIMPLE, "simpleIndicators"),
            "mathematics": listed(config.math_keywords, kw.MATH, "mathematics"),
            # instruction verbs match as written: "plans" in "any plans for the weekend?" asks for nothing
            "taskVerbs": config.task_keywords if config.task_keywords is not None else kw.TASK,
            "firstThen": ["first", "then"],
        }
        # per-tier overrides, the most severe tier first
        self.rules = sorted(((TIERS.index(tier), tier) for tier in config.keyword_tier_rules), reverse=True)
        lists.update({f"rule:{tier}": words for tier, words in config.keyword_tier_rules.items()})
        self.index = KeywordIndex(lists, exact=("taskVerbs", "firstThen"))
        bounds = config.tier_boundaries
        self.bounds = (bounds.simple_medium, bounds.medium_complex, bounds.complex_reasoning)
        self.override_min = (
            config.reasoning_override_min_score if config.reasoning_override_min_score is not None else 0.0
        )
        self.prefix = config.score_prefix_chars
        self.suffix = config.score_suffix_chars
        self.simple_tokens = config.token_thresholds.simple
        self.complex_tokens = config.token_thresholds.complex

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
        lowered = window.lower()
        if "\u2019" in lowered:  # a typographic apostrophe (“don’t”) matches as the ASCII one
            lowered = lowered.replace("\u2019", "'")
        ascii_only = lowered.isascii()
        tokens_estimate = length // 4 if ascii_only else length // 2
        scored = lowered
        if system and self.config.use_system_prompt:
            scored = lowered + "\n" + self.window(system)[0].lower()
        hits = self.index.match(self.index.tokens(scored), scored, ascii_only)

        # each dimension that fires adds score * weight as it is found (one pass, no second loop)
        weights = self.weights
        signals: dict[str, Signal] = {}
        score = 0.0
        if tokens_estimate < self.simple_tokens:
            signals["tokenCount"] = (-1.0, [])
            score -= weights["tokenCount"]
        elif tokens_estimate > self.complex_tokens:
            signals["tokenCount"] = (1.0, [])
            score += weights["tokenCount"]
        gated = len(scored) > _GATE_SCAN_LIMIT or "step" in scored or _ANY_GATE_CHAR.search(scored) is not None
        code = hits.get("codePresence")
        if gated:
            extra = _syntax(scored, _CODE_SYNTAX)
            if extra:
                code = (code or []) + extra
        if code:
            value = 1.0 if len(code) > 1 else 0.5
            signals["codePresence"] = (value, code)
            score += value * weights["codePresence"]
        reasoning = hits.get("reasoningMarkers") or ()
        if reasoning:
            value = 1.0 if len(reasoning) > 1 else 0.7
            signals["reasoningMarkers"] = (value, reasoning)  # type: ignore[assignment]
            score += value * weights["reasoningMarkers"]
        technical = hits.get("technicalTerms") or ()
        if len(technical) > 1:
            value = 1.0 if len(technical) > 3 else 0.5
            signals["technicalTerms"] = (value, technical)  # type: ignore[assignment]
            score += value * weights["technicalTerms"]
        simple = hits.get("simpleIndicators")
        if simple:
            signals["simpleIndicators"] = (-1.0, simple)
            score -= weights["simpleIndicators"]
        steps = (
            [name for name, gate, pattern in _MULTI_STEP if gate in scored and pattern.search(scored)] if gated else []
        )
        if len(hits.get("firstThen") or ()) == 2:
            steps.append("first ... then")
        if steps:
            value = 1.0 if len(steps) > 1 else 0.5
            signals["multiStepPatterns"] = (value, steps)
            score += value * weights["multiStepPatterns"]
        questions = scored.count("?")
        if questions > 3:
            signals["questionComplexity"] = (0.5, [f"{questions} questions"])
            score += 0.5 * weights["questionComplexity"]
        maths = hits.get("mathematics")
        if gated:
            extra = _syntax(scored, _MATH_SYNTAX)
            if extra:
                maths = (maths or []) + extra
        maths = maths or ()  # type: ignore[assignment]
        if maths:
            value = 1.0 if len(maths) > 1 else 0.5
            signals["mathematics"] = (value, maths)  # type: ignore[arg-type]
            score += value * weights["mathematics"]
        task = hits.get("taskVerbs")
        if task:
            signals["taskVerbs"] = (0.0, task)
        rule = next((tier for _, tier in self.rules if f"rule:{tier}" in hits), None) if self.rules else None
        tier, reason = self._tier(score, len(reasoning), len(maths), len(technical), bool(task or maths), rule)
        return Classification(tier, score, signals, reason, tokens_estimate, truncated)

    def _tier(
        self, score: float, reasoning: int, maths: int, technical: int, asks_for_work: bool, rule: Tier | None
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
        if rule is not None and _RANK[rule] > _RANK[tier]:
            return rule, "keyword_rule"
        return tier, reason
