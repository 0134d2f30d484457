"""The guardrail: one Aporia project's /validate call per checked text batch."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gateway.guardrails import (
    Guardrail,
    GuardrailConfigError,
    GuardrailResult,
    GuardrailSpec,
    TextBatch,
    base_url,
    expect,
    post_json,
)

ROLES = ("system", "user", "assistant")
ACTIONS = ("passthrough", "block", "modify", "rephrase", "override")


class AporiaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: output checks send the prompt too (``both``, LiteLLM's choice) or only the answer (``response``)
    output_validation_target: Literal["both", "response"] = "both"
    #: apply Aporia's ``revised_response`` for ``modify``/``rephrase``/``override`` on answers
    use_revised_response: bool = False
    #: ask Aporia to explain its decision (``explain_log``)
    explain: bool = False


class AporiaGuard(Guardrail):
    params_model = AporiaParams

    def __init__(self, spec: GuardrailSpec, gateway: Any) -> None:
        super().__init__(spec, gateway)
        # the project URL (https://gr-prd.aporia.com/<project id>); LiteLLM reads APORIO_* (sic): both work
        self.url = base_url(spec.settings, None, _env("APORIA_API_BASE") or _env("APORIO_API_BASE"))
        key = spec.settings.api_key or _env("APORIA_API_KEY") or _env("APORIO_API_KEY")
        if not key:
            raise GuardrailConfigError(
                "needs an API key: set api_key (api_key: os.environ/APORIA_API_KEY) or export APORIA_API_KEY", "api_key"
            )
        self.headers = {"x-aporia-api-key": key}

    async def check(self, batch: TextBatch) -> GuardrailResult:
        p: AporiaParams = self.params
        body: dict[str, Any]
        if batch.direction == "input":
            body = {"messages": _messages(batch.messages()), "validation_target": "prompt"}
        else:
            body = {"response": batch.joined(), "validation_target": p.output_validation_target}
            if p.output_validation_target == "both":
                body["messages"] = _messages(batch.request_messages())
        if p.explain:
            body["explain"] = True
        answer = await post_json(
            self.gateway, "aporia", self.url + "/validate", body, self.headers, timeout=self.settings.timeout
        )
        expect(
            isinstance(answer, dict) and answer.get("action") in ACTIONS,
            "aporia",
            f"'action' is not one of {', '.join(ACTIONS)}",
        )
        action = answer["action"]
        details = {"action": action}
        if action == "block":
            return GuardrailResult.blocked("Violated guardrail policy", aporia_ai_response=answer, **details)
        revised = answer.get("revised_response")
        if (
            action != "passthrough"
            and p.use_revised_response
            and batch.direction == "output"
            and isinstance(revised, str)
            and len(batch.texts) == 1
        ):
            return GuardrailResult.masked([revised], **details)
        return GuardrailResult.passed(**details)


def _messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    # Aporia knows system/user/assistant; anything else (tool) is sent as "other"
    return [{**m, "role": m["role"] if m["role"] in ROLES else "other"} for m in messages]


def _env(name: str) -> str | None:
    return os.environ.get(name) or None
