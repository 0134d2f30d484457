"""Where a pass-through request goes, and with which credential: decided once, at start-up.

LiteLLM's provider routes (``/openai/*``, ``/anthropic/*``, ``/gemini/*``, ``/vertex_ai/*``,
``/bedrock/*``, ``/azure/*``) forward to the vendor's API with a credential from the config: the
``api_key`` (and ``api_base``) of a ``model_list`` deployment of that provider, the one serving the
model the request names when there is one, else LiteLLM's environment variables
(``ANTHROPIC_API_KEY`` ...).  ``general_settings.pass_through_endpoints`` adds routes of the
operator's own, each with a fixed target and headers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway._config import ENV_PREFIX
from gateway._errors import ConfigError
from gateway._types import Deployment

if TYPE_CHECKING:
    from gateway._config.schema import PassThroughEndpoint
    from gateway._gateway import Gateway


#: the model a Gemini / Vertex AI path names (``.../models/gemini-2.0-flash:generateContent``)
GOOGLE_MODEL = re.compile(r"/models/([^/:?]+)")
#: the model a Bedrock runtime path names (``/model/<id>/converse``)
BEDROCK_MODEL = re.compile(r"^/model/([^/?]+)/")
#: token counting, which the vendors do not bill: no budget or limit may refuse it
FREE_PATHS = re.compile(r"(/count_tokens|:countTokens|/input_tokens)$")
#: the deployment an Azure OpenAI path names (``/openai/deployments/<name>/chat/completions``)
AZURE_MODEL = re.compile(r"/deployments/([^/?]+)/")


@dataclass(frozen=True, slots=True)
class Vendor:
    """One of LiteLLM's provider pass-through routes: the vendor API's facts."""

    #: the gateway path prefix (``/anthropic``)
    prefix: str
    #: ``model_list`` provider prefixes whose deployments lend their credential
    providers: tuple[str, ...]
    #: the error envelope and the body kinds: ``openai``, ``anthropic``, ``google``, ``bedrock``
    format: str
    #: how the vendor takes its key: this header, ``Bearer <key>`` when ``bearer``
    auth_header: str
    bearer: bool
    #: LiteLLM's environment variables for the key and the base URL, and the vendor's default base
    key_env: str | None = None
    base_env: str | None = None
    default_base: str | None = None
    #: how to make the route work, named by the 404 of a route nothing configures
    remedy: str = ""
    #: where a path names the model (bodies that do are read instead: ``MODEL_BODY_PATHS``)
    path_model: re.Pattern[str] | None = None


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "/openai", ("openai",), "openai", "authorization", True, "OPENAI_API_KEY", "OPENAI_API_BASE",
        "https://api.openai.com/v1",
        "add an openai/ deployment to model_list (its api_key and api_base are used) or set OPENAI_API_KEY",
    ),
    Vendor(
        "/azure", ("azure",), "openai", "api-key", False, "AZURE_API_KEY", "AZURE_API_BASE", None,
        "add an azure/ deployment to model_list (its api_key and api_base are used) or set AZURE_API_KEY and "
        "AZURE_API_BASE", AZURE_MODEL,
    ),
    Vendor(
        "/anthropic", ("anthropic",), "anthropic", "x-api-key", False, "ANTHROPIC_API_KEY", "ANTHROPIC_API_BASE",
        "https://api.anthropic.com",
        "add an anthropic/ deployment to model_list (its api_key and api_base are used) or set ANTHROPIC_API_KEY",
    ),
    Vendor(
        "/gemini", ("gemini",), "google", "x-goog-api-key", False, "GEMINI_API_KEY", "GEMINI_API_BASE",
        "https://generativelanguage.googleapis.com",
        "add a gemini/ deployment to model_list (its api_key and api_base are used) or set GEMINI_API_KEY", GOOGLE_MODEL,
    ),
    Vendor(
        "/bedrock", ("bedrock",), "bedrock", "authorization", True, "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_BEDROCK_RUNTIME_ENDPOINT", None,
        "add a bedrock/ deployment to model_list (its AWS credentials sign each request) or set "
        "AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key) and AWS_REGION", BEDROCK_MODEL,
    ),
    Vendor(
        "/vertex_ai", ("vertex_ai",), "google", "authorization", True, None, None, None,
        "Vertex AI needs Google credentials the gateway does not mint: add a general_settings."
        "pass_through_endpoints entry with path: /vertex_ai, target: https://<location>-aiplatform.googleapis.com, "
        "include_subpath: true and an Authorization header", GOOGLE_MODEL,
    ),
)  # fmt: skip

#: POST paths (after the prefix) whose JSON body names a model: read whole so budgets, model
#: access and guardrails can see it (other bodies are streamed to the upstream as they come)
MODEL_BODY_PATHS: dict[str, frozenset[str]] = {
    "anthropic": frozenset({"/v1/messages", "/v1/messages/count_tokens"}),
    "openai": frozenset(
        f"{v}/{p}" for v in ("/v1", "") for p in ("chat/completions", "completions", "embeddings", "responses")
    ),
}


@dataclass(slots=True)
class Upstream:
    """A base URL and the headers that authenticate to it."""

    base: str
    headers: dict[str, str]
    #: the deployment the credential came from, when it serves the requested model
    deployment: Deployment | None = None
    #: a deployment whose provider signs each request (Bedrock's SigV4: ``Provider.sign_passthrough``)
    signer: Deployment | None = None


@dataclass(slots=True)
class VendorTargets:
    """Every upstream one vendor route may use: by model name, and the default one."""

    by_model: dict[str, Upstream] = field(default_factory=dict)
    default: Upstream | None = None


def _auth(vendor: Vendor, key: str) -> dict[str, str]:
    return {vendor.auth_header: f"Bearer {key}" if vendor.bearer else key}


def _env_base(vendor: Vendor, region: str | None = None) -> str | None:
    base = os.environ.get(vendor.base_env) if vendor.base_env else None
    if base:
        return base
    if vendor.format == "bedrock":
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return f"https://bedrock-runtime.{region}.amazonaws.com" if region else None
    return vendor.default_base


def _deployment_base(vendor: Vendor, params: Mapping[str, Any]) -> str:
    base = params.get("api_base")
    if vendor.format == "bedrock":
        region = params.get("aws_region_name") or params.get("region_name")
        base = base or params.get("aws_bedrock_runtime_endpoint") or _env_base(vendor, region)
    base = str(base or _env_base(vendor) or "").rstrip("/")
    if vendor.format == "anthropic" and base.endswith("/v1/messages"):
        base = base[: -len("/messages")]  # LiteLLM accepts the full URL as api_base
    return base


def vendor_targets(gateway: Gateway, vendor: Vendor) -> VendorTargets:
    targets = VendorTargets()
    env_key = os.environ.get(vendor.key_env) if vendor.key_env else None
    for deployment in gateway.deployments:
        if deployment.provider not in vendor.providers:
            continue
        params = deployment.params
        key = params.get("api_key") or env_key
        base = _deployment_base(vendor, params)
        if not base:
            continue
        if not key:
            if vendor.format == "bedrock":  # AWS credentials: the bedrock provider signs each request
                upstream = Upstream(base, {}, deployment, signer=deployment)
                targets.by_model.setdefault(deployment.model, upstream)
                targets.by_model.setdefault(deployment.model_group, upstream)
                if targets.default is None:
                    targets.default = Upstream(base, {}, signer=deployment)
            continue
        headers = _auth(vendor, str(key))
        if vendor.format == "anthropic":
            # the deployment's API version, unless the client names its own
            version = params.get("anthropic_version")
            if version:
                headers["anthropic-version"] = str(version)
        upstream = Upstream(base, headers, deployment)
        targets.by_model.setdefault(deployment.model, upstream)
        targets.by_model.setdefault(deployment.model_group, upstream)
        if targets.default is None:
            # another model's deployment lends its credential, but not its prices
            targets.default = Upstream(upstream.base, headers)
    if targets.default is None and env_key:
        env_base = _env_base(vendor)
        if env_base:
            targets.default = Upstream(env_base.rstrip("/"), _auth(vendor, env_key))
    return targets


def resolve_header(name: str, value: str) -> str:
    """A configured header value; ``os.environ/VAR`` may follow a scheme (``bearer os.environ/KEY``)."""
    head, sep, tail = value.rpartition(" ")
    token = tail if sep else value
    if not token.startswith(ENV_PREFIX):
        return value
    var = token[len(ENV_PREFIX) :]
    found = os.environ.get(var)
    if found is None:
        raise ConfigError(
            f"general_settings.pass_through_endpoints: the header {name!r} reads the environment variable {var}, "
            f"which is not set; export {var}=... before starting"
        )
    return f"{head} {found}" if sep else found


def endpoint_upstream(endpoint: PassThroughEndpoint) -> Upstream:
    headers = {name.lower(): resolve_header(name, str(value)) for name, value in endpoint.headers.items()}
    return Upstream(endpoint.target.rstrip("/") if endpoint.include_subpath else endpoint.target, headers)


def join_url(base: str, sub: str) -> str:
    """``base`` + ``sub``, where a ``sub`` that repeats the base's last segment (``/v1`` of
    ``https://api.openai.com/v1`` and ``/v1/chat/completions``) does not repeat it twice: clients
    reach ``/openai/v1/...`` and ``/openai/...`` alike."""
    if not sub:
        return base
    last = base[base.rfind("/") :]
    if len(last) > 1 and (sub == last or sub.startswith(last + "/")):
        return base + sub[len(last) :]
    return base + sub
