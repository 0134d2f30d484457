"""Where every key of the config schema stands: nothing in a config file is silently ignored.

Each key the schema accepts is exactly one of:

* implemented by core (``CORE``);
* implemented by a plugin, which declares the keys it reads (the ``gateway_config_keys`` hook) and
  whose row in the catalogue (``gateway._catalog``) lists them, so a file that sets such a key
  without the plugin installed is told which distribution to install;
* accepted with no effect here (``REPORTED``): the issue that brings it, or ``not planned`` and why.

A key set in the file that has no effect on this gateway (reported, or its plugin not installed)
is named once at start-up (the ``config_keys_without_effect`` warning) and by ``gateway
check-config``.  ``core/tests/test_config_keys.py`` walks the schema and fails on a key that is in
none of these lists.  Paths are dotted; ``[]`` marks a list's entries (``model_list[].model_name``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from gateway._catalog import CATALOG
from gateway._config.schema import INERT_KEYS, ConfigFile

Status = Literal["core", "plugin", "reported", "not planned"]

#: keys core itself implements
CORE = frozenset(
    {
        # the sections
        "model_list", "general_settings", "litellm_settings", "router_settings", "guardrails",
        "environment_variables", "plugins",
        # model_list entries: core builds the deployment and hands litellm_params to its provider
        "model_list[].model_name", "model_list[].litellm_params", "model_list[].model_info",
        "model_list[].litellm_params.model", "model_list[].litellm_params.api_key",
        "model_list[].litellm_params.api_base", "model_list[].litellm_params.api_version",
        "model_list[].litellm_params.organization", "model_list[].litellm_params.rpm",
        "model_list[].litellm_params.tpm", "model_list[].litellm_params.weight",
        "model_list[].litellm_params.timeout", "model_list[].litellm_params.stream_timeout",
        "model_list[].litellm_params.extra_headers", "model_list[].litellm_params.headers",
        "model_list[].litellm_params.mock_response", "model_list[].litellm_params.drop_params",
        "model_list[].litellm_params.max_tokens", "model_list[].litellm_params.region_name",
        "model_list[].litellm_params.mock_timeout", "model_list[].litellm_params.custom_llm_provider",
        "model_list[].litellm_params.max_completion_tokens", "model_list[].litellm_params.temperature",
        "model_list[].litellm_params.top_p", "model_list[].litellm_params.seed", "model_list[].litellm_params.stop",
        "model_list[].litellm_params.reasoning_effort",
        "model_list[].model_info.id", "model_list[].model_info.access_groups",
        # live health checks (GET /health, background_health_checks): the probe, how often, routing around
        "model_list[].model_info.mode", "general_settings.background_health_checks",
        "general_settings.health_check_interval", "router_settings.enable_health_check_routing",
        "general_settings.health_check_details", "general_settings.allow_public_health_readiness_details",
        # general_settings
        "general_settings.master_key", "general_settings.database_url", "general_settings.max_request_size_mb",
        "general_settings.request_header_timeout", "general_settings.request_body_timeout",
        "general_settings.database_timeout", "general_settings.allow_unauthenticated",
        "general_settings.log_hook_timeout", "general_settings.log_queue_size",
        "general_settings.graceful_shutdown_timeout", "general_settings.strict_plugins",
        "general_settings.litellm_key_header_name", "general_settings.model_api_base_header",
        "general_settings.json_logs", "general_settings.alerting",
        "general_settings.database_connection_pool_limit", "general_settings.database_connection_timeout",
        "general_settings.pass_through_endpoints", "general_settings.pass_through_endpoints[].path",
        "general_settings.pass_through_endpoints[].target", "general_settings.pass_through_endpoints[].headers",
        "general_settings.pass_through_endpoints[].forward_headers", "general_settings.pass_through_endpoints[].auth",
        "general_settings.pass_through_endpoints[].include_subpath",
        "general_settings.pass_through_endpoints[].cost_per_request",
        # the security controls
        "general_settings.allowed_ips", "general_settings.allowed_routes", "general_settings.enforce_user_param",
        "general_settings.global_max_parallel_requests",
        # litellm_settings
        "litellm_settings.success_callback", "litellm_settings.failure_callback", "litellm_settings.callbacks",
        "litellm_settings.drop_params", "litellm_settings.num_retries", "litellm_settings.request_timeout",
        "litellm_settings.fallbacks", "litellm_settings.context_window_fallbacks",
        "litellm_settings.content_policy_fallbacks", "litellm_settings.budget_exceeded_status_code",
        "litellm_settings.json_logs", "litellm_settings.turn_off_message_logging",
        "litellm_settings.redact_user_api_key_info", "litellm_settings.guardrails",
        # router_settings
        "router_settings.routing_strategy", "router_settings.routing_strategy_args", "router_settings.num_retries",
        "router_settings.retry_policy", "router_settings.model_group_retry_policy", "router_settings.retry_after",
        "router_settings.allowed_fails", "router_settings.allowed_fails_policy", "router_settings.cooldown_time",
        "router_settings.disable_cooldowns", "router_settings.fallbacks", "router_settings.context_window_fallbacks",
        "router_settings.content_policy_fallbacks", "router_settings.default_fallbacks",
        "router_settings.max_fallbacks", "router_settings.timeout", "router_settings.stream_timeout",
        "router_settings.redis_host", "router_settings.redis_port", "router_settings.redis_password",
        "router_settings.redis_url", "router_settings.model_group_alias",
        # which upstream errors are retried (gateway._retry_classifier)
        "router_settings.retry_classifier", "router_settings.retry_classifier.never",
        "router_settings.retry_classifier.always", "router_settings.retry_classifier.stop_on_repeated_error",
        # tag-based routing (gateway.routing.tag_filter)
        "router_settings.enable_tag_filtering", "router_settings.tag_filtering_match_any",
        "model_list[].litellm_params.tags",
        # guardrails entries (each guardrail type is a plugin; core runs them)
        "guardrails[].guardrail_name", "guardrails[].litellm_params", "guardrails[].guardrail_info",
        "guardrails[].litellm_params.guardrail", "guardrails[].litellm_params.mode",
        "guardrails[].litellm_params.default_on", "guardrails[].litellm_params.api_key",
        "guardrails[].litellm_params.api_base",
    }
)  # fmt: skip

ISSUE_17 = "issue 17 (pass-through routes)"
ISSUE_18 = "issue 18 (the operator's API: budgets, models at runtime, real health checks)"
ISSUE_19 = "issue 19 (gateway-cache)"
ISSUE_20 = "issue 20 (admin UI, SSO and JWT auth)"
ISSUE_21 = "issue 21 (scale-out)"

#: keys accepted with no effect: ``path -> (status, note)``; a reported key's note names the issue or
#: plugin that brings it, a key not planned says why and what to use instead
REPORTED: dict[str, tuple[Status, str]] = {
    # top-level sections
    "callback_settings": ("not planned", "each sink plugin takes its settings under plugins.<name>"),
    "finetune_settings": ("not planned", "fine-tuning routes are not served; reach them through the pass-through "
                          "routes of issue 17"),
    "files_settings": ("not planned", "the Files API is not served; reach it through the pass-through routes of "
                       "issue 17"),
    "pass_through_endpoints": ("reported", f"as a top-level section; {ISSUE_17}, which reads "
                               "general_settings.pass_through_endpoints"),
    "telemetry": ("not planned", "the gateway sends no telemetry"),
    "credential_list": ("not planned", "credentials live in the config file or the environment "
                        "(os.environ/VAR)"),
    "vector_store_registry": ("not planned", "vector store routes are not served; reach a provider's vector stores "
                              "through the pass-through routes of issue 17"),
    "model_group_settings": ("not planned", "provider headers the gateway knows (anthropic-beta, "
                             "anthropic-version, openai-organization) are forwarded; other client headers never "
                             "reach upstreams"),
    # model_list entries
    "model_list[].litellm_params.max_retries": ("not planned", "retries are the router's, on the group's other "
                                                "deployments too (router_settings.num_retries, retry_policy, "
                                                "model_group_retry_policy)"),
    "model_list[].litellm_params.input_cost_per_second": ("not planned", "no provider served here bills by the "
                                                          "second; gateway-spend prices tokens "
                                                          "(input_cost_per_token)"),
    "model_list[].litellm_params.output_cost_per_second": ("not planned", "as input_cost_per_second"),
    "model_list[].litellm_params.order": ("reported", f"deployment priorities within a group: {ISSUE_18}"),
    "model_list[].litellm_params.max_budget": ("reported", f"budgets per deployment: {ISSUE_18}"),
    "model_list[].litellm_params.budget_duration": ("reported", f"budgets per deployment: {ISSUE_18}"),
    "model_list[].litellm_params.litellm_credential_name": ("not planned", "credentials live in the config file "
                                                            "or the environment (os.environ/VAR)"),
    "model_list[].litellm_params.additional_drop_params": ("not planned", "a parameter a provider cannot take is "
                                                           "dropped with drop_params or refused naming it"),
    "model_list[].litellm_params.use_in_pass_through": ("not planned", "pass-through routes find the deployment "
                                                        "serving the body's model, or any of the provider's"),
    "model_list[].litellm_params.merge_reasoning_content_in_choices": ("not planned", "reasoning is returned "
                                                                       "as the provider's format carries it"),
    "model_list[].model_info.max_input_tokens": ("not planned", "no pre-call context-window check: a request too "
                                                 "long for a deployment fails upstream and "
                                                 "context_window_fallbacks take over"),
    # general_settings
    "general_settings.max_response_size_mb": ("not planned", "answers are streamed through as the upstream sends "
                                              "them; bound them with max_tokens"),
    "general_settings.alerting_threshold": ("not planned", "slow requests show in the latency histograms of "
                                            "gateway-prometheus"),
    "general_settings.proxy_batch_write_at": ("not planned", "the spend ledger is written through a local "
                                              "write-ahead log, never held in memory (gateway-spend)"),
    "general_settings.user_api_key_cache_ttl": ("not planned", "gateway-virtual-keys applies a block, delete or "
                                                "update on every worker before answering, so there is no TTL"),
    "general_settings.max_parallel_requests": ("not planned", "use global_max_parallel_requests for the whole "
                                               "gateway, or max_parallel_requests on keys, teams and users "
                                               "(gateway-spend)"),
    "general_settings.token_rate_limit_type": ("not planned", "tokens per minute count input plus output tokens"),
    "general_settings.fail_closed_rate_limit_enforcement": ("not planned", "limits already fail closed: a request "
                                                            "gateway-spend cannot check gets 503 with retry-after"),
    "general_settings.fail_closed_budget_enforcement": ("not planned", "budgets already fail closed: a request "
                                                        "gateway-spend cannot check gets 503 with retry-after"),
    "general_settings.maximum_spend_logs_retention_period": ("not planned", "ledger rows are money records; "
                                                             "prune gateway-spend's table with SQL if needed"),
    "general_settings.use_redis_transaction_buffer": ("not planned", "every instance writes its own ledger rows "
                                                      "exactly once, with no leader (gateway-spend)"),
    "general_settings.allow_requests_on_db_unavailable": ("not planned", "budgets and limits are never skipped: a "
                                                          "request the gateway cannot check gets 503"),
    "general_settings.disable_reset_budget": ("not planned", "there is no reset job: budget windows roll over by "
                                              "themselves"),
    "general_settings.ui_access_mode": ("reported", ISSUE_20),
    "general_settings.proxy_budget_rescheduler_min_time": ("not planned", "no reset job: a budget's window rolls "
                                                           "over exactly at its boundary"),
    "general_settings.proxy_budget_rescheduler_max_time": ("not planned", "no reset job, as above"),
    "general_settings.custom_auth": ("not planned", "write an auth plugin (gateway_auth hook, docs/plugins.md)"),
    "general_settings.custom_key_generate": ("not planned", "write a plugin (docs/plugins.md)"),
    "general_settings.user_header_name": ("reported", f"end users are named by the request's user field; "
                                          f"customers: {ISSUE_18}"),
    "general_settings.coordination_redis": ("reported", f"Redis comes from REDIS_URL or router_settings.redis_*; "
                                            f"{ISSUE_21}"),
    "general_settings.apply_user_budget_to_team_keys": ("reported", ISSUE_18),
    "general_settings.encryption_algorithm": ("not planned", "keys are stored as salted hashes; the credentials of "
                                              "stored models (gateway-model-store) are always AES-256-GCM"),
    "general_settings.infer_model_from_keys": ("not planned", "model groups come from model_list"),
    # litellm_settings
    "litellm_settings.cache_responses": ("reported", ISSUE_19),
    "litellm_settings.default_internal_user_params": ("reported", ISSUE_18),
    "litellm_settings.default_team_settings": ("reported", ISSUE_18),
    "litellm_settings.timezone": ("not planned", "budget windows are in UTC"),
    "litellm_settings.budget_reset_time": ("reported", f"budget windows start at the budget's creation; {ISSUE_18}"),
    "litellm_settings.set_verbose": ("not planned", "the log level is GATEWAY_LOG_LEVEL; logs are structured"),
    "litellm_settings.telemetry": ("not planned", "the gateway sends no telemetry"),
    "litellm_settings.modify_params": ("not planned", "requests are translated per provider without rewriting "
                                       "what the client sent"),
    "litellm_settings.enable_preview_features": ("not planned", "nothing is behind a preview switch"),
    "litellm_settings.request_timeout_seconds": ("not planned", "use request_timeout"),
    "litellm_settings.s3_callback_params": ("not planned", "no S3 sink; write a sink plugin (docs/plugins.md)"),
    "litellm_settings.service_callback": ("not planned", "the gateway's own health is in /metrics "
                                          "(gateway-prometheus)"),
    "litellm_settings.disable_end_user_cost_tracking": ("not planned", "end-user spend is always recorded"),
    "litellm_settings.enable_json_schema_validation": ("not planned", "structured output is the provider's"),
    "litellm_settings.return_response_headers": ("not planned", "the upstream's headers are always on the answer"),
    "litellm_settings.suppress_debug_info": ("not planned", "errors never carry debug information"),
    "litellm_settings.callback_settings": ("not planned", "use the top-level callback_settings"),
    # router_settings
    "router_settings.enable_pre_call_checks": ("not planned", "no pre-call context-window check: a request too "
                                               "long for a deployment fails upstream and context_window_fallbacks "
                                               "take over"),
    "router_settings.provider_budget_config": ("reported", f"budgets per provider: {ISSUE_18}"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """Where one key of the config schema stands (``gateway.config_keys()``)."""

    #: dotted path; ``[]`` marks a list's entries: ``general_settings.allowed_ips``
    path: str
    #: ``core``, ``plugin`` (``note`` is the distribution that implements it), ``reported`` (``note``
    #: names the issue or plugin that brings it) or ``not planned`` (``note`` says why)
    status: Status
    note: str = ""


def plugin_keys() -> dict[str, str]:
    """Path -> the distribution (from the catalogue) that implements it."""
    return {path: d.name for d in CATALOG for path in d.config_keys}


def config_keys() -> dict[str, ConfigKey]:
    """Every key of the schema, by path, with its status: what ``gateway check-config`` and the
    migration doc go by.  A plugin's key wins over its ``REPORTED`` row (the plugin landed)."""
    plugins = plugin_keys()
    inert = inert_paths()
    table: dict[str, ConfigKey] = {}
    for path in schema_paths():
        if path in inert and path in REPORTED:  # accepted and dropped at load: it cannot be implemented
            status, note = REPORTED[path]
            table[path] = ConfigKey(path, status, note)
        elif path in CORE:
            table[path] = ConfigKey(path, "core")
        elif path in plugins:
            table[path] = ConfigKey(path, "plugin", plugins[path])
        elif path in REPORTED:
            status, note = REPORTED[path]
            table[path] = ConfigKey(path, status, note)
    return table


# ---------------------------------------------------------------------------------------- the schema


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model inside an annotation (``list[X] | None`` -> X) and whether it is a list's."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    is_list = typing.get_origin(annotation) is list
    for arg in typing.get_args(annotation):
        found, inner_list = _model_of(arg)
        if found is not None:
            return found, is_list or inner_list
    return None, False


def schema_paths() -> list[str]:
    """Every key the schema accepts: every field of every section model, recursively, and the
    sections' ``INERT_KEYS``."""
    paths: list[str] = []

    def walk(prefix: str, model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            path = prefix + (field.alias or name)
            paths.append(path)
            inner, is_list = _model_of(field.annotation)
            if inner is not None:
                walk(path + ("[]." if is_list else "."), inner)

    walk("", ConfigFile)
    for section, keys in INERT_KEYS.items():
        paths += [f"{section}.{key}" for key in sorted(keys)]
    return paths


def inert_paths() -> set[str]:
    """The keys the loader accepts and drops before validation (``INERT_KEYS``): never in effect."""
    return {f"{section}.{key}" for section, keys in INERT_KEYS.items() for key in keys}


def present_paths(data: Mapping[str, Any]) -> list[str]:
    """The schema paths a raw config file sets (each once, in file order)."""
    known = set(schema_paths())
    found: dict[str, None] = {}

    def walk(prefix: str, value: Any) -> Iterator[str]:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                path = f"{prefix}{key}"
                if path in known:
                    yield path
                    yield from walk(path + ".", inner)
        elif isinstance(value, list):
            for item in value:
                yield from walk(prefix.rstrip(".") + "[].", item)

    for path in walk("", data):
        found.setdefault(path)
    return list(found)


def without_effect(present: list[str], declared: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(path, why)`` for every key the file sets that does nothing on this gateway.

    ``declared`` is path -> plugin for the keys the loaded plugins implement (``gateway_config_keys``).
    """
    plugins = plugin_keys()
    inert = inert_paths()
    out: list[tuple[str, str]] = []
    for path in present:
        if path not in inert and (path in CORE or path in declared):
            continue
        if path in plugins:
            out.append((path, f"implemented by {plugins[path]}, which is not installed: pip install {plugins[path]}"))
        elif path in REPORTED:
            status, note = REPORTED[path]
            out.append((path, f"not planned: {note}" if status == "not planned" else f"comes with {note}"))
        else:  # a key the schema knows but nobody classified: the schema-walk test prevents it
            out.append((path, "no code reads it"))
    return out


__all__ = ["CORE", "REPORTED", "ConfigKey", "config_keys", "present_paths", "schema_paths", "without_effect"]
