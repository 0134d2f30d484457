"""Helicone's async logging body, built from the gateway's log payload, and its delivery."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from gateway.sinks import Sink, SinkError

DEFAULT_BASE = "https://api.worker.helicone.ai"
LOG_PATH = "/oai/v1/log"
ENDPOINT_PATHS = {"chat": "/chat/completions", "completions": "/completions", "embeddings": "/embeddings"}
#: stable namespace: a request id always maps to the same Helicone-Request-Id (retries do not duplicate)
REQUEST_ID_NAMESPACE = uuid.UUID("6f1d1b1e-3c1f-4a8e-9a55-0b8f3f3d6a11")


def _timestamp(epoch: float) -> dict[str, int]:
    seconds = int(epoch)
    return {"seconds": seconds, "milliseconds": int(round((epoch - seconds) * 1000)) % 1000}


def helicone_body(p: dict[str, Any], properties: dict[str, str]) -> dict[str, Any]:
    """``{providerRequest, providerResponse, timing}`` for one request."""
    request = p.get("request") or {}
    body: dict[str, Any] = {"model": p["model"] or p["requested_model"], **(request.get("params") or {})}
    for field in ("messages", "prompt", "input", "tools"):
        if field in request:
            body[field] = request[field]
    if p["redacted"] and not request:
        body["messages"] = [{"role": "user", "content": "redacted-by-gateway"}]
    principal = p.get("principal") or {}
    meta = {
        "Helicone-Request-Id": str(uuid.uuid5(REQUEST_ID_NAMESPACE, p["request_id"])),
        "Helicone-User-Id": p.get("end_user") or principal.get("user_id"),
        "Helicone-Session-Id": p["metadata"].get("session_id"),
        "Helicone-Property-Gateway-Request-Id": p["request_id"],
        "Helicone-Property-Model-Group": p["model_group"] or None,
        "Helicone-Property-Deployment": p["deployment_id"],
        "Helicone-Property-Key-Alias": principal.get("key_alias"),
        "Helicone-Property-Team": principal.get("team_alias") or principal.get("team_id"),
        "Helicone-Property-Tags": ",".join(p["tags"]) or None,
        "Helicone-Property-Cost-Usd": None if p["cost_usd"] is None else f"{p['cost_usd']:.8f}",
        **{f"Helicone-Property-{k}": v for k, v in properties.items()},
    }
    if p["status"] < 400:
        response_json: dict[str, Any] = dict(p.get("response") or {})
        if p["usage"]:
            response_json["usage"] = {k: p["usage"][k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    else:
        response_json = {"error": {"message": p["error_message"], "type": p["error_type"], "code": str(p["status"])}}
    timing: dict[str, Any] = {"startTime": _timestamp(p["start_time"]), "endTime": _timestamp(p["end_time"])}
    if p["time_to_first_token_ms"] is not None:
        timing["timeToFirstToken"] = round(p["time_to_first_token_ms"])
    base = (p["api_base"] or "https://api.openai.com/v1").rstrip("/")
    return {
        "providerRequest": {
            "url": base + ENDPOINT_PATHS.get(p["endpoint"], ""),
            "json": body,
            "meta": {k: str(v) for k, v in meta.items() if v is not None},
        },
        "providerResponse": {"json": response_json, "status": p["status"], "headers": {}},
        "timing": timing,
    }


class HeliconeSink(Sink):
    """One POST per request (Helicone's logging API takes one request per call), several at once."""

    default_delivery = {"batch_size": 50, "flush_interval": 1.0}

    def __init__(self, api_key: str, base: str, properties: dict[str, str], concurrency: int) -> None:
        self.url = base + LOG_PATH
        self.headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
        self.properties = properties
        self.concurrency = concurrency

    def prepare(self, payload: dict[str, Any], event: Any) -> Any:
        return {"body": orjson.dumps(helicone_body(payload, self.properties)), "sent": False}

    async def send_batch(self, items: list[Any]) -> None:
        pending = [item for item in items if not item["sent"]]  # a retried batch skips what already went
        gate = asyncio.Semaphore(self.concurrency)

        async def send(item: dict[str, Any]) -> str | None:
            async with gate:
                try:
                    async with self.session.post(
                        self.url, data=item["body"], headers=self.headers, allow_redirects=False
                    ) as resp:
                        if resp.status < 300:
                            item["sent"] = True
                            return None
                        return f"HTTP {resp.status}: {(await resp.content.read(200)).decode('utf-8', 'replace')}"
                except Exception as exc:  # transport errors: reported for the whole batch below
                    return f"{type(exc).__name__}: {exc}"

        errors = [e for e in await asyncio.gather(*(send(item) for item in pending)) if e]
        if errors:
            raise SinkError(f"Helicone refused {len(errors)} of {len(pending)} logs: {errors[0]}")
