"""The provider interface and the registry that maps ``litellm_params.model`` prefixes to providers.

A provider plugin registers objects of this shape from ``gateway_register_providers``.  The
request pipeline speaks OpenAI's format; a provider translates to and from its upstream's format.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, ClassVar

from gateway._errors import BadRequestError
from gateway._registry import Registry

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Deployment, RequestContext, ResponseBody


class Provider:
    """Base class for providers; override the endpoints the upstream supports.

    ``params`` names the provider-specific ``litellm_params`` keys this provider reads (beyond the
    common ones: ``model``, ``api_key``, ``api_base``, ``api_version``, ``timeout``, ...), so the
    config check can tell a typo from a real option.
    """

    #: provider-specific ``litellm_params`` keys
    params: ClassVar[frozenset[str]] = frozenset()
    #: the distribution a user installs to get this provider (for error messages)
    distribution: ClassVar[str] = ""

    def validate_deployment(self, deployment: Deployment) -> None:
        """Raise ``ValueError`` with a fix-it message when a deployment cannot work."""

    def api_base(self, deployment: Deployment) -> str | None:
        """The base URL this provider calls for ``deployment`` (its default when the config sets
        none), for the ``x-litellm-model-api-base`` answer header; None when there is no such URL.
        Called once per deployment; credentials and the query are taken out before it is sent."""
        return deployment.api_base

    # Each endpoint is usually ``async def``; a plain method that returns an awaitable works too
    # (the OpenAI provider does that to save a coroutine layer per request).

    def chat(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support chat completions", param="model")

    def completions(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support text completions", param="model")

    def embeddings(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support embeddings", param="model")


class ProviderRegistry(Registry[Provider]):
    """``litellm_params.model`` prefix -> the provider serving it."""

    def __init__(self) -> None:
        super().__init__("provider prefix")

    def prefixes(self) -> list[str]:
        return self.names()
