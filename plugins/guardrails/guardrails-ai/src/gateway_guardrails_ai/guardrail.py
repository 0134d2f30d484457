"""The guardrail: one Guardrails AI guard's /validate call per checked text."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from gateway import UpstreamError
from gateway.guardrails import Guardrail, GuardrailResult, GuardrailSpec, TextBatch, base_url, expect, post_json

DEFAULT_BASE = "http://0.0.0.0:8000"


class GuardrailsAIParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the guard's name on the server
    guard_name: str = Field(min_length=1)
    #: LiteLLM's switch; only ``llmOutput`` works with current servers
    guardrails_ai_api_input_format: str = "llmOutput"
    #: use the guard's ``validatedOutput`` when validators fixed the text (``on_fail: fix``)
    use_validated_output: bool = True
    #: inputs: check only the last user message (LiteLLM's behaviour) or every text
    check_all_input_texts: bool = False
    num_reasks: int | None = Field(default=None, ge=0)


class GuardrailsAIGuard(Guardrail):
    params_model = GuardrailsAIParams

    def __init__(self, spec: GuardrailSpec, gateway: Any) -> None:
        super().__init__(spec, gateway)
        if spec.params.guardrails_ai_api_input_format != "llmOutput":
            raise ValueError(
                "guardrails_ai_api_input_format: only 'llmOutput' is supported (the 'inputs' format does "
                "not work with current Guardrails AI servers)"
            )
        base = base_url(spec.settings, "GUARDRAILS_AI_API_BASE", DEFAULT_BASE)
        self.url = f"{base}/guards/{quote(spec.params.guard_name, safe='')}/validate"

    def _targets(self, batch: TextBatch) -> list[int]:
        if batch.direction == "output" or self.params.check_all_input_texts:
            return list(range(len(batch.texts)))
        users = [i for i, role in enumerate(batch.roles) if role == "user"]
        return users[-1:]

    async def check(self, batch: TextBatch) -> GuardrailResult:
        targets = self._targets(batch)
        outcomes = await asyncio.gather(*(self._validate(batch.texts[i]) for i in targets))
        texts = list(batch.texts)
        changed = False
        for index, outcome in zip(targets, outcomes, strict=False):
            if isinstance(outcome, GuardrailResult):
                return outcome
            fixed = outcome.get("validatedOutput")
            if self.params.use_validated_output and isinstance(fixed, str) and fixed != texts[index]:
                texts[index], changed = fixed, True
        calls = [o.get("callId") for o in outcomes if isinstance(o, dict)]
        if changed:
            return GuardrailResult.masked(texts, call_ids=calls)
        return GuardrailResult.passed(call_ids=calls)

    async def _validate(self, text: str) -> dict[str, Any] | GuardrailResult:
        body: dict[str, Any] = {"llmOutput": text}
        if self.params.num_reasks is not None:
            body["numReasks"] = self.params.num_reasks
        try:
            outcome = await post_json(self.gateway, "guardrails_ai", self.url, body, {}, timeout=self.settings.timeout)
        except UpstreamError as exc:
            if exc.upstream_status == 400:  # a validator with on_fail: exception refused the text
                return GuardrailResult.blocked("Violated guardrail policy", guardrails_ai_error=exc.message[-500:])
            raise
        expect(
            isinstance(outcome, dict) and isinstance(outcome.get("validationPassed"), bool),
            "guardrails_ai",
            "no boolean 'validationPassed'",
        )
        if outcome["validationPassed"] is False:
            summary = {k: outcome.get(k) for k in ("callId", "validationPassed", "error") if k in outcome}
            return GuardrailResult.blocked("Violated guardrail policy", guardrails_ai_response=summary)
        return outcome
