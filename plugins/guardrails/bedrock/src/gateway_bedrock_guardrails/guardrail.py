"""Amazon Bedrock ``ApplyGuardrail``: ``POST /guardrail/{id}/version/{version}/apply``.

Shapes: docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html
(request ``source``, ``content[{text: {text}}]``, ``outputScope``; response ``action``
``NONE|GUARDRAIL_INTERVENED``, ``actionReason``, ``outputs[{text}]``, ``assessments[]`` with
topic/content/word/sensitiveInformation/contextualGrounding policies whose items carry an
``action`` such as ``BLOCKED`` or ``ANONYMIZED``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal
from urllib.parse import quote

import orjson
from pydantic import BaseModel, ConfigDict, Field

from gateway.guardrails import (
    Guardrail,
    GuardrailConfigError,
    GuardrailResult,
    GuardrailSpec,
    GuardrailUnavailable,
    TextBatch,
    expect,
)

from .signing import resolve_credentials, signed_headers

POLICY_LISTS = {
    "topicPolicy": ("topics",),
    "contentPolicy": ("filters",),
    "wordPolicy": ("customWords", "managedWordLists"),
    "sensitiveInformationPolicy": ("piiEntities", "regexes"),
    "contextualGroundingPolicy": ("filters",),
}


class BedrockParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    guardrailIdentifier: str = Field(min_length=1)
    guardrailVersion: str = Field(default="DRAFT", pattern=r"^([1-9][0-9]{0,7}|DRAFT)$")
    aws_region_name: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_profile_name: str | None = None
    #: apply Bedrock's anonymized text (``ANONYMIZED`` PII) to prompts / answers
    mask_request_content: bool = True
    mask_response_content: bool = True
    output_scope: Literal["INTERVENTIONS", "FULL"] | None = None


def actions_of(assessments: list[Any]) -> list[tuple[str, str]]:
    """``(policy item type, action)`` for every assessed item, e.g. ``("EMAIL", "ANONYMIZED")``."""
    found = []
    for assessment in assessments:
        if not isinstance(assessment, dict):
            continue
        for policy, lists in POLICY_LISTS.items():
            section = assessment.get(policy)
            if not isinstance(section, dict):
                continue
            for key in lists:
                for item in section.get(key) or ():
                    if isinstance(item, dict) and item.get("action"):
                        found.append(
                            (
                                str(item.get("type") or item.get("name") or item.get("match_type") or policy),
                                str(item["action"]),
                            )
                        )
    return found


class BedrockGuard(Guardrail):
    params_model = BedrockParams

    def __init__(self, spec: GuardrailSpec, gateway: Any) -> None:
        super().__init__(spec, gateway)
        p: BedrockParams = spec.params
        self.region = p.aws_region_name or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not self.region:
            raise GuardrailConfigError("needs a region: set aws_region_name or AWS_REGION", "aws_region_name")
        if bool(p.aws_access_key_id) != bool(p.aws_secret_access_key):
            raise GuardrailConfigError(
                "set both aws_access_key_id and aws_secret_access_key, or neither "
                "(to use the default credential chain)",
                "aws_access_key_id",
            )
        base = (spec.settings.api_base or f"https://bedrock-runtime.{self.region}.amazonaws.com").rstrip("/")
        self.url = (
            f"{base}/guardrail/{quote(p.guardrailIdentifier, safe='')}/version/"
            f"{quote(p.guardrailVersion, safe='')}/apply"
        )
        self.credentials: Any = None

    async def start(self) -> None:
        p: BedrockParams = self.params
        self.credentials = await asyncio.to_thread(
            resolve_credentials, p.aws_access_key_id, p.aws_secret_access_key, p.aws_session_token, p.aws_profile_name
        )

    async def check(self, batch: TextBatch) -> GuardrailResult:
        if self.credentials is None:
            raise GuardrailUnavailable("no AWS credentials found (keys, AWS_* variables, profile or instance role)")
        body: dict[str, Any] = {
            "source": "INPUT" if batch.direction == "input" else "OUTPUT",
            "content": [{"text": {"text": t}} for t in batch.texts],
        }
        if self.params.output_scope:
            body["outputScope"] = self.params.output_scope
        raw = orjson.dumps(body)
        # signing is microseconds of hashing; the credentials object refreshes itself when temporary
        headers = signed_headers(self.credentials, self.region, self.url, raw)
        _, _, payload = await self.gateway.upstream.post(
            "bedrock", self.url, raw, headers, timeout=self.settings.timeout
        )
        try:
            answer = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise GuardrailUnavailable("bedrock answered with something that is not JSON") from exc
        expect(
            isinstance(answer, dict) and answer.get("action") in ("NONE", "GUARDRAIL_INTERVENED"),
            "bedrock",
            "'action' is not NONE or GUARDRAIL_INTERVENED",
        )
        return self._decide(batch, answer)

    def _decide(self, batch: TextBatch, answer: dict[str, Any]) -> GuardrailResult:
        assessments = answer.get("assessments") or []
        expect(isinstance(assessments, list), "bedrock", "'assessments' is not a list")
        actions = actions_of(assessments)
        details: dict[str, Any] = {
            "action": answer["action"],
            "interventions": sorted({f"{kind}:{action}" for kind, action in actions if action != "NONE"}),
        }
        if answer["action"] == "NONE":
            return GuardrailResult.passed(**details)
        blocked = any(action == "BLOCKED" for _, action in actions) or not actions
        mask = self.params.mask_request_content if batch.direction == "input" else self.params.mask_response_content
        if blocked or not mask:
            if not blocked:
                return GuardrailResult.passed(**details)
            reason = answer.get("actionReason") or "Violated guardrail policy"
            return GuardrailResult.blocked("Violated guardrail policy", bedrock_action_reason=reason, **details)
        outputs = answer.get("outputs") or []
        texts = [o.get("text") for o in outputs if isinstance(o, dict)]
        expect(
            len(texts) == len(batch.texts) and all(isinstance(t, str) for t in texts),
            "bedrock",
            f"{len(texts)} anonymized outputs for {len(batch.texts)} texts",
        )
        return GuardrailResult.masked(texts, **details)  # type: ignore[arg-type]
