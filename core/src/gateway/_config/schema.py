"""The typed shape of the config file.

It reads LiteLLM-format files unchanged.  Keys LiteLLM users commonly have in their files but
that this gateway does not act on are accepted and reported as inert (``INERT_*``) so a migrated
file still starts; a key that is neither known nor inert is an error, because a typo that silently
changes nothing is worse than a refusal to start.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


def _network(entry: str) -> str:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{entry!r} is not an IP address or CIDR network; write '10.0.0.7', '10.0.0.0/8' or '::1'"
        ) from None
    return entry


#: an IP address or a CIDR network (``general_settings.allowed_ips``)
NetworkText = Annotated[str, AfterValidator(_network)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LitellmParams(BaseModel):
    """``litellm_params`` of one deployment.  Provider-specific keys are checked by the provider."""

    model_config = ConfigDict(extra="allow")

    model: str
    api_key: str | None = None
    api_base: str | None = None
    api_version: str | None = None
    organization: str | None = None
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    weight: float | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    stream_timeout: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    extra_headers: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    mock_response: Any = None
    drop_params: bool | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    region_name: str | None = None
    tags: list[str] | None = None
    # request defaults: every call gets them unless the client set its own (gateway._defaults)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    reasoning_effort: str | None = None
    #: LiteLLM's testing aid on a deployment: every call to it times out after its ``timeout``
    mock_timeout: bool | None = None
    #: the provider serving ``model``, when the name alone does not say (``model: my-model``)
    custom_llm_provider: str | None = None
    # LiteLLM deployment fields accepted so its files load; reported at start-up (gateway._config.keys)
    input_cost_per_second: float | None = Field(default=None, ge=0)
    output_cost_per_second: float | None = Field(default=None, ge=0)
    order: int | None = None
    max_budget: float | None = Field(default=None, ge=0)
    budget_duration: str | None = None
    litellm_credential_name: str | None = None
    additional_drop_params: list[str] | None = None
    use_in_pass_through: bool | None = None
    merge_reasoning_content_in_choices: bool | None = None

    @field_validator("model")
    @classmethod
    def _names_a_model(cls, value: str) -> str:
        # '<provider>/<model>', a bare name a provider plugin claims (gpt-4o), or '*'; which plugin
        # serves it is decided once the plugins are loaded (an unserved one is an unavailable deployment)
        if not value.strip():
            raise ValueError("must name a model, for example 'openai/gpt-4o' or 'gpt-4o'")
        return value


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    mode: str | None = None
    base_model: str | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    access_groups: list[str] | None = None


class ModelEntry(Strict):
    model_name: str = Field(min_length=1)
    litellm_params: LitellmParams
    model_info: ModelInfo = Field(default_factory=ModelInfo)


class PassThroughEndpoint(Strict):
    """One of ``general_settings.pass_through_endpoints``: a gateway path forwarded to ``target``
    (LiteLLM's fields; see docs/pass-through.md)."""

    #: the gateway path clients call (``/v1/rerank``, ``/bria``)
    path: str
    #: the URL it is forwarded to
    target: str
    #: headers added to the forwarded request (``Authorization: "bearer os.environ/COHERE_API_KEY"``)
    headers: dict[str, str] = Field(default_factory=dict)
    #: also forward the client's own headers (never its gateway key)
    forward_headers: bool = False
    #: LiteLLM's switch for requiring a gateway key; here a key is always required unless this is
    #: ``false`` explicitly, which opens the route to anyone (a start-up warning says so)
    auth: bool = True
    #: also serve ``path/<anything>``, forwarded to ``target/<anything>``
    include_subpath: bool = False
    # (LiteLLM's cost_per_request is not a field: a call is priced from the usage its answer reports)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") == "":
            raise ValueError("path must start with / and name a route, for example /v1/rerank")
        return value.rstrip("/")

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("target must be an http:// or https:// URL")
        return value


class GeneralSettings(Strict):
    master_key: str | None = None
    database_url: str | None = None
    #: refuse bodies bigger than this (HTTP 413)
    max_request_size_mb: float = Field(default=32, gt=0)
    #: seconds a client may take to send a request's head (request line and headers), from its
    #: first byte (or from connecting); then the connection is closed (nginx: client_header_timeout)
    request_header_timeout: float = Field(default=10, gt=0)
    #: seconds without any part of a request's body arriving; then HTTP 408 (nginx: client_body_timeout)
    request_body_timeout: float = Field(default=60, gt=0)
    #: seconds one database operation (connecting, a query, waiting for a pooled connection) may
    #: take before the request gets HTTP 503 with retry-after, instead of hanging with the database
    database_timeout: float = Field(default=5, gt=0)
    max_response_size_mb: float | None = None
    #: serve without any credential (only ever on loopback unless this is set)
    allow_unauthenticated: bool = False
    #: seconds a ``gateway_log`` implementation may take before it is cancelled
    log_hook_timeout: float = Field(default=10, gt=0)
    #: events waiting for ``gateway_log``; beyond it events are dropped and counted
    log_queue_size: int = Field(default=10000, gt=0)
    #: seconds in-flight requests get to finish at shutdown
    graceful_shutdown_timeout: float = Field(default=30, ge=0)
    #: fail start-up when a plugin fails to import
    strict_plugins: bool = False
    litellm_key_header_name: str | None = None
    #: send ``x-litellm-model-api-base`` (the deployment's base URL, without credentials or query) on
    #: model answers, as LiteLLM does; turn off when base URLs name hosts callers must not learn
    model_api_base_header: bool = True
    #: pass a client's ``OpenAI-Organization`` header to OpenAI upstreams (LiteLLM's switch; off: the
    #: deployment's ``organization`` is used)
    forward_openai_org_id: bool = False
    json_logs: bool | None = None
    # LiteLLM keys whose meaning the gateway plugins implement (read by those plugins)
    alerting: list[str] | None = None
    alerting_threshold: float | None = None
    alert_to_webhook_url: dict[str, Any] | None = None
    proxy_batch_write_at: float | None = None
    disable_spend_logs: bool | None = None
    store_model_in_db: bool | None = None
    background_health_checks: bool | None = None
    health_check_interval: float | None = Field(default=None, gt=0)
    #: false: /health names each deployment's model only (no id, reason, latency), as LiteLLM does
    health_check_details: bool = True
    #: true: the anonymous /health/readiness answers the admin report of /health/readiness/details
    allow_public_health_readiness_details: bool = False
    user_api_key_cache_ttl: float | None = None
    #: refuse a model request that names no end user (``user``; Anthropic: ``metadata.user_id``)
    enforce_user_param: bool = False
    #: model requests in flight across every worker and instance (shared through Redis when the
    #: router has one, else per worker); beyond it 429 with retry-after
    global_max_parallel_requests: int | None = Field(default=None, gt=0)
    max_parallel_requests: int | None = None
    token_rate_limit_type: Literal["total", "input", "output"] | None = None
    fail_closed_rate_limit_enforcement: bool | None = None
    fail_closed_budget_enforcement: bool | None = None
    disable_budget_reservation: bool | None = None
    #: the routes a key that is not an admin may call (paths, ``/path/*`` prefixes or LiteLLM's route
    #: group names such as ``llm_api_routes``); others get 403
    allowed_routes: list[str] | None = None
    #: client addresses (or CIDR networks) that may call the gateway; others get 403 before auth
    allowed_ips: list[NetworkText] | None = None
    maximum_spend_logs_retention_period: str | None = None
    use_redis_transaction_buffer: bool | None = None
    allow_requests_on_db_unavailable: bool | None = None
    database_connection_pool_limit: int | None = None
    database_connection_timeout: float | None = None
    disable_reset_budget: bool | None = None
    ui_access_mode: str | None = None
    #: routes forwarded to other APIs, governed like model calls (see docs/pass-through.md)
    pass_through_endpoints: list[PassThroughEndpoint] = Field(default_factory=list)


#: LiteLLM ``general_settings`` keys accepted so migrated files start, with no effect here
INERT_GENERAL_SETTINGS = {
    "proxy_budget_rescheduler_min_time",
    "proxy_budget_rescheduler_max_time",
    "custom_auth",
    "custom_key_generate",
    "user_header_name",
    "coordination_redis",
    "apply_user_budget_to_team_keys",
    "encryption_algorithm",
    "infer_model_from_keys",
}


class LitellmSettings(Strict):
    success_callback: list[str] = Field(default_factory=list)
    failure_callback: list[str] = Field(default_factory=list)
    callbacks: list[str] = Field(default_factory=list)
    drop_params: bool = False
    num_retries: int | None = Field(default=None, ge=0)
    request_timeout: float | None = Field(default=None, gt=0)
    fallbacks: list[dict[str, list[str]]] | None = None
    context_window_fallbacks: list[dict[str, list[str]]] | None = None
    content_policy_fallbacks: list[dict[str, list[str]]] | None = None
    cache: bool | None = None
    cache_params: dict[str, Any] | None = None
    max_budget: float | None = Field(default=None, ge=0)
    budget_duration: str | None = None
    max_internal_user_budget: float | None = Field(default=None, ge=0)
    max_end_user_budget: float | None = Field(default=None, ge=0)
    #: the budget tier (``/budget/new``) of end users without a budget of their own (gateway-virtual-keys)
    max_end_user_budget_id: str | None = Field(default=None, min_length=1)
    default_internal_user_params: dict[str, Any] | None = None
    default_team_settings: list[dict[str, Any]] | None = None
    upperbound_key_generate_params: dict[str, Any] | None = None
    default_key_generate_params: dict[str, Any] | None = None
    budget_exceeded_status_code: int = Field(default=422, ge=400, le=599)
    timezone: str | None = None
    json_logs: bool | None = None
    turn_off_message_logging: bool | None = None
    redact_user_api_key_info: bool | None = None
    langfuse_default_tags: list[str] | None = None
    #: LiteLLM's switch for ``/metrics`` auth (read by gateway-prometheus, where auth is on by default)
    require_auth_for_metrics_endpoint: bool | None = None
    guardrails: list[Any] | None = None


INERT_LITELLM_SETTINGS = {
    "set_verbose",
    "telemetry",
    "modify_params",
    "enable_preview_features",
    "request_timeout_seconds",
    "s3_callback_params",
    "service_callback",
    "cache_responses",
    "disable_end_user_cost_tracking",
    "enable_json_schema_validation",
    "return_response_headers",
    "suppress_debug_info",
    "callback_settings",
    "budget_reset_time",
}

RoutingStrategyName = Literal[
    "simple-shuffle",
    "least-busy",
    "usage-based-routing",
    "usage-based-routing-v2",
    "latency-based-routing",
    "cost-based-routing",
]


class RetryClassifier(Strict):
    """``router_settings.retry_classifier``: which upstream errors are worth another attempt (issue 24).

    The patterns are regular expressions, matched case-insensitively anywhere in the upstream's
    error message; ``never`` wins over ``always``.
    """

    #: errors never retried: a problem of the request that every attempt meets again
    never: list[str] = Field(default_factory=list)
    #: errors retried even when their status says the request was wrong (Ollama's 400 "model is loading")
    always: list[str] = Field(default_factory=list)
    #: a 500 with the same message from a deployment twice is the request's problem: no further retry
    stop_on_repeated_error: bool = True

    @field_validator("never", "always")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


class RouterSettings(Strict):
    routing_strategy: str = "simple-shuffle"
    routing_strategy_args: dict[str, Any] = Field(default_factory=dict)
    num_retries: int | None = Field(default=None, ge=0)
    retry_policy: dict[str, int] | None = None
    model_group_retry_policy: dict[str, dict[str, int]] | None = None
    retry_after: float = Field(default=0, ge=0)
    allowed_fails: int = Field(default=3, ge=0)
    allowed_fails_policy: dict[str, int] | None = None
    cooldown_time: float = Field(default=5, ge=0)
    disable_cooldowns: bool = False
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    context_window_fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    content_policy_fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    default_fallbacks: list[str] | None = None
    max_fallbacks: int = Field(default=5, ge=0)
    timeout: float | None = Field(default=None, gt=0)
    stream_timeout: float | None = Field(default=None, gt=0)
    redis_host: str | None = None
    redis_port: int | None = None
    redis_password: str | None = None
    redis_url: str | None = None
    enable_pre_call_checks: bool = False
    enable_tag_filtering: bool = False
    tag_filtering_match_any: bool = True
    model_group_alias: dict[str, str] = Field(default_factory=dict)
    provider_budget_config: dict[str, Any] | None = None
    enable_health_check_routing: bool = False
    retry_classifier: RetryClassifier = Field(default_factory=RetryClassifier)


class GuardrailParams(BaseModel):
    """``guardrails[].litellm_params``; the guardrail plugin checks its own extra keys."""

    model_config = ConfigDict(extra="allow")

    guardrail: str
    mode: str | list[str] | dict[str, Any] = "pre_call"
    default_on: bool = False
    api_key: str | None = None
    api_base: str | None = None


class GuardrailEntry(Strict):
    guardrail_name: str = Field(min_length=1)
    litellm_params: GuardrailParams
    guardrail_info: dict[str, Any] | None = None


class ConfigFile(Strict):
    model_list: list[ModelEntry] = Field(default_factory=list)
    general_settings: GeneralSettings = Field(default_factory=GeneralSettings)
    litellm_settings: LitellmSettings = Field(default_factory=LitellmSettings)
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    guardrails: list[GuardrailEntry] = Field(default_factory=list)
    environment_variables: dict[str, str] = Field(default_factory=dict)
    plugins: dict[str, Any] = Field(default_factory=dict)
    callback_settings: dict[str, Any] = Field(default_factory=dict)
    # LiteLLM sections loaded so its files start unchanged; each is reported (gateway._config.keys)
    finetune_settings: Any = None
    files_settings: Any = None
    pass_through_endpoints: Any = None
    telemetry: Any = None
    credential_list: Any = None
    model_group_settings: Any = None
    vector_store_registry: Any = None


#: where each section's inert keys are listed
INERT_KEYS = {
    "general_settings": INERT_GENERAL_SETTINGS,
    "litellm_settings": INERT_LITELLM_SETTINGS,
}
