"""Lakera Guard: ``POST /v2/guard`` (and ``POST /v1/prompt_injection`` for older accounts).

API shapes: docs.lakera.ai/docs/api/guard (request ``messages``, ``project_id``, ``payload``,
``breakdown``, ``metadata``, ``dev_info``; response ``flagged``, ``payload[{start, end,
detector_type, labels, message_id}]``, ``breakdown[{detector_type, detected, ...}]``,
``metadata.request_uuid``).
"""

from __future__ import annotations

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

DEFAULT_BASE = "https://api.lakera.ai"


class LakeraParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the Lakera project whose policy applies (Lakera's default policy otherwise)
    project_id: str | None = None
    #: ``block`` refuses; ``monitor`` only records; ``mask`` masks PII findings (and blocks anything else)
    on_flagged: Literal["block", "monitor", "mask"] = "block"
    #: ask for match positions (needed by ``mask``) and the per-detector breakdown
    payload: bool = True
    breakdown: bool = True
    dev_info: bool = False
    #: extra ``metadata`` sent with every screening request (user_id, session_id ...)
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: ``v1``: the legacy ``/v1/prompt_injection`` endpoint of older accounts
    lakera_api_version: Literal["v2", "v1"] = "v2"
    #: v1 only: flag when a category score reaches its threshold (``jailbreak``, ``prompt_injection``)
    category_thresholds: dict[str, float] = Field(default_factory=dict)
    #: what a masked match becomes; ``{detector}`` is its detector type
    mask_replacement: str = "[REDACTED {detector}]"


class LakeraGuard(Guardrail):
    """Screens the conversation with Lakera Guard; see the plugin README."""

    params_model = LakeraParams

    def __init__(self, spec: GuardrailSpec, gateway: Any) -> None:
        super().__init__(spec, gateway)
        self.base = base_url(spec.settings, "LAKERA_API_BASE", DEFAULT_BASE)
        # a self-hosted Guard may run without a key; Lakera's SaaS never does
        key = api_key(spec.settings, "LAKERA_API_KEY", required=self.base == DEFAULT_BASE)
        self.headers = {"authorization": f"Bearer {key}"} if key else {}
        self.params: LakeraParams = spec.params
        if spec.type == "lakera_v2" and self.params.lakera_api_version == "v1":
            raise ValueError("guardrail: lakera_v2 always uses /v2/guard; use guardrail: lakera for the v1 endpoint")

    def _messages(self, batch: TextBatch) -> list[dict[str, str]]:
        if batch.direction == "input":
            # one message per text, so payload message_id indexes batch.texts directly (for mask)
            return [
                {"role": r if r in ("system", "user", "assistant") else "user", "content": t}
                for t, r in zip(batch.texts, batch.roles, strict=False)
            ]
        return batch.request_messages() + [{"role": "assistant", "content": t} for t in batch.texts]

    async def check(self, batch: TextBatch) -> GuardrailResult:
        messages = self._messages(batch)
        if self.params.lakera_api_version == "v1":
            return await self._v1(messages)
        p = self.params
        body: dict[str, Any] = {
            "messages": messages,
            "payload": p.payload or p.on_flagged == "mask",
            "breakdown": p.breakdown or p.on_flagged == "mask",
        }
        if p.project_id:
            body["project_id"] = p.project_id
        if p.metadata:
            body["metadata"] = p.metadata
        if p.dev_info:
            body["dev_info"] = True
        answer = await post_json(
            self.gateway, "lakera", self.base + "/v2/guard", body, self.headers, timeout=self.settings.timeout
        )
        expect(isinstance(answer, dict) and isinstance(answer.get("flagged"), bool), "lakera", "no boolean 'flagged'")
        return self._decide(batch, answer, offset=len(messages) - len(batch.texts))

    def _decide(self, batch: TextBatch, answer: dict[str, Any], offset: int) -> GuardrailResult:
        breakdown = answer.get("breakdown") or []
        payload = answer.get("payload") or []
        expect(isinstance(breakdown, list) and isinstance(payload, list), "lakera", "breakdown/payload are not lists")
        detected = sorted({str(b.get("detector_type")) for b in breakdown if isinstance(b, dict) and b.get("detected")})
        uuid = (answer.get("metadata") or {}).get("request_uuid") if isinstance(answer.get("metadata"), dict) else None
        details: dict[str, Any] = {"flagged": answer["flagged"], "detectors": detected}
        if uuid:
            details["request_uuid"] = uuid
        if not answer["flagged"]:
            return GuardrailResult.passed(**details)
        action = self.params.on_flagged
        if action == "monitor":
            return GuardrailResult.passed(**details)
        pii_only = (
            bool(payload)
            and all(str(p.get("detector_type", "")).startswith("pii/") for p in payload if isinstance(p, dict))
            and all(d.startswith("pii/") for d in detected)
        )
        if action == "mask" and pii_only:
            return GuardrailResult.masked(self._mask(batch, payload, offset), **details)
        # the response without match texts: the client gets Lakera's verdict, logs never get the values
        safe = {
            **answer,
            "payload": [{k: v for k, v in p.items() if k != "text"} for p in payload if isinstance(p, dict)],
        }
        return GuardrailResult.blocked("Violated guardrail policy", lakera_guardrail_response=safe, **details)

    def _mask(self, batch: TextBatch, payload: list[dict[str, Any]], offset: int) -> list[str]:
        texts = list(batch.texts)
        spans: dict[int, list[tuple[int, int, str]]] = {}
        for item in payload:
            index = int(item.get("message_id", offset)) - offset
            start, end = item.get("start"), item.get("end")
            expect(isinstance(start, int) and isinstance(end, int), "lakera", "payload item without start/end")
            if 0 <= index < len(texts) and 0 <= start < end <= len(texts[index]):
                spans.setdefault(index, []).append((start, end, str(item.get("detector_type"))))
        for index, found in spans.items():
            text = texts[index]
            for start, end, detector in sorted(found, reverse=True):  # from the end: offsets stay valid
                text = text[:start] + self.params.mask_replacement.format(detector=detector) + text[end:]
            texts[index] = text
        return texts

    async def _v1(self, messages: list[dict[str, str]]) -> GuardrailResult:
        answer = await post_json(
            self.gateway,
            "lakera",
            self.base + "/v1/prompt_injection",
            {"input": messages},
            self.headers,
            timeout=self.settings.timeout,
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        expect(isinstance(results, list) and results and isinstance(results[0], dict), "lakera", "no 'results'")
        first = results[0]
        expect(isinstance(first.get("flagged"), bool), "lakera", "no boolean 'flagged' in results[0]")
        scores = first.get("category_scores") or {}
        details = {"flagged": first["flagged"], "category_scores": scores}
        thresholds = self.params.category_thresholds
        if thresholds:
            over = sorted(c for c, limit in thresholds.items() if float(scores.get(c, 0.0)) >= limit)
            if over:
                return self._v1_flag(f"Violated {'/'.join(over)} threshold", answer, details)
            return GuardrailResult.passed(**details)
        if first["flagged"]:
            return self._v1_flag("Violated content safety policy", answer, details)
        return GuardrailResult.passed(**details)

    def _v1_flag(self, message: str, answer: Any, details: dict[str, Any]) -> GuardrailResult:
        if self.params.on_flagged == "monitor":
            return GuardrailResult.passed(**details)
        return GuardrailResult.blocked(message, lakera_ai_response=answer, **details)
