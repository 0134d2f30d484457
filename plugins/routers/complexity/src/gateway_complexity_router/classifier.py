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

Issue 23: the prompt is first cut into its instruction and the material it operates on
(:mod:`gateway_complexity_router.instruction`); the material's hits count fully, half or not at all
depending on what the instruction asks.  Floors (proof/puzzle -> REASONING; design at scale,
multi-step agentic coding, security/performance review -> COMPLEX) only ever raise the tier, and
``escalation_margin`` lowers every boundary a little: under-serving is the costlier mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import keywords as kw
from .config import TIERS, ComplexityRouterConfig, Tier
from .instruction import split as split_instruction
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
    ("^", "^"),
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
#: clause boundaries, for the clause heads (imperative verbs stand there)
_CLAUSE = re.compile(r"[,.;:!?\n()]| and | then | or ")
#: words before the verb of a request: "can you please explain", "i need you to write"
_LEAD_INS = frozenset(
    [
        "please",
        "pls",
        "kindly",
        "can",
        "could",
        "would",
        "will",
        "you",
        "help",
        "me",
        "i",
        "we",
        "need",
        "want",
        "to",
        "now",
        "also",
        "then",
        "and",
        "first",
        "finally",
        "so",
        "just",
        "next",
        "lastly",
        "-",
    ]
)
#: a clause that starts like this reviews what it is given
_REVIEW_HEADS = frozenset({"review", "audit", "analyse", "analyze", "assess", "evaluate", "investigate", "check"})
#: a look-up question about pasted material ("what's the tracking code?"), unless it asks why or what is wrong
_LOOKUP = re.compile(
    r"(?s)(?:here|what|who|when|where|which|how many|how much)\b(?!.*\b(?:why|wrong|does|mean|cause)\b)"
)
#: "100m users", "1m requests per second", "10k transactions"
_SCALE = re.compile(r"\d(?:[.,]?\d)*\s?(?:k|m|b|bn|million|billion|thousand)\b|per second|a day\b|daily")
#: "how many ... if ...", "if it takes ..., how long ...": a quantity under a condition
_CONDITIONAL_QUANTITY = re.compile(r"(?s)(?:how many|how long)\b.*\bif\b|\bif\b.*\b(?:how many|how long)\b")
#: "is this argument valid?", "is the reasoning sound", "does the conclusion follow"
_LOGIC = re.compile(
    r"(?s)\b(?:argument|reasoning|inference|conclusion|deduction)\b.{0,40}\b(?:valid|sound|follows?)\b"
    r"|\b(?:valid|sound)\b.{0,20}\b(?:argument|reasoning|inference)\b"
)
#: a definition or formula look-up about maths ("what is a prime number?"), not a problem to solve
_MATH_LOOKUP = re.compile(r"^(?:what is|what's|what are|define|who)\b(?!.*\d)")
_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORD = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|twelve|hundred)\b")


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
            "taskVerbs": [*(config.task_keywords if config.task_keywords is not None else kw.TASK), *kw.TASK_ML],
            "firstThen": ["first", "then"],
            "mathExact": kw.MATH_EXACT,
            "proof": kw.PROOF,
            "design": kw.DESIGN,
            "system": kw.SYSTEM,
            "repo": kw.REPO,
            "deep": kw.DEEP_REVIEW,
            "deepPhrase": kw.DEEP_PHRASES,
            "puzzle": kw.PUZZLE,
            "op:trivial": kw.TRIVIAL_OPS,
            "op:transform": kw.TRANSFORM_OPS,
            "op:analyse": kw.ANALYSE_OPS,
            "agent": kw.AGENT,
        }
        # per-tier overrides, the most severe tier first
        self.rules = sorted(((TIERS.index(tier), tier) for tier in config.keyword_tier_rules), reverse=True)
        lists.update({f"rule:{tier}": words for tier, words in config.keyword_tier_rules.items()})
        self.index = KeywordIndex(lists, exact=("taskVerbs", "firstThen", "mathExact", "repo", "op:trivial", "agent"))
        #: English instruction verbs count only at the head of a clause ("review this" asks, "the
        #: review meeting" does not); other languages' verbs count wherever they stand
        self.head_only = frozenset(
            word for word in [*lists["taskVerbs"], *kw.DESIGN] if word.isascii() and word.isalpha()
        ) - {word for word in kw.TASK_ML + kw.DESIGN[5:] if word.isascii()}
        self.agent_verbs = frozenset(kw.AGENT)
        self.margin = config.escalation_margin
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
        instruction, material = split_instruction(lowered)
        scored = instruction
        if system and self.config.use_system_prompt:
            scored = instruction + "\n" + self.window(system)[0].lower()
        index = self.index
        hits = index.match(index.tokens(scored), scored, ascii_only)
        # clause heads cost a split of the text: only when a verb that needs one was found at all
        head_only = self.head_only
        needs_heads = (
            len(hits.get("agent", ())) >= 3
            or "deep" in hits
            or any(k in head_only for k in hits.get("taskVerbs", ()))
            or any(k in head_only for k in hits.get("design", ()))
            or "build" in hits.get("agent", ())
        )
        heads = _clause_heads(scored) if needs_heads else frozenset()
        task = [k for k in hits.get("taskVerbs", ()) if k not in self.head_only or k in heads]
        design = [k for k in hits.get("design", ()) if k not in self.head_only or k in heads]
        if "build" in heads and not design:
            design = ["build"]  # "build X" is a design ask only at scale

        # What the instruction does with its material decides how much the material counts:
        # analysing it (review, find, prove ...) 1; a trivial edit, a look-up or a transformation
        # (typo, "what's the tracking code?", summarise, translate) 0; anything else half.
        factor, operation = 0.0, ""
        if material:
            if "op:analyse" in hits:
                factor, operation = 1.0, "analyse"
            elif "op:trivial" in hits:
                operation = "trivial"
            elif "op:transform" in hits:
                operation = "transform"
            elif _LOOKUP.match(instruction.lstrip()) and not task:
                operation = "lookup"
            else:
                factor, operation = 0.5, "other"
        elif "op:trivial" in hits and len(instruction) < 200:
            operation = "trivial"
        mhits: dict[str, list[str]] = {}
        if factor:
            mhits = index.match(index.tokens(material), material, material.isascii())

        weights = self.weights
        signals: dict[str, Signal] = {}
        score = 0.0
        if tokens_estimate < self.simple_tokens or (material and len(instruction) < 60 and not factor):
            signals["tokenCount"] = (-1.0, [])
            score -= weights["tokenCount"]
        elif tokens_estimate > self.complex_tokens and (factor or not material):
            signals["tokenCount"] = (factor or 1.0, [])
            score += (factor or 1.0) * weights["tokenCount"]

        def dimension(name: str, own: list[str], found: list[str], value: Callable[[int], float]) -> list[str]:
            """Score one dimension from the instruction's hits plus ``factor`` of the material's."""
            nonlocal score
            total = mine = value(len(own))
            shown = own
            if factor and len(found) > len(own):
                total, shown = mine + factor * (value(len(found)) - mine), found
            if total:
                signals[name] = (round(total, 3), shown)
                score += total * weights[name]
            return found if factor == 1.0 else own

        gated = len(scored) > _GATE_SCAN_LIMIT or "step" in scored or _ANY_GATE_CHAR.search(scored) is not None
        code = list(hits.get("codePresence", ()))
        if gated:
            code += _syntax(scored, _CODE_SYNTAX)
        mcode = _merge(code, mhits.get("codePresence"), _syntax(material, _CODE_SYNTAX) if factor else ())
        code = dimension("codePresence", code, mcode, _code_value)
        reasoning = dimension(
            "reasoningMarkers",
            hits.get("reasoningMarkers", []),
            _merge(hits.get("reasoningMarkers", []), mhits.get("reasoningMarkers")),
            _reasoning_value,
        )
        technical = dimension(
            "technicalTerms",
            hits.get("technicalTerms", []),
            _merge(hits.get("technicalTerms", []), mhits.get("technicalTerms")),
            _technical_value,
        )
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
        maths = hits.get("mathematics", []) + hits.get("mathExact", [])
        if gated:
            maths = maths + _syntax(scored, _MATH_SYNTAX)
        maths = dimension("mathematics", maths, _merge(maths, mhits.get("mathematics")), _code_value)
        if task:
            signals["taskVerbs"] = (0.0, task)

        # Floors: signals that decide a tier however short the prompt is (issue 23)
        floors: list[tuple[Tier, str, str, list[str]]] = []
        proof = hits.get("proof")
        if proof:
            floors.append(("REASONING", "proof", "proofMarkers", proof))
        elif (
            len(scored) < 400  # first: the patterns below then only ever see a short text
            and len(technical) < 2
            and not design
            and (
                "puzzle" in hits
                or (("how many" in scored or "how long" in scored) and _CONDITIONAL_QUANTITY.search(scored))
            )
            and _has_number(scored)
        ):
            floors.append(("REASONING", "puzzle", "puzzleConstraints", hits.get("puzzle", ["if ... how many"])))
        elif maths and "?" in scored and len(scored) < 300 and not task and not simple_lookup(scored):
            floors.append(("REASONING", "maths_question", "mathsQuestion", maths))
        elif (
            len(scored) < 400
            and ("valid" in scored or "sound" in scored or "follow" in scored)
            and _LOGIC.search(scored)
        ):
            floors.append(("REASONING", "logic", "logicQuestion", ["argument validity"]))
        if design and (("system" in hits and design != ["build"]) or _SCALE.search(scored)):
            floors.append(("COMPLEX", "design_at_scale", "designAtScale", design + hits.get("system", [])))
        agent = self.agent_verbs & heads
        if len(agent) >= 4 or (len(agent) >= 3 and ("repo" in hits or code)):
            floors.append(("COMPLEX", "agentic_steps", "agenticSteps", sorted(agent)))
        if "deepPhrase" in hits or ("deep" in hits and heads & _REVIEW_HEADS):
            floors.append(("COMPLEX", "deep_review", "deepReview", hits.get("deepPhrase", []) + hits.get("deep", [])))
        for _, _, name, found in floors:
            signals[name] = (1.0, found)
        if operation:
            signals["material"] = (factor, [operation])
        asks_for_work = bool(task or maths) and operation not in ("trivial", "lookup")
        if not asks_for_work and operation == "transform" and len(material) >= 200:
            asks_for_work = True
        if operation == "lookup" and len(material) > 1500:
            asks_for_work = True  # a question about a long document needs it read, at least MEDIUM
        if not asks_for_work and len(scored) > 60 and len(_NUMBER.findall(scored[:1000])) >= 2:
            asks_for_work = True  # a word problem: several quantities in a question of some length
        if not signals and not asks_for_work and len(scored) >= 70 and "?" in scored and not material:
            # nothing recognised in an ask of some length: not confident it is easy, so not SIMPLE
            asks_for_work = True
            signals["unrecognised"] = (1.0, [])
        rule = next((tier for _, tier in self.rules if f"rule:{tier}" in hits), None) if self.rules else None
        tier, reason = self._tier(score, len(reasoning), len(maths), len(technical), asks_for_work, rule)
        for floor, why, _, _ in floors:
            if _RANK[floor] > _RANK[tier]:
                tier, reason = floor, why
        return Classification(tier, score, signals, reason, tokens_estimate, truncated)

    def _tier(
        self, score: float, reasoning: int, maths: int, technical: int, asks_for_work: bool, rule: Tier | None
    ) -> tuple[Tier, str]:
        simple_medium, medium_complex, complex_reasoning = self.bounds
        # under-serving costs more than over-serving: a score within ``escalation_margin`` below a
        # boundary already takes the tier above it
        margin = self.margin
        if score < simple_medium - margin:
            tier: Tier = "SIMPLE"
        elif score < medium_complex - margin:
            tier = "MEDIUM"
        elif score < complex_reasoning - margin:
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


def _code_value(hits: int) -> float:
    return 1.0 if hits > 1 else 0.5 if hits else 0.0


def _reasoning_value(hits: int) -> float:
    return 1.0 if hits > 1 else 0.7 if hits else 0.0


def _technical_value(hits: int) -> float:
    return 1.0 if hits > 3 else 0.5 if hits > 1 else 0.0


def _merge(own: list[str], *more: Iterable[str] | None) -> list[str]:
    """The instruction's hits and the material's, once each."""
    merged = list(own)
    for extra in more:
        if extra:
            merged.extend(k for k in extra if k not in merged)
    return merged


def simple_lookup(text: str) -> bool:
    return _MATH_LOOKUP.match(text.lstrip()) is not None


def _has_number(text: str) -> bool:
    return _DIGIT.search(text) is not None or _NUMBER_WORD.search(text) is not None


def _clause_heads(text: str) -> frozenset[str]:
    """The first word of each clause, past polite and auxiliary lead-ins ("can you", "please")."""
    heads = set()
    for clause in _CLAUSE.split(text[:2000]):
        for word in clause.split():
            if word not in _LEAD_INS:
                heads.add(word)
                break
    return frozenset(heads)
