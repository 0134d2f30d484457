"""Request parameters and the gateway: which fields steer the gateway, and ``drop_params``.

A translating encoder leaves out what its upstream has no form for; ``drop_params`` decides
whether that is said in a response header or refused with a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway._errors import BadRequestError

#: request fields that steer the gateway itself and must never reach an upstream
GATEWAY_ONLY_FIELDS = frozenset(
    {
        "metadata",
        "guardrails",
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "num_retries",
        "mock_response",
        "caching",
        "cache",
        "ttl",
        "tags",
        "litellm_metadata",
        "disable_fallbacks",
        "disable_global_guardrails",
    }
)

#: response header listing the parameters dropped because of ``drop_params``
DROPPED_PARAMS_HEADER = "x-gateway-dropped-params"


def drop_or_refuse(
    names: list[str], *, provider: str, drop: bool, response_headers: dict[str, str] | None = None
) -> None:
    """Apply ``drop_params`` to unsupported parameters ``names``.

    With ``drop`` on, the names are recorded in the ``x-gateway-dropped-params`` response header
    (when ``response_headers`` is given) so the client can see what was ignored; otherwise the
    request is refused with a 400 naming the first parameter and the provider.
    """
    if not names:
        return
    if drop:
        if response_headers is not None:
            previous = response_headers.get(DROPPED_PARAMS_HEADER)
            listed = ([previous] if previous else []) + [
                n for n in names if not previous or n not in previous.split(",")
            ]
            response_headers[DROPPED_PARAMS_HEADER] = ",".join(listed)
        return
    first = names[0]
    others = f" (also unsupported: {', '.join(names[1:])})" if len(names) > 1 else ""
    raise BadRequestError(
        f"{provider} does not support the parameter '{first}'{others}. Remove it from the request, or set "
        "litellm_settings.drop_params: true (or drop_params: true on the deployment) to have the gateway drop it",
        param=first,
        code="400",
    )


def effective_drop_params(deployment_params: Mapping[str, Any], gateway_default: bool | None) -> bool:
    """``drop_params`` of the deployment when set, else the gateway's ``litellm_settings.drop_params``."""
    value = deployment_params.get("drop_params")
    return bool(gateway_default) if value is None else bool(value)
