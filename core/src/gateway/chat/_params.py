"""Request parameters and the gateway: which fields steer the gateway, and ``drop_params``.

A translating encoder leaves out what its upstream has no form for; ``drop_params`` decides
whether that is said in a response header or refused with a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway._errors import BadRequestError

#: request fields that steer the gateway itself and must never reach an upstream: LiteLLM's
#: request-level "litellm params" (docs.litellm.ai: proxy reliability, mock requests, caching, tag
#: routing, spend-log metadata, request-level router config).  A name here is taken out of every
#: upstream body, so only names no provider's API uses belong here.
GATEWAY_ONLY_FIELDS = frozenset(
    {
        # routing and reliability
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "context_window_fallback_dict",
        "disable_fallbacks",
        "max_fallbacks",
        "fastest_response",
        "num_retries",
        "max_retries",
        "retry_policy",
        "timeout",
        "request_timeout",
        "stream_timeout",
        "user_config",
        "model_list",
        "specific_deployment",
        # LiteLLM's testing aids (gateway._mock_flags)
        "mock_response",
        "mock_timeout",
        "mock_delay",
        "mock_testing_fallbacks",
        "mock_testing_context_fallbacks",
        "mock_testing_content_policy_fallbacks",
        "mock_testing_rate_limit_error",
        # caching
        "caching",
        "cache",
        "ttl",
        "no-cache",
        "no-store",
        "cache_key",
        # logging, spend tracking, guardrails
        "metadata",
        "litellm_metadata",
        "litellm_session_id",
        "litellm_trace_id",
        "litellm_call_id",
        "tags",
        "guardrails",
        "disable_global_guardrails",
        "proxy_server_request",
        # per-request credentials and prices (never sent to a provider, never honoured from a client)
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "custom_llm_provider",
        "input_cost_per_token",
        "output_cost_per_token",
        "input_cost_per_second",
        "output_cost_per_second",
        "base_model",
        "drop_params",
        "additional_drop_params",
        "allowed_openai_params",
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
