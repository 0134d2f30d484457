"""The metric families, named as LiteLLM names them so existing dashboards keep working.

Labels are bounded: model groups, deployments and providers come from the config; status codes and
error classes are small sets; caller dimensions (team, key, user, end user) are off unless
``extra_labels`` asks for them, and every label keeps at most ``max_label_values`` distinct values
(later ones are counted under ``__other__``).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .config import PrometheusConfig

OTHER = "__other__"
UNKNOWN = "unknown"


class LabelGuard:
    """Caps the distinct values of each label dimension (per worker)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: dict[str, set[str]] = {}

    def __call__(self, dimension: str, value: Any) -> str:
        text = UNKNOWN if value in (None, "") else str(value)[:128]
        seen = self.seen.setdefault(dimension, set())
        if text in seen:
            return text
        if len(seen) >= self.limit:
            return OTHER
        seen.add(text)
        return text


class Metrics:
    """Every metric the plugin exports, created once per gateway."""

    def __init__(self, config: PrometheusConfig, registry: CollectorRegistry | None) -> None:
        r = registry
        extra = list(config.extra_labels)
        self.extra = extra
        buckets = tuple(config.latency_buckets)
        group = ["model_group", "api_provider"]
        deployment = ["model_group", "model_id", "api_provider"]

        def counter(name: str, doc: str, labels: list[str]) -> Counter:
            return Counter(name, doc, labels, registry=r)

        def gauge(name: str, doc: str, labels: list[str], mode: str = "mostrecent") -> Gauge:
            return Gauge(name, doc, labels, registry=r, multiprocess_mode=mode)  # type: ignore[arg-type]

        def histogram(name: str, doc: str, labels: list[str]) -> Histogram:
            return Histogram(name, doc, labels, registry=r, buckets=buckets)

        self.requests = counter(
            "litellm_proxy_total_requests_metric",
            "Model requests by final status",
            ["model_group", "status_code", *extra],
        )
        self.failed = counter(
            "litellm_proxy_failed_requests_metric",
            "Model requests that ended in an error",
            ["model_group", "status_code", "exception_class", *extra],
        )
        self.input_tokens = counter("litellm_input_tokens_metric", "Prompt tokens", [*group, *extra])
        self.output_tokens = counter("litellm_output_tokens_metric", "Completion tokens", [*group, *extra])
        self.total_tokens = counter("litellm_total_tokens_metric", "Prompt plus completion tokens", [*group, *extra])
        self.cached_tokens = counter(
            "litellm_cached_input_tokens_metric", "Prompt tokens served from the provider cache", group
        )
        self.reasoning_tokens = counter("litellm_reasoning_tokens_metric", "Reasoning tokens", group)
        # a response cache (gateway-cache: ``annotations["cache"]``)
        self.cache_hits = counter(
            "litellm_cache_hits_metric", "Answers served from the response cache", ["model_group"]
        )
        self.cache_misses = counter(
            "litellm_cache_misses_metric", "Cacheable requests the response cache could not answer", ["model_group"]
        )
        self.cached_tokens_served = counter(
            "litellm_cached_tokens_metric", "Tokens of the answers served from the response cache", ["model_group"]
        )
        self.cache_saved = counter(
            "gateway_cache_saved_spend_metric",
            "USD the upstream calls answered by the cache would have cost",
            ["model_group"],
        )
        self.cache_bypassed = counter(
            "gateway_cache_bypassed_requests_metric",
            "Requests that bypassed the cache: its backend did not answer",
            ["model_group"],
        )
        self.spend = counter("litellm_spend_metric", "Spend in USD", [*group, *extra])
        self.total_latency = histogram("litellm_request_total_latency_metric", "Request time in the gateway (s)", group)
        self.upstream_latency = histogram(
            "litellm_llm_api_latency_metric", "Upstream call time of the serving attempt (s)", group
        )
        self.overhead_latency = histogram(
            "litellm_overhead_latency_metric", "Gateway time outside the upstream call (s)", group
        )
        self.ttft = histogram("litellm_llm_api_time_to_first_token_metric", "Time to first token of streams (s)", group)
        self.in_flight = gauge("litellm_in_flight_requests", "Model requests being served", [], mode="livesum")
        self.deployment_requests = counter("litellm_deployment_total_requests", "Attempts per deployment", deployment)
        self.deployment_success = counter("litellm_deployment_success_responses", "Successful attempts", deployment)
        self.deployment_failure = counter(
            "litellm_deployment_failure_responses", "Failed attempts", [*deployment, "exception_status"]
        )
        self.deployment_state = gauge("litellm_deployment_state", "0 healthy, 1 failing, 2 cooling down", deployment)
        self.cooled_down = counter("litellm_deployment_cooled_down", "Times a deployment entered cooldown", deployment)
        self.fallback_ok = counter(
            "litellm_deployment_successful_fallbacks",
            "Requests served by a fallback group",
            ["requested_model", "fallback_model"],
        )
        self.fallback_failed = counter(
            "litellm_deployment_failed_fallbacks", "Requests whose fallbacks failed too", ["requested_model"]
        )
        self.budget_remaining = {
            scope: gauge(f"litellm_remaining_{name}_budget_metric", f"Remaining budget (USD) of the {scope}", [label])
            for scope, name, label in (
                ("key", "api_key", "api_key_alias"),
                ("team", "team", "team"),
                ("user", "user", "user"),
                ("end_user", "end_user", "end_user"),
                ("org", "org", "org"),
            )
        }
        self.key_remaining_requests = gauge(
            "litellm_remaining_api_key_requests_for_model",
            "Requests left in the caller's rate-limit window",
            ["api_key_alias", "model_group"],
        )
        self.key_remaining_tokens = gauge(
            "litellm_remaining_api_key_tokens_for_model",
            "Tokens left in the caller's rate-limit window",
            ["api_key_alias", "model_group"],
        )
        self.upstream_remaining_requests = gauge(
            "litellm_remaining_requests_metric", "Upstream x-ratelimit-remaining-requests", ["model_group", "model_id"]
        )
        self.upstream_remaining_tokens = gauge(
            "litellm_remaining_tokens_metric", "Upstream x-ratelimit-remaining-tokens", ["model_group", "model_id"]
        )
        self.guardrail_requests = counter(
            "litellm_guardrail_requests", "Guardrail checks by outcome", ["guardrail_name", "mode", "outcome"]
        )
        self.guardrail_errors = counter(
            "litellm_guardrail_errors", "Guardrail checks that failed to decide", ["guardrail_name", "mode"]
        )
        self.guardrail_latency = histogram(
            "litellm_guardrail_latency_seconds", "Guardrail check time (s)", ["guardrail_name", "mode"]
        )
        self.sink_dropped = counter(
            "gateway_sink_dropped_events", "Log events a sink could not take or deliver", ["sink", "reason"]
        )
        self.callback_failures = counter(
            "litellm_callback_logging_failures_metric", "Log events a sink failed to deliver", ["callback_name"]
        )
