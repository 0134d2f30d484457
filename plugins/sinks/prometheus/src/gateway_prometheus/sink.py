"""Turning each finished request's payload into metric updates (in the log worker, off the request path)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.sinks import Sink

from .metrics import UNKNOWN, LabelGuard, Metrics

if TYPE_CHECKING:
    from gateway import Gateway

PLUGIN = "prometheus"
#: ``ctx.annotations["spend"]`` shapes read here (documented in docs/log-event.md)
BUDGET_SCOPES = ("key", "team", "user", "end_user", "org")


class PrometheusSink(Sink):
    """Updates the metrics in ``prepare``; nothing is queued or sent (Prometheus scrapes ``/metrics``)."""

    receives_all = True
    wants_content = False

    def __init__(self, gateway: Gateway, metrics: Metrics, labels: LabelGuard) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.labels = labels

    def prepare(self, payload: dict[str, Any], event: Any) -> None:
        if event.ctx.state.get(PLUGIN):
            self.metrics.in_flight.dec()
        self.record(payload)
        return None

    async def send_batch(self, items: list[Any]) -> None:  # pragma: no cover - prepare never queues
        return None

    # ------------------------------------------------------------------ per request

    def record(self, p: dict[str, Any]) -> None:
        m, guard = self.metrics, self.labels
        group = guard("model_group", p["model_group"] or None)
        provider = guard("api_provider", p["provider"])
        extra = [self._extra(name, p) for name in m.extra]
        status = str(p["status"])
        m.requests.labels(group, status, *extra).inc()
        if p["status"] >= 400:
            m.failed.labels(group, status, guard("exception_class", p["error_class"]), *extra).inc()
        usage = p["usage"]
        if usage:
            m.input_tokens.labels(group, provider, *extra).inc(usage["prompt_tokens"])
            m.output_tokens.labels(group, provider, *extra).inc(usage["completion_tokens"])
            m.total_tokens.labels(group, provider, *extra).inc(usage["total_tokens"])
            if usage["cached_tokens"]:
                m.cached_tokens.labels(group, provider).inc(usage["cached_tokens"])
            if usage["reasoning_tokens"]:
                m.reasoning_tokens.labels(group, provider).inc(usage["reasoning_tokens"])
        if p["cost_usd"]:
            m.spend.labels(group, provider, *extra).inc(p["cost_usd"])
        self._latency(p, group, provider)
        self._deployments(p, group)
        self._fallbacks(p, group)
        self._spend_annotations(p)
        self._guardrails(p)
        self._cache(p, group)

    def _extra(self, name: str, p: dict[str, Any]) -> str:
        principal = p.get("principal") or {}
        value = {
            "team": principal.get("team_alias") or principal.get("team_id"),
            "key_alias": principal.get("key_alias"),
            "key_hash": principal.get("key_hash"),
            "user": principal.get("user_id"),
            "end_user": p.get("end_user"),
            "requested_model": p.get("requested_model"),
        }[name]
        return self.labels(name, value)

    def _latency(self, p: dict[str, Any], group: str, provider: str) -> None:
        m, timings = self.metrics, p["timings"]
        m.total_latency.labels(group, provider).observe(timings["total_ms"] / 1000)
        if timings["upstream_ms"] is not None and p["status"] < 400:
            m.upstream_latency.labels(group, provider).observe(timings["upstream_ms"] / 1000)
            m.overhead_latency.labels(group, provider).observe(timings["overhead_ms"] / 1000)
        if timings["time_to_first_token_ms"] is not None:
            m.ttft.labels(group, provider).observe(timings["time_to_first_token_ms"] / 1000)

    def _deployment_labels(self, deployment_id: str) -> tuple[str, str, str]:
        found = self.gateway.router.by_id.get(deployment_id)
        guard = self.labels
        return (
            guard("model_group", found.model_group if found else None),
            guard("model_id", deployment_id),
            guard("api_provider", found.provider if found else None),
        )

    def _deployments(self, p: dict[str, Any], group: str) -> None:
        m = self.metrics
        for attempt in p["attempts"]:
            labels = self._deployment_labels(attempt["deployment_id"])
            m.deployment_requests.labels(*labels).inc()
            m.deployment_failure.labels(*labels, str(attempt["status"] or UNKNOWN)).inc()
            m.deployment_state.labels(*labels).set(1)
        if p["deployment_id"] and p["status"] < 400:
            labels = self._deployment_labels(p["deployment_id"])
            m.deployment_requests.labels(*labels).inc()
            m.deployment_success.labels(*labels).inc()
            m.deployment_state.labels(*labels).set(0)
        limits = p.get("upstream_rate_limit")
        if limits and p["deployment_id"]:
            model_id = self.labels("model_id", p["deployment_id"])
            if "remaining_requests" in limits:
                m.upstream_remaining_requests.labels(group, model_id).set(limits["remaining_requests"])
            if "remaining_tokens" in limits:
                m.upstream_remaining_tokens.labels(group, model_id).set(limits["remaining_tokens"])

    def _fallbacks(self, p: dict[str, Any], group: str) -> None:
        if not p["fallbacks"]:
            return
        if p["status"] < 400 and p["deployment_id"]:
            served = self._deployment_labels(p["deployment_id"])[0]
            self.metrics.fallback_ok.labels(group, served).inc()
        else:
            self.metrics.fallback_failed.labels(group).inc()

    def _spend_annotations(self, p: dict[str, Any]) -> None:
        spend = (p.get("annotations") or {}).get("spend")
        if not isinstance(spend, dict):
            return
        m, guard = self.metrics, self.labels
        for budget in spend.get("budgets") or ():
            if not isinstance(budget, dict) or budget.get("scope") not in BUDGET_SCOPES:
                continue
            remaining = _number(budget.get("remaining"))
            if remaining is None:
                limit, spent = _number(budget.get("max_budget")), _number(budget.get("spend"))
                remaining = None if limit is None or spent is None else limit - spent
            if remaining is not None:
                scope = budget["scope"]
                name = guard(f"budget_{scope}", budget.get("alias") or budget.get("id"))
                m.budget_remaining[scope].labels(name).set(remaining)
        group = guard("model_group", p["model_group"] or None)
        for limit in spend.get("rate_limits") or ():
            if not isinstance(limit, dict) or limit.get("scope") != "key":
                continue
            name = guard("budget_key", limit.get("alias") or limit.get("id"))
            if _number(limit.get("remaining_requests")) is not None:
                m.key_remaining_requests.labels(name, group).set(_number(limit["remaining_requests"]))
            if _number(limit.get("remaining_tokens")) is not None:
                m.key_remaining_tokens.labels(name, group).set(_number(limit["remaining_tokens"]))

    def _cache(self, p: dict[str, Any], group: str) -> None:
        """``annotations["cache"]``: ``{hit, saved_cost?, bypassed?}`` (docs/log-event.md)."""
        cache = (p.get("annotations") or {}).get("cache")
        if not isinstance(cache, dict):
            return
        m = self.metrics
        if cache.get("bypassed"):
            m.cache_bypassed.labels(group).inc()
        elif cache.get("hit") is True:
            m.cache_hits.labels(group).inc()
            usage = p["usage"]
            if usage:
                m.cached_tokens_served.labels(group).inc(usage["total_tokens"])
            saved = _number(cache.get("saved_cost"))
            if saved:
                m.cache_saved.labels(group).inc(saved)
        elif cache.get("hit") is False:
            m.cache_misses.labels(group).inc()

    def _guardrails(self, p: dict[str, Any]) -> None:
        m, guard = self.metrics, self.labels
        for outcome in p["guardrails"]:
            name, mode = guard("guardrail", outcome["name"]), guard("guardrail_mode", outcome["mode"])
            m.guardrail_requests.labels(name, mode, guard("guardrail_outcome", outcome["outcome"])).inc()
            if outcome.get("error"):
                m.guardrail_errors.labels(name, mode).inc()
            if outcome["latency_ms"] is not None:
                m.guardrail_latency.labels(name, mode).observe(outcome["latency_ms"] / 1000)

    # ------------------------------------------------------------------ outside requests

    def cooldown(self, details: dict[str, Any]) -> None:
        deployment_id = details.get("deployment_id")
        if isinstance(deployment_id, str):
            labels = self._deployment_labels(deployment_id)
            self.metrics.cooled_down.labels(*labels).inc()
            self.metrics.deployment_state.labels(*labels).set(2)

    def dropped(self, sink: str, reason: str, count: int) -> None:
        self.metrics.sink_dropped.labels(self.labels("sink", sink), reason).inc(count)
        if reason == "send_failed":
            self.metrics.callback_failures.labels(self.labels("sink", sink)).inc(count)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
