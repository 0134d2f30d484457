"""Errors that become OpenAI-shaped HTTP answers.

Every error a client can see is a ``GatewayError``: it carries the HTTP status and the four fields
of the OpenAI error body (``message``, ``type``, ``param``, ``code``).  ``code`` is the HTTP
status as a string, as the LiteLLM proxy does, so clients migrating from it keep working.
Plugins raise these (or subclasses) from hooks to stop a request with a proper answer.
"""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    status: int = 500
    type: str = "internal_server_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        self.param = param
        self.code = code if code is not None else str(self.status)
        self.headers = headers or {}
        #: extra fields for the error body (``provider_specific_fields`` in LiteLLM's envelope)
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.extra:
            err["provider_specific_fields"] = self.extra
        return {"error": err}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


class BadRequestError(GatewayError):
    status = 400
    type = "invalid_request_error"


class AuthenticationError(GatewayError):
    status = 401
    type = "auth_error"


class PermissionDeniedError(GatewayError):
    status = 403
    type = "permission_denied"


class NotFoundError(GatewayError):
    status = 404
    type = "not_found_error"


class RequestTimeoutError(GatewayError):
    """The client stopped sending its request (408); the connection is closed after the answer."""

    status = 408
    type = "request_timeout"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("headers", {"connection": "close"})
        super().__init__(message, **kw)


class PayloadTooLargeError(GatewayError):
    status = 413
    type = "invalid_request_error"


class RateLimitError(GatewayError):
    status = 429
    type = "rate_limit_error"


class BudgetExceededError(GatewayError):
    #: LiteLLM's default; ``litellm_settings.budget_exceeded_status_code`` changes it
    status = 422
    type = "budget_exceeded"


class UpstreamError(GatewayError):
    """The provider failed; ``status`` is what the client sees, ``upstream_status`` what we got."""

    status = 502
    type = "upstream_error"

    def __init__(self, message: str, *, upstream_status: int | None = None, retryable: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.upstream_status = upstream_status
        self.retryable = retryable


class UpstreamUnreachableError(UpstreamError):
    """The upstream could not be reached or dropped the connection before answering.

    The message never names a host, an address or a URL (clients must not learn the internal
    network); the gateway's log has them.  ``template`` holds ``{upstream}``, filled with
    "the <provider> upstream" until the retry loop, which knows the deployment, names it.
    """

    def __init__(self, template: str, provider: str, **kw: Any) -> None:
        self.template = template
        super().__init__(template.format(upstream=f"the {provider} upstream"), **kw)

    def name_deployment(self, deployment_id: str, model_group: str) -> None:
        self.message = self.template.format(upstream=f"the upstream of deployment {deployment_id} ({model_group})")
        self.args = (self.message,)


class UpstreamTimeoutError(UpstreamError):
    status = 504
    type = "timeout"


class ClientDisconnectedError(GatewayError):
    """Recorded (never sent) when a client goes away before its answer ended; 499 as nginx logs it."""

    status = 499
    type = "client_disconnected"


class ServiceUnavailableError(GatewayError):
    status = 503
    type = "service_unavailable"


class ConfigError(Exception):
    """A configuration mistake found at start-up; the message names the key, place and fix."""


class PluginError(Exception):
    """A plugin could not be loaded or registered (duplicate name, unknown hook ...)."""


def upstream_status_error(
    provider: str, status: int, message: str, *, retry_after: str | None = None, type: str | None = None
) -> UpstreamError:
    """Map an upstream HTTP error status to the error the client should see.

    4xx errors other than 408/409/429 are the client's fault and are passed on unchanged and not
    retried; 429 and 5xx are retried on another deployment by the router and, when every attempt
    fails, passed on with their status so SDK retry logic still works.
    """
    headers = {"retry-after": retry_after} if retry_after else {}
    text = f"{provider} returned HTTP {status}: {message}"
    if status == 429:
        return UpstreamError(text, status=429, type=type or "rate_limit_error", upstream_status=status, headers=headers)
    if status in (408, 409) or status >= 500:
        client_status = status if status >= 500 else 502
        return UpstreamError(
            text, status=client_status, type=type or "upstream_error", upstream_status=status, headers=headers
        )
    kind = {400: "invalid_request_error", 401: "auth_error", 403: "permission_denied", 404: "not_found_error"}.get(
        status, "invalid_request_error"
    )
    if status in (401, 403):
        # the upstream refused *our* credentials: the client cannot fix that, so it is a gateway fault
        return UpstreamError(
            f"{provider} rejected the gateway's credentials for this deployment (HTTP {status}): {message}",
            status=502,
            type="upstream_auth_error",
            upstream_status=status,
            retryable=True,
        )
    return UpstreamError(text, status=status, type=type or kind, upstream_status=status, retryable=False)
