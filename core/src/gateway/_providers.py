"""The provider interface and the registry that maps ``litellm_params.model`` prefixes to providers.

A provider plugin registers objects of this shape from ``gateway_register_providers``.  The
request pipeline speaks OpenAI's format; a provider translates to and from its upstream's format.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, ClassVar

from gateway._errors import BadRequestError, PluginError
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
    #: bare model names (no ``provider/`` prefix) this provider serves, as LiteLLM infers them:
    #: exact names or ``fnmatch`` patterns (``gpt-*``, ``claude-*``).  A config's ``model: gpt-4o``
    #: goes to the provider registered with a matching pattern; an instance attribute may override
    #: it (one class registered under several prefixes claims names under one of them only)
    bare_models: Iterable[str] = ()
    #: whether one deployment of this provider serves any model name a wildcard group hands it
    #: (``model_name: "anthropic/*"``): true when what ``validate_deployment`` builds does not depend
    #: on ``deployment.model`` (the model name goes in the body); the call then gets a copy of the
    #: deployment with the requested model and the same id
    wildcard_models: ClassVar[bool] = False

    def validate_deployment(self, deployment: Deployment) -> None:
        """Raise ``ValueError`` with a fix-it message when a deployment cannot work."""

    def api_base(self, deployment: Deployment) -> str | None:
        """The base URL this provider calls for ``deployment`` (its default when the config sets
        none), for the ``x-litellm-model-api-base`` answer header; None when there is no such URL.
        Called once per deployment; credentials and the query are taken out before it is sent."""
        return deployment.api_base

    async def sign_passthrough(
        self, deployment: Deployment, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str] | None:
        """The headers for a pass-through request (``/bedrock/...``: docs/pass-through.md) to this
        deployment's upstream, for providers that authenticate each request by signing it (AWS
        SigV4): ``headers`` plus the signature, for exactly this method, URL (sent as given) and
        body.  None (the default): the deployment's ``api_key`` authenticates it, or nothing does."""
        return None

    # Each endpoint is usually ``async def``; a plain method that returns an awaitable works too
    # (the OpenAI provider does that to save a coroutine layer per request).

    def chat(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support chat completions", param="model")

    def completions(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support text completions", param="model")

    def embeddings(self, ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
        raise BadRequestError(f"provider {deployment.provider!r} does not support embeddings", param="model")


class ProviderRegistry(Registry[Provider]):
    """``litellm_params.model`` prefix -> the provider serving it; and which prefix serves a bare
    model name (``gpt-4o`` -> ``openai``), from what each provider declares in ``bare_models``."""

    def __init__(self) -> None:
        super().__init__("provider prefix")
        #: exact bare names -> prefix; patterns, most specific first, with their prefix
        self._exact: dict[str, str] = {}
        self._patterns: list[tuple[str, str]] = []

    def prefixes(self) -> list[str]:
        return self.names()

    def index_bare_models(self) -> None:
        """Collect every provider's ``bare_models`` (once, after registration).  Two prefixes
        claiming the same name or pattern is a start-up error naming both plugins."""
        claimed: dict[str, str] = {}
        for prefix, provider in self.items():
            for name in getattr(provider, "bare_models", ()) or ():
                other = claimed.get(name)
                if other is not None and other != prefix:
                    raise PluginError(
                        f"the bare model name {name!r} is claimed by the provider prefixes {other!r} "
                        f"({self.owner(other)}) and {prefix!r} ({self.owner(prefix)}); disable one of them "
                        "(GATEWAY_DISABLE_PLUGINS) or write the prefix in the config"
                    )
                claimed[name] = prefix
        self._exact = {name: prefix for name, prefix in claimed.items() if not _is_pattern(name)}
        # the most specific pattern first: the longest literal part (``gpt-3.5-turbo-instruct*``
        # before ``gpt-*``), then fewer wildcards
        self._patterns = sorted(
            ((name, prefix) for name, prefix in claimed.items() if _is_pattern(name)),
            key=lambda item: (-_literal_length(item[0]), item[0].count("*"), item[0]),
        )

    def infer(self, model: str) -> str | None:
        """The prefix whose provider serves the bare model name ``model``, or None."""
        found = self._exact.get(model)
        if found is not None:
            return found
        for pattern, prefix in self._patterns:
            if fnmatchcase(model, pattern):
                return prefix
        return None


def _is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def _literal_length(pattern: str) -> int:
    return len(pattern) - sum(pattern.count(c) for c in "*?")
