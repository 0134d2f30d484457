"""``litellm_params`` of a ``presidio`` guardrail (LiteLLM's names where LiteLLM has one)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["MASK", "BLOCK"]


class PresidioParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: REST backend: Presidio's analyzer container (default: env PRESIDIO_ANALYZER_API_BASE)
    presidio_analyzer_api_base: str | None = None
    #: REST backend: Presidio's anonymizer container (default: env PRESIDIO_ANONYMIZER_API_BASE)
    presidio_anonymizer_api_base: str | None = None
    presidio_language: str = "en"
    #: ENTITY -> MASK | BLOCK; when set, only these entities are looked for
    pii_entities_config: dict[str, Action] = Field(default_factory=dict)
    #: ENTITY (or ALL) -> minimum score for a finding to count
    presidio_score_thresholds: dict[str, float] = Field(default_factory=dict)
    #: entities never acted on, even when found
    presidio_entities_deny_list: list[str] = Field(default_factory=list)
    #: a JSON file of Presidio ad-hoc recognizers ({"ad_hoc_recognizers": [...]} or a list)
    presidio_ad_hoc_recognizers: str | None = None
    #: mask with numbered placeholders (<EMAIL_ADDRESS_1>) and put the originals back in the answer
    output_parse_pii: bool = False
    #: texts longer than this are analysed in chunks of this many characters (with overlap)
    presidio_analyze_chunk_size_bytes: int = Field(default=20_000, ge=1_000)
    #: in-process backend: ``auto`` uses an installed spaCy model package if there is one, else ``no_op``
    nlp_engine: Literal["auto", "no_op", "spacy"] = "auto"
    #: in-process backend: an installed spaCy model package name, or a model directory
    spacy_model: str | None = None
