"""gateway: a plugin-based, OpenAI-compatible LLM gateway.

The public API for plugin authors is what this module exports; everything else may change.
"""

from importlib.metadata import PackageNotFoundError, version

from gateway._aio import wait_event
from gateway._app import create_app
from gateway._config.keys import ConfigKey, config_keys
from gateway._errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ClientDisconnectedError,
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
from gateway._gateway import Gateway
from gateway._hookspecs import hookimpl, hookspec
from gateway._logs import get_logger
from gateway._providers import Provider
from gateway._types import (
    Alert,
    BudgetScope,
    Deployment,
    JSONResponseBody,
    LogEvent,
    NativeEvents,
    Principal,
    RequestContext,
    ResponseBody,
    StreamResponseBody,
    Usage,
)
from gateway.chat import GATEWAY_ONLY_FIELDS

try:
    __version__ = version("gateway")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Gateway",
    "wait_event",
    "create_app",
    "config_keys",
    "ConfigKey",
    "hookimpl",
    "hookspec",
    "Provider",
    "GATEWAY_ONLY_FIELDS",
    "Deployment",
    "Principal",
    "BudgetScope",
    "RequestContext",
    "JSONResponseBody",
    "StreamResponseBody",
    "ResponseBody",
    "NativeEvents",
    "LogEvent",
    "Usage",
    "Alert",
    "get_logger",
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
    "ClientDisconnectedError",
    "ConfigError",
    "PluginError",
    "__version__",
]
