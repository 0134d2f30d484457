"""gateway: a plugin-based, OpenAI-compatible LLM gateway.

The public API for plugin authors is what this module exports; everything else may change.
"""

from importlib.metadata import PackageNotFoundError, version

from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    GatewayError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PluginError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from gateway.gateway import Gateway
from gateway.hookspecs import hookimpl, hookspec
from gateway.providers import GATEWAY_ONLY_FIELDS, Provider, request_body_for_upstream
from gateway.types import (
    BudgetScope,
    Deployment,
    JSONResponseBody,
    LogEvent,
    Principal,
    RequestContext,
    ResponseBody,
    StreamResponseBody,
    Usage,
)

try:
    __version__ = version("gateway")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Gateway",
    "hookimpl",
    "hookspec",
    "Provider",
    "request_body_for_upstream",
    "GATEWAY_ONLY_FIELDS",
    "Deployment",
    "Principal",
    "BudgetScope",
    "RequestContext",
    "JSONResponseBody",
    "StreamResponseBody",
    "ResponseBody",
    "LogEvent",
    "Usage",
    "GatewayError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitError",
    "RequestTimeoutError",
    "BudgetExceededError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "UpstreamUnreachableError",
    "ServiceUnavailableError",
    "ConfigError",
    "PluginError",
    "__version__",
]
