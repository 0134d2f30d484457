"""Helpers for guardrails that call a vendor's HTTP API through the gateway's shared client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from gateway.guardrails._base import GuardrailConfigError, GuardrailUnavailable

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway.guardrails._settings import GuardrailSettings


async def post_json(
    gateway: Gateway, vendor: str, url: str, body: Any, headers: Mapping[str, str], *, timeout: float
) -> Any:
    """POST ``body`` as JSON and return the parsed answer.

    Non-2xx answers and transport failures raise the gateway's ``UpstreamError`` (the framework
    applies the guardrail's failure policy to it); an answer that is not JSON raises
    :class:`GuardrailUnavailable`.  Vendor error bodies are never echoed: they may quote the prompt.
    """
    _, _, payload = await gateway.upstream.post(
        vendor, url, orjson.dumps(body), {"content-type": "application/json", **headers}, timeout=timeout
    )
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise GuardrailUnavailable(f"{vendor} answered with something that is not JSON") from exc


def base_url(settings: GuardrailSettings, env_var: str | None, default: str | None) -> str:
    """``api_base``, else ``$env_var``, else ``default``; ``http://`` added when no scheme is given."""
    url = settings.api_base or (os.environ.get(env_var) if env_var else None) or default
    if not url:
        raise GuardrailConfigError(
            f"set api_base{f' (or {env_var})' if env_var else ''} to the vendor's URL", "api_base"
        )
    url = url.rstrip("/")
    return url if "://" in url else "http://" + url


def api_key(settings: GuardrailSettings, env_var: str | None, *, required: bool = True) -> str | None:
    """``api_key``, else ``$env_var``; a start-up error naming both when required and missing."""
    key = settings.api_key or (os.environ.get(env_var) if env_var else None)
    if key is None and required:
        raise GuardrailConfigError(
            f"needs an API key: set api_key (for example api_key: os.environ/{env_var or 'VENDOR_API_KEY'})"
            + (f" or export {env_var}" if env_var else ""),
            "api_key",
        )
    return key


def expect(condition: bool, vendor: str, what: str) -> None:
    """Raise :class:`GuardrailUnavailable` when a vendor's answer does not have the documented shape."""
    if not condition:
        raise GuardrailUnavailable(f"malformed {vendor} answer: {what}")
