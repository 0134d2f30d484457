"""``GET /cache/ping`` and ``POST /cache/delete``: LiteLLM's cache admin routes (admin keys only)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import BadRequestError, GatewayError, ServiceUnavailableError
from gateway.http import error_response, json_response, read_json, require_admin_request

from .config import PLUGIN

#: keys one /cache/delete may name
MAX_DELETE_KEYS = 1000


def _cache(gateway: Any) -> Any:
    cache = gateway.state.get(PLUGIN)
    if cache is None:
        raise ServiceUnavailableError(
            "caching is off: set litellm_settings.cache: true (and cache_params) to turn gateway-cache on"
        )
    return cache


def cache_routes(gateway: Any) -> list[Route]:
    async def ping(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
            cache = _cache(gateway)
            try:
                await cache.backend.ping()
            except Exception as exc:
                cache.count_failure(exc)
                raise ServiceUnavailableError(
                    f"the {cache.backend.kind} cache does not answer ({type(exc).__name__}); requests bypass it"
                ) from None
            cache.down_until = 0.0  # it answers again: requests use it from now on
        except GatewayError as exc:
            return error_response(exc)
        settings = cache.settings
        return json_response(
            {
                "status": "healthy",
                "cache_type": cache.backend.kind,
                "ping_response": True,
                "namespace": settings.namespace,
                "ttl": settings.ttl,
                "mode": "default_on" if settings.default_on else "default_off",
                "stats": dict(cache.stats.counts),
            }
        )

    async def delete(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
            body = await read_json(request, gateway)
            cache = _cache(gateway)
            keys = body.get("keys")
            if not isinstance(keys, list) or not all(isinstance(k, str) and k and "\x00" not in k for k in keys):
                raise BadRequestError(
                    'keys must be a list of cache keys (the x-litellm-cache-key header of an answer), e.g. {"keys": '
                    '["..."]}',
                    param="keys",
                )
            if len(keys) > MAX_DELETE_KEYS:
                raise BadRequestError(f"keys may name at most {MAX_DELETE_KEYS} entries per call", param="keys")
            prefix = cache.settings.namespace + ":"
            foreign = [k for k in keys if not k.startswith(prefix) or k.endswith(":lock")]
            if foreign:
                raise BadRequestError(
                    f"{foreign[0][:80]!r} is not a key of this cache (its keys start with {prefix!r})", param="keys"
                )
            try:
                deleted = await cache.backend.delete(keys)
            except Exception as exc:
                cache.count_failure(exc)
                raise ServiceUnavailableError(
                    f"the {cache.backend.kind} cache does not answer ({type(exc).__name__}); nothing was deleted"
                ) from None
        except GatewayError as exc:
            return error_response(exc)
        return json_response({"status": "success", "deleted": deleted})

    return [Route("/cache/ping", ping, methods=["GET"]), Route("/cache/delete", delete, methods=["POST"])]
