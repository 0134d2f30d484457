"""``litellm_params.complexity_router_config``: the tiers and every knob of the classifier.

Key names follow LiteLLM's complexity router where it has the same knob (``tiers``,
``tier_boundaries``, ``token_thresholds``, ``dimension_weights``, ``*_keywords``,
``reasoning_override_min_score``, ``default_model``), so its configs load unchanged; keys for
features this router does not have are refused with the list of known keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tier = Literal["SIMPLE", "MEDIUM", "COMPLEX", "REASONING"]
TIERS: tuple[Tier, ...] = ("SIMPLE", "MEDIUM", "COMPLEX", "REASONING")

#: the classifier's dimensions and their default weights (LiteLLM's seven, plus mathematics)
DEFAULT_WEIGHTS: dict[str, float] = {
    "tokenCount": 0.10,
    "codePresence": 0.30,
    "reasoningMarkers": 0.25,
    "technicalTerms": 0.35,
    "simpleIndicators": 0.05,
    "multiStepPatterns": 0.03,
    "questionComplexity": 0.02,
    "mathematics": 0.05,
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TierBoundaries(Strict):
    """Score cut-offs: below ``simple_medium`` SIMPLE, below ``medium_complex`` MEDIUM, below
    ``complex_reasoning`` COMPLEX, else REASONING."""

    simple_medium: float = 0.15
    medium_complex: float = 0.35
    complex_reasoning: float = 0.85

    @model_validator(mode="after")
    def _ascending(self) -> TierBoundaries:
        if not self.simple_medium < self.medium_complex < self.complex_reasoning:
            raise ValueError("tier_boundaries must rise: simple_medium < medium_complex < complex_reasoning")
        return self


class TokenThresholds(Strict):
    """Estimated prompt tokens: under ``simple`` pulls towards SIMPLE, over ``complex`` pushes up."""

    simple: int = Field(default=15, ge=0)
    complex: int = Field(default=400, ge=1)


class ComplexityRouterConfig(Strict):
    """The whole ``complexity_router_config`` block."""

    #: tier -> model group (a ``model_name`` of this config); SIMPLE, MEDIUM and COMPLEX at least one
    tiers: dict[Tier, str] = Field(min_length=1)
    classifier_type: Literal["heuristic"] = "heuristic"
    tier_boundaries: TierBoundaries = Field(default_factory=TierBoundaries)
    token_thresholds: TokenThresholds = Field(default_factory=TokenThresholds)
    #: dimension -> weight; unnamed dimensions keep their default weight (0 switches one off)
    dimension_weights: dict[str, float] = Field(default_factory=dict)
    #: replace a built-in keyword list (single words also match their inflections)
    code_keywords: list[str] | None = None
    reasoning_keywords: list[str] | None = None
    technical_keywords: list[str] | None = None
    simple_keywords: list[str] | None = None
    math_keywords: list[str] | None = None
    #: instruction verbs ("write", "explain" ...): a prompt with one is at least MEDIUM
    task_keywords: list[str] | None = None
    #: keywords added to the built-in lists: {"technicalTerms": ["terraform"]}
    extra_keywords: dict[str, list[str]] = Field(default_factory=dict)
    #: per-tier overrides: a prompt containing one of these is at least that tier
    keyword_tier_rules: dict[Tier, list[str]] = Field(default_factory=dict)
    #: a chain of reasoning (2+ markers, or a marker and a maths term) with a score at least this: REASONING
    reasoning_override_min_score: float | None = None
    #: under-serving costs more than over-serving: a score this close below a tier boundary already
    #: takes the tier above it (0 switches the bias off)
    escalation_margin: float = Field(default=0.02, ge=0, le=0.5)
    #: the tier for requests with no text to judge (images only, tool results only, empty)
    default_tier: Tier = "MEDIUM"
    #: LiteLLM's name: a model group for requests with no text (wins over default_tier)
    default_model: str | None = None
    #: score the system prompt's words too (off: agent identity prompts would lift every request)
    use_system_prompt: bool = False
    #: only this many characters from the start and from the end are scored (token count uses the whole length)
    score_prefix_chars: int = Field(default=4000, ge=100)
    score_suffix_chars: int = Field(default=2000, ge=0)

    @model_validator(mode="after")
    def _known_dimensions(self) -> ComplexityRouterConfig:
        for name in [*self.dimension_weights, *self.extra_keywords]:
            if name not in DEFAULT_WEIGHTS:
                raise ValueError(f"unknown dimension {name!r}; dimensions: {', '.join(DEFAULT_WEIGHTS)}")
        if (
            "tokenCount" in self.extra_keywords
            or "multiStepPatterns" in self.extra_keywords
            or "questionComplexity" in self.extra_keywords
        ):
            raise ValueError(
                "extra_keywords applies to keyword dimensions only (codePresence, reasoningMarkers, technicalTerms, simpleIndicators, mathematics)"
            )
        return self

    def weights(self) -> dict[str, float]:
        return {**DEFAULT_WEIGHTS, **self.dimension_weights}
