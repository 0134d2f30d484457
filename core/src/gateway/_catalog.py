"""The one table of this project's plugin distributions and what each adds.

Core never imports or names a plugin in code; when a config asks for a provider, guardrail type or
sink that no installed plugin registers, this table is where "pip install gateway-X" comes from.
``gateway plugins --catalog`` prints it.  A third-party plugin needs no row: its own errors name it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str
    #: its entry-point name (the plugin's one identifier)
    entry_point: str
    providers: tuple[str, ...] = ()
    guardrails: tuple[str, ...] = ()
    sinks: tuple[str, ...] = ()
    #: config keys outside ``plugins.<name>`` it implements (what its ``gateway_config_keys`` declares)
    config_keys: tuple[str, ...] = ()
    #: the paths it serves: exact, or a prefix when ending in "/" (a request there without it gets
    #: a 404 naming the package to install)
    routes: tuple[str, ...] = ()
    #: the error envelope its routes answer in ("anthropic"), so that 404 reads in the client's SDK
    error_format: str = "openai"


CATALOG: tuple[Distribution, ...] = (
    Distribution("gateway-openai", "openai", providers=(
        "openai", "azure", "openai_compatible", "openai_like", "hosted_vllm", "groq", "together_ai", "deepseek",
        "mistral", "fireworks_ai", "openrouter", "perplexity", "xai", "deepinfra", "lm_studio", "ollama_chat",
        "ollama", "text-completion-openai", "nvidia_nim", "cerebras", "sambanova", "github", "codestral", "moonshot",
        "dashscope", "llamafile", "litellm_proxy", "azure_ai"),
        config_keys=("general_settings.forward_openai_org_id",)),
    Distribution("gateway-anthropic", "anthropic", providers=("anthropic",),
                 routes=("/v1/messages", "/v1/messages/"), error_format="anthropic"),
    Distribution("gateway-gemini", "gemini", providers=("gemini",)),
    Distribution("gateway-bedrock", "bedrock", providers=("bedrock",)),
    Distribution("gateway-mock", "mock", providers=("mock",)),
    Distribution("gateway-model-store", "model_store", config_keys=("general_settings.store_model_in_db",),
                 routes=("/model/new", "/model/update", "/model/delete")),
    Distribution("gateway-admin-ui", "admin_ui", routes=("/ui", "/ui/")),
    Distribution("gateway-responses", "responses", routes=("/v1/responses", "/v1/responses/")),
    Distribution("gateway-complexity-router", "complexity_router", providers=("auto_router",)),
    Distribution("gateway-presidio", "presidio", guardrails=("presidio",)),
    Distribution("gateway-lakera", "lakera", guardrails=("lakera", "lakera_v2")),
    Distribution("gateway-aporia", "aporia", guardrails=("aporia",)),
    Distribution("gateway-guardrails-ai", "guardrails_ai", guardrails=("guardrails_ai",)),
    Distribution("gateway-bedrock-guardrails", "bedrock_guardrails", guardrails=("bedrock",)),
    Distribution("gateway-azure-content-safety", "azure_content_safety",
                 guardrails=("azure/content_safety", "azure/prompt_shield", "azure/text_moderations")),
    Distribution("gateway-content-filter", "content_filter", guardrails=("content_filter", "litellm_content_filter")),
    Distribution("gateway-cache", "cache", config_keys=("litellm_settings.cache", "litellm_settings.cache_params"),
                 routes=("/cache/",)),
    Distribution("gateway-langfuse", "langfuse", sinks=("langfuse", "langfuse_otel"),
                 config_keys=("litellm_settings.langfuse_default_tags",)),
    Distribution("gateway-helicone", "helicone", sinks=("helicone",)),
    Distribution("gateway-prometheus", "prometheus", sinks=("prometheus",),
                 config_keys=("litellm_settings.require_auth_for_metrics_endpoint",), routes=("/metrics", "/metrics/")),
    Distribution("gateway-otel", "otel", sinks=("otel", "opentelemetry")),
    Distribution("gateway-webhook", "webhook", sinks=("webhook", "generic_api", "slack"),
                 config_keys=("general_settings.alert_to_webhook_url",)),
    Distribution("gateway-virtual-keys", "virtual_keys", config_keys=(
        "litellm_settings.max_internal_user_budget", "litellm_settings.default_key_generate_params",
        "litellm_settings.upperbound_key_generate_params", "litellm_settings.max_end_user_budget_id"),
        routes=("/key/", "/team/", "/user/", "/customer/", "/end_user/", "/budget/", "/organization/", "/tag/")),
    Distribution("gateway-spend", "spend", config_keys=(
        "general_settings.disable_spend_logs", "general_settings.disable_budget_reservation",
        "litellm_settings.max_budget", "litellm_settings.budget_duration", "litellm_settings.max_end_user_budget",
        "model_list[].litellm_params.input_cost_per_token", "model_list[].litellm_params.output_cost_per_token",
        "model_list[].model_info.base_model", "model_list[].model_info.max_output_tokens",
        "model_list[].model_info.input_cost_per_token", "model_list[].model_info.output_cost_per_token"),
        routes=("/spend/", "/global/spend/")),
)  # fmt: skip


def distribution_for(kind: str, name: str) -> Distribution | None:
    """The distribution that adds the ``kind`` (``providers``, ``guardrails``, ``sinks``) called ``name``."""
    for distribution in CATALOG:
        if name in getattr(distribution, kind):
            return distribution
    return None


def distribution_for_path(path: str) -> Distribution | None:
    """The distribution whose routes include ``path``."""
    for distribution in CATALOG:
        for route in distribution.routes:
            if path == route or (route.endswith("/") and path.startswith(route)):
                return distribution
    return None
