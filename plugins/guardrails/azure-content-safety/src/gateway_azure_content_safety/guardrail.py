"""Azure AI Content Safety REST API (``{endpoint}/contentsafety/...?api-version=2024-09-01``).

Shapes: learn.microsoft.com/rest/api/contentsafety/text-operations/analyze-text (request
``text``, ``categories``, ``blocklistNames``, ``haltOnBlocklistHit``, ``outputType``; response
``categoriesAnalysis[{category, severity}]``, ``blocklistsMatch[{blocklistName, blocklistItemId,
blocklistItemText}]``) and .../text-operations/detect-text-jailbreak, Prompt Shields
(``text:shieldPrompt``: request ``userPrompt``, ``documents``; response
``userPromptAnalysis.attackDetected``, ``documentsAnalysis[].attackDetected``).  Texts are limited
to 10,000 characters per request, so longer ones are split at word boundaries.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.guardrails import (
    Guardrail,
    GuardrailResult,
    GuardrailSpec,
    TextBatch,
    api_key,
    base_url,
    expect,
    post_json,
)

MAX_CHARS = 10_000
CATEGORIES = ("Hate", "SelfHarm", "Sexual", "Violence")
DEFAULT_SEVERITY = 2


def split_words(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at the last whitespace before the limit when there is one."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


class AzureCommon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_version: str = "2024-09-01"


class ContentSafetyParams(AzureCommon):
    #: refuse when any category reaches this severity (default 2 when no threshold is set)
    severity_threshold: int | None = Field(default=None, ge=0, le=7)
    #: per-category thresholds (``Hate``, ``SelfHarm``, ``Sexual``, ``Violence``)
    severity_threshold_by_category: dict[str, int] | None = None
    categories: list[Literal["Hate", "SelfHarm", "Sexual", "Violence"]] = Field(
        default_factory=lambda: list(CATEGORIES)
    )
    blocklistNames: list[str] | None = None
    haltOnBlocklistHit: bool = False
    outputType: Literal["FourSeverityLevels", "EightSeverityLevels"] = "FourSeverityLevels"


class AzureGuard(Guardrail):
    """What both Azure types share: endpoint, key header, 10k-character pieces."""

    operation = ""

    def __init__(self, spec: GuardrailSpec, gateway: Any) -> None:
        super().__init__(spec, gateway)
        base = base_url(spec.settings, "AZURE_CONTENT_SAFETY_ENDPOINT", None)
        self.url = f"{base}/contentsafety/{self.operation}?api-version={spec.params.api_version}"
        self.headers = {"ocp-apim-subscription-key": str(api_key(spec.settings, "AZURE_CONTENT_SAFETY_KEY"))}

    async def call(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await post_json(
            self.gateway, "azure_content_safety", self.url, body, self.headers, timeout=self.settings.timeout
        )
        expect(isinstance(answer, dict), "azure content safety", "not a JSON object")
        return answer


class ContentSafetyGuard(AzureGuard):
    params_model = ContentSafetyParams
    operation = "text:analyze"

    def threshold(self, category: str) -> int | None:
        p: ContentSafetyParams = self.params
        if p.severity_threshold_by_category and category in p.severity_threshold_by_category:
            return p.severity_threshold_by_category[category]
        if p.severity_threshold is not None:
            return p.severity_threshold
        return None if p.severity_threshold_by_category else DEFAULT_SEVERITY

    async def check(self, batch: TextBatch) -> GuardrailResult:
        pieces = [piece for text in batch.texts if text.strip() for piece in split_words(text)]
        answers = await asyncio.gather(*(self.call(self._body(piece)) for piece in pieces))
        worst: dict[str, int] = {}
        blocklists: set[str] = set()
        for answer in answers:
            analysis = answer.get("categoriesAnalysis")
            expect(isinstance(analysis, list), "azure content safety", "no 'categoriesAnalysis' list")
            for item in analysis:
                expect(
                    isinstance(item, dict) and isinstance(item.get("severity"), int),
                    "azure content safety",
                    "a category without an integer 'severity'",
                )
                worst[str(item.get("category"))] = max(worst.get(str(item.get("category")), 0), item["severity"])
            blocklists |= {
                str(m.get("blocklistName")) for m in answer.get("blocklistsMatch") or [] if isinstance(m, dict)
            }
        details: dict[str, Any] = {"severities": worst}
        if blocklists:
            return GuardrailResult.blocked(
                f"Azure Content Safety Guardrail: blocklist match ({', '.join(sorted(blocklists))})",
                blocklists=sorted(blocklists),
                **details,
            )
        for category, severity in sorted(worst.items()):
            limit = self.threshold(category)
            if limit is not None and severity >= limit:
                return GuardrailResult.blocked(
                    f"Azure Content Safety Guardrail: {category} crossed severity {limit}, Got severity: {severity}",
                    category=category,
                    severity=severity,
                    threshold=limit,
                    **details,
                )
        return GuardrailResult.passed(**details)

    def _body(self, text: str) -> dict[str, Any]:
        p: ContentSafetyParams = self.params
        body: dict[str, Any] = {"text": text, "categories": p.categories, "outputType": p.outputType}
        if p.blocklistNames:
            body["blocklistNames"] = p.blocklistNames
            body["haltOnBlocklistHit"] = p.haltOnBlocklistHit
        return body


class PromptShieldParams(AzureCommon):
    #: roles whose texts are sent as ``documents`` (indirect attacks); the rest is the user prompt
    document_roles: list[str] = Field(default_factory=lambda: ["tool", "function"])


class PromptShieldGuard(AzureGuard):
    params_model = PromptShieldParams
    operation = "text:shieldPrompt"
    supported_modes = frozenset({"pre_call", "during_call", "logging_only"})

    async def check(self, batch: TextBatch) -> GuardrailResult:
        roles = set(self.params.document_roles)
        prompt = "\n".join(t for t, r in zip(batch.texts, batch.roles, strict=False) if r not in roles and t.strip())
        documents = [
            piece
            for t, r in zip(batch.texts, batch.roles, strict=False)
            if r in roles and t.strip()
            for piece in split_words(t)
        ]
        bodies = [
            {"userPrompt": piece, "documents": documents if i == 0 else []}
            for i, piece in enumerate(split_words(prompt))
        ]
        answers = await asyncio.gather(*(self.call(body) for body in bodies))
        user_attack = False
        document_attacks = 0
        for answer in answers:
            user = answer.get("userPromptAnalysis")
            expect(
                isinstance(user, dict) and isinstance(user.get("attackDetected"), bool),
                "azure prompt shield",
                "no boolean userPromptAnalysis.attackDetected",
            )
            user_attack = user_attack or user["attackDetected"]
            docs = answer.get("documentsAnalysis") or []
            expect(isinstance(docs, list), "azure prompt shield", "documentsAnalysis is not a list")
            document_attacks += sum(1 for d in docs if isinstance(d, dict) and d.get("attackDetected") is True)
        details = {"user_prompt_attack": user_attack, "document_attacks": document_attacks}
        if user_attack or document_attacks:
            return GuardrailResult.blocked("Violated Azure Prompt Shield: attack detected", **details)
        return GuardrailResult.passed(**details)
