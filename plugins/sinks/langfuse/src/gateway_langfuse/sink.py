"""The Langfuse sink: batches of requests as OTLP/HTTP protobuf to ``{host}/api/public/otel/v1/traces``.

Credentials are Basic auth (public key : secret key).  They come from, in order: the request's
``metadata`` (``langfuse_public_key`` / ``langfuse_secret_key`` / ``langfuse_host``, as in
LiteLLM), the caller's key or team settings (``metadata.logging`` entries with
``callback_name: langfuse`` and ``callback_vars``), then ``plugins.langfuse`` / the environment.
A batch is split per credential set, so teams with their own Langfuse projects never see each
other's traces.
"""

from __future__ import annotations

import base64
import gzip
import os
from dataclasses import dataclass
from typing import Any

from gateway_otel.otlp import encode_in_slices, encode_spans

from gateway import __version__
from gateway.sinks import Sink, SinkError

from .config import LangfuseConfig
from .spans import request_spans, trace_id_for

ENV_PREFIX = "os.environ/"


@dataclass(frozen=True, slots=True)
class Credentials:
    public_key: str
    secret_key: str
    host: str

    def headers(self, gzip_body: bool) -> dict[str, str]:
        token = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        headers = {
            "authorization": f"Basic {token}",
            "content-type": "application/x-protobuf",
            "x-langfuse-public-key": self.public_key,
            "x-langfuse-sdk-name": "gateway",
            "x-langfuse-sdk-version": __version__,
            # direct OTLP exporters must say which ingestion version they speak (Langfuse API docs)
            "x-langfuse-ingestion-version": "4",
        }
        if gzip_body:
            headers["content-encoding"] = "gzip"
        return headers


def _value(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    if raw.startswith(ENV_PREFIX):
        return os.environ.get(raw[len(ENV_PREFIX) :]) or None
    return raw


def _from_logging_settings(settings: Any) -> dict[str, Any] | None:
    """``callback_vars`` of the first ``langfuse`` entry of a key's or team's ``logging`` list."""
    if not isinstance(settings, list):
        return None
    for entry in settings:
        if isinstance(entry, dict) and entry.get("callback_name") in ("langfuse", "langfuse_otel"):
            found = entry.get("callback_vars")
            return found if isinstance(found, dict) else None
    return None


class LangfuseSink(Sink):
    """Sends each request as a Langfuse trace with one generation."""

    default_delivery = {"batch_size": 100, "flush_interval": 1.0}

    def __init__(self, config: LangfuseConfig, default_tags: list[str]) -> None:
        assert config.public_key and config.secret_key and config.host
        self.config = config
        self.default = Credentials(config.public_key, config.secret_key, config.host)
        self.tags = list(dict.fromkeys([*default_tags, *config.default_tags]))
        self.url_path = config.traces_path or "/api/public/otel/v1/traces"
        self.sample_rate = config.sample_rate if config.sample_rate is not None else 1.0

    def credentials_for(self, event: Any) -> Credentials:
        ctx = event.ctx
        # the request's own gateway ``metadata`` first (LiteLLM's per-request Langfuse keys)
        sources: list[Any] = [ctx.request.metadata() if ctx.request is not None else None]
        principal = ctx.principal
        if principal is not None:
            sources.append(_from_logging_settings(principal.metadata.get("logging")))
            team = principal.extra.get("team_metadata") if isinstance(principal.extra, dict) else None
            if isinstance(team, dict):
                sources.append(_from_logging_settings(team.get("logging")))
        for source in sources:
            if not isinstance(source, dict):
                continue
            public, secret = _value(source.get("langfuse_public_key")), _value(source.get("langfuse_secret_key"))
            if public and secret:
                host = _value(source.get("langfuse_host")) or self.default.host
                return Credentials(public, secret, host.rstrip("/"))
        return self.default

    def prepare(self, payload: dict[str, Any], event: Any) -> Any:
        if self.sample_rate < 1.0 and int(trace_id_for(payload)[:8], 16) / 0xFFFFFFFF >= self.sample_rate:
            return None
        return self.credentials_for(event), payload

    async def send_batch(self, items: list[Any]) -> None:
        groups: dict[Credentials, list[dict[str, Any]]] = {}
        for credentials, payload in items:
            groups.setdefault(credentials, []).append(payload)
        for credentials, payloads in groups.items():
            await self._post(credentials, payloads)

    async def _post(self, credentials: Credentials, payloads: list[dict[str, Any]]) -> None:
        def encode(chunk: list[dict[str, Any]]) -> bytes:
            spans = [
                span
                for payload in chunk
                for span in request_spans(
                    payload, tags=self.tags, environment=self.config.environment, release=self.config.release
                )
            ]
            return encode_spans(
                spans,
                resource={
                    "service.name": "gateway",
                    "telemetry.sdk.name": "gateway",
                    "telemetry.sdk.version": __version__,
                },
                scope_name="gateway-langfuse",
                scope_version=__version__,
                scope_attributes={"public_key": credentials.public_key},
            )

        body = await encode_in_slices(payloads, encode)
        compress = bool(self.config.compression)
        if compress:
            body = gzip.compress(body, compresslevel=5)
        url = credentials.host + self.url_path
        # never follow redirects: that would send the project's keys wherever the redirect points
        async with self.session.post(
            url, data=body, headers=credentials.headers(compress), allow_redirects=False
        ) as resp:
            if resp.status < 300:
                return
            text = (await resp.content.read(300)).decode("utf-8", "replace")
            retryable = resp.status >= 500 or resp.status in (408, 429)
            raise SinkError(f"Langfuse at {credentials.host} answered HTTP {resp.status}: {text}", retryable=retryable)
