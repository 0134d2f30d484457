"""A local Lakera Guard that speaks the documented API.

Shapes: docs.lakera.ai/docs/api/guard (``POST /v2/guard``: ``messages``, ``project_id``,
``payload``, ``breakdown``; answer ``flagged``, ``metadata.request_uuid``, ``breakdown[]`` with
``project_id, policy_id, detector_id, detector_type, detected, message_id``, ``payload[]`` with
``start, end, text, detector_type, labels, message_id``) and, for the legacy endpoint, LiteLLM's
``lakera_ai.py`` reading of ``POST /v1/prompt_injection`` (``{"input": messages}`` ->
``results[0].flagged`` / ``categories`` / ``category_scores``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.testing import FakeUpstream, RecordedRequest, Reply

ATTACK = re.compile(r"ignore (all )?previous instructions", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def guard_v2(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or []
    findings = []
    attack = False
    for index, message in enumerate(messages):
        content = str(message.get("content", ""))
        attack = attack or bool(ATTACK.search(content))
        for match in EMAIL.finditer(content):
            findings.append(
                {
                    "start": match.start(),
                    "end": match.end(),
                    "text": match.group(0),
                    "detector_type": "pii/email",
                    "labels": ["pii/email"],
                    "message_id": index,
                }
            )
    detectors = {"prompt_attack": attack, "pii/email": bool(findings), "moderated_content/hate": False}
    answer: dict[str, Any] = {"flagged": attack or bool(findings), "metadata": {"request_uuid": str(uuid.uuid4())}}
    if body.get("breakdown"):
        answer["breakdown"] = [
            {
                "project_id": body.get("project_id", "project-default"),
                "policy_id": "policy-1",
                "detector_id": f"detector-{name}",
                "detector_type": name,
                "detected": hit,
                "message_id": len(messages) - 1,
            }
            for name, hit in detectors.items()
        ]
    if body.get("payload"):
        answer["payload"] = findings
    return answer


def guard_v1(body: dict[str, Any]) -> dict[str, Any]:
    text = " ".join(str(m.get("content", "")) for m in body.get("input") or [])
    attack = bool(ATTACK.search(text))
    scores = {"prompt_injection": 0.97 if attack else 0.02, "jailbreak": 0.4 if attack else 0.01}
    return {
        "model": "lakera-guard-1",
        "results": [
            {
                "categories": {"prompt_injection": attack, "jailbreak": False},
                "category_scores": scores,
                "flagged": attack,
                "payload": {},
            }
        ],
        "dev_info": {"git_revision": "abc", "git_timestamp": "2024-01-01"},
    }


def lakera_reply(request: RecordedRequest) -> Reply:
    if request.path == "/v2/guard":
        return Reply(json=guard_v2(request.json))
    if request.path == "/v1/prompt_injection":
        return Reply(json=guard_v1(request.json))
    return Reply(status=404, json={"detail": "Not Found"})


@pytest.fixture
def lakera() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    server.default = lakera_reply
    server.start()
    try:
        yield server
    finally:
        server.stop()
