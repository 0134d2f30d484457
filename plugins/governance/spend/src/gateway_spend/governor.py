"""Admission, settlement and recording of one request: the plugin's request path.

* ``admit`` (``gateway_pre_call``): refuses a request whose ledger row could not be stored
  (:mod:`.edge`), then one atomic backend call reserves the request's maximum cost against every
  budget and takes its place in every rate window and parallel gauge.
* ``admit_deployment`` (``gateway_call``): the chosen deployment's own ``rpm``/``tpm``.
* ``finish_response`` / the stream wrapper (``gateway_post_call``): price the real usage, append
  the ledger record to the write-ahead log, then settle the reservation (the second call).
* ``finish_logged`` (``gateway_log``): the safety net for every request that ended otherwise
  (errors, a later plugin refusing, a client gone before the stream started): release and record.
A reservation that is never settled (the worker died) expires and is reclaimed by the next admission.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from gateway import (
    Deployment,
    GatewayError,
    RequestContext,
    ServiceUnavailableError,
    StreamResponseBody,
    UpstreamError,
    Usage,
    fake_openai,
    tokens,
)
from gateway.routing import request_tags

from .admission import AdmissionPlan, Admitted, NeedSeed, RateLine, Rejected
from .edge import check_storable
from .errors import budget_error, litellm_budget_error, rate_limit_error, success_headers
from .key_spend import KeySpendTotals
from .money import counter_step, from_nanos, money_str, to_nanos
from .pricing import (
    Price,
    PromptEstimator,
    ReportedModelPrices,
    TokenCounts,
    UnknownPrice,
    choices_generated,
    price_for,
    requested_output_tokens,
)
from .records import build_record
from .scopes import GlobalBudget, applicable_scopes, plan_lines, scopes_signature

log = structlog.get_logger("gateway.spend")
PLUGIN = "spend"
#: ``ctx.annotations`` mark of a request core answered itself (``mock_response``): it costs nothing
MOCKED = "mock_response"
#: the annotation a response cache sets on an answer it served (gateway-cache)
CACHE_HIT = "cache_hit"
KEY_SPEND_HEADER = "x-litellm-key-spend"


@dataclass(slots=True)
class ScopeLines:
    """What a set of scopes asks of a request, worked out once per distinct set (``Governor._lines``)."""

    budgets: list[Any]
    rates: list[Any]
    parallels: list[Any]
    #: LiteLLM's ``x-litellm-key-{rpm,tpm}-limit`` and ``x-litellm-key-max-budget`` for the key's limits
    key_headers: dict[str, str]
    #: index of the key's own budget in ``budgets`` (its counter gives ``x-litellm-key-spend``), or -1
    key_budget: int


_NO_LINES = ScopeLines([], [], [], {}, -1)


@dataclass(slots=True)
class RequestSpend:
    """What this plugin remembers about one request (``ctx.state["spend"]``)."""

    plan: AdmissionPlan | None
    window_keys: list[str]
    #: prompt tokens estimated before the call; -1 when nothing needed it
    prompt_estimate: int
    settled: bool = False
    recorded: bool = False
    #: index of the key's own budget in ``plan.budgets``, or -1
    key_budget: int = -1
    #: the answer's ``id`` (what the client saw) and the ``model`` the upstream reported
    response_id: Any = None
    reported_model: Any = None


class Governor:
    """Budgets, rate limits and the ledger for one gateway (kept in ``gateway.state["spend"]``)."""

    def __init__(self, gateway: Any, config: Any, counters: Any, global_budget: GlobalBudget) -> None:
        self.gateway = gateway
        self.config = config
        self.counters = counters
        self.global_budget = global_budget
        self.status_code = gateway.config.litellm_settings.budget_exceeded_status_code
        mode = config.budget_admission or (
            "spend_check" if gateway.config.general_settings.disable_budget_reservation else "reserve"
        )
        #: ``reserve``: the request's maximum cost is reserved against every budget before the call;
        #: ``spend_check`` (LiteLLM's): refused once the spend so far reaches the budget
        self.reserve_budgets = mode == "reserve"
        self.prices: dict[str, Price] = {}
        self.output_caps: dict[str, int] = {}
        self.index_deployments()
        # deployments change at runtime (a config reload, gateway-model-store's /model/new): re-index them
        gateway.add_deployments_listener(self.index_deployments)
        self.reported_prices = ReportedModelPrices()
        self.key_spend = KeySpendTotals()
        self.ledger: Any = None
        #: a test clock (epoch seconds); None = the backend's clock (Redis server time, or time.time)
        self.clock: Callable[[], float] | None = None
        self.stats = {
            "admitted": 0,
            "rejected_budget": 0,
            "rejected_rate": 0,
            "counter_failures": 0,
            "settle_failures": 0,
            "seeded_from_ledger": 0,
        }
        self._seeding: dict[tuple[str, str, float], asyncio.Future[Decimal]] = {}
        self._lines_cache: dict[tuple[object, ...], ScopeLines] = {}
        # ``gateway_end_user_scope`` (customers' own budgets), resolved once: no hook call per
        # request when no plugin answers it
        hook = getattr(gateway.pm.hook, "gateway_end_user_scope", None)
        self.end_user_scope: Callable[[str], Any] | None = (
            (lambda end_user: hook(end_user=end_user, gateway=gateway)) if hook and hook.get_hookimpls() else None
        )
        # ``gateway_tag_scopes`` (tag budgets), likewise: tags are read only when a plugin answers it
        tag_hook = getattr(gateway.pm.hook, "gateway_tag_scopes", None)
        self.tag_scopes: Callable[[list[str]], Any] | None = (
            (lambda tags: tag_hook(tags=tags, gateway=gateway)) if tag_hook and tag_hook.get_hookimpls() else None
        )
        for deployment in gateway.deployments:
            if isinstance(self.prices[deployment.id], UnknownPrice):
                log.warning(
                    "deployment_without_price",
                    deployment=deployment.id,
                    model_group=deployment.model_group,
                    model=f"{deployment.provider}/{deployment.model}",
                    fix="set input_cost_per_token and output_cost_per_token (or base_model) in its litellm_params; "
                    "until then a call is priced by the model name its upstream reports, and recorded with "
                    "cost_unknown when that has no price either",
                )

    def index_deployments(self) -> None:
        """Each deployment's price and output cap, and each group's prompt estimator (swapped in whole)."""
        deployments = self.gateway.deployments
        self.prices = {d.id: price_for(d) for d in deployments}
        self.output_caps = {d.id: self._output_cap(d) for d in deployments}
        self.estimate_prompt = PromptEstimator(deployments)

    def _output_cap(self, deployment: Deployment) -> int:
        for value in (deployment.model_info.get("max_output_tokens"), deployment.params.get("max_tokens")):
            if isinstance(value, int) and value > 0:
                return value
        return self.config.default_max_output_tokens

    def now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    # ------------------------------------------------------------------ admission

    def _max_output(self, ctx: RequestContext, deployment: Deployment) -> int:
        """Output tokens the request may generate on ``deployment``: every choice up to its cap."""
        if ctx.endpoint == "embeddings":
            return 0
        per_choice = requested_output_tokens(ctx.request)
        if per_choice is None:
            per_choice = self.output_caps.get(deployment.id, self.config.default_max_output_tokens)
        return per_choice * choices_generated(ctx.request)

    def _max_cost(self, ctx: RequestContext, prompt: int) -> int:
        """The most this request can cost on any deployment of its group, in nanos.

        The prompt is billed once, the output once per generated choice (``n``, ``best_of``).
        """
        worst = Decimal(0)
        for deployment in self.gateway.router.groups.get(ctx.model_group, ()):
            output = self._max_output(ctx, deployment)
            worst = max(worst, self.prices[deployment.id].cost(TokenCounts(prompt, output)))
        return counter_step(to_nanos(worst))

    def _max_tokens(self, ctx: RequestContext, prompt: int) -> int:
        """Tokens reserved against ``tpm`` limits: the prompt and every choice's output cap, if asked."""
        per_choice = requested_output_tokens(ctx.request) if ctx.endpoint != "embeddings" else None
        return counter_step(prompt + (per_choice or 0) * choices_generated(ctx.request))

    def _lines(self, scopes: list[Any], enforce: bool) -> ScopeLines:
        """Plan lines for these scopes: validated and converted once per distinct set of limits."""
        signature = scopes_signature(scopes, enforce)
        lines = self._lines_cache.get(signature)
        if lines is None:
            budgets, rates, parallels = plan_lines(scopes, enforce=enforce)
            key_budget = next((i for i, line in enumerate(budgets) if line.scope == "key"), -1)
            lines = ScopeLines(budgets, rates, parallels, key_limit_headers(scopes), key_budget)
            if len(self._lines_cache) >= 10_000:
                self._lines_cache.clear()
            self._lines_cache[signature] = lines
        return lines

    async def admit(self, ctx: RequestContext) -> None:
        principal = ctx.principal
        assert principal is not None
        if self.ledger is not None:
            check_storable(ctx)  # before the upstream call: after it, a refused row would be spend unaccounted for
        enforce = principal.kind != "master"
        end_user = ctx.request.user if ctx.request is not None else None
        tag_scopes = None
        if self.tag_scopes is not None:
            tags = request_tags(ctx)
            tag_scopes = self.tag_scopes(tags) if tags else None
        scopes = applicable_scopes(principal, end_user, self.global_budget, self.end_user_scope, tag_scopes)
        lines = self._lines(scopes, enforce) if scopes else _NO_LINES
        budgets, rates, parallels = lines.budgets, lines.rates, lines.parallels
        spend = RequestSpend(None, [], -1)
        ctx.state[PLUGIN] = spend
        if lines.key_headers:
            ctx.response_headers.update(lines.key_headers)
        if not (budgets or rates or parallels):
            return
        if not tokens.loaded():  # the tokenizer is built once per worker, in a thread, when first needed
            await tokens.load()
        prompt = spend.prompt_estimate = self.estimate_prompt(ctx)
        plan = AdmissionPlan(
            os.urandom(12).hex(),
            budgets,
            rates,
            parallels,
            # spend_check reserves nothing: a budget then refuses once the spend so far reaches it
            reserve=self._max_cost(ctx, prompt) if budgets and self.reserve_budgets else 0,
            ttl=self.config.reservation_ttl_seconds,
            tokens=self._max_tokens(ctx, prompt),
        )
        outcome = await self._admit(plan)
        if outcome is None:  # counters unreachable and the policy lets requests through
            return
        spend.plan = plan
        spend.window_keys = outcome.window_keys
        self.stats["admitted"] += 1
        if rates:
            ctx.response_headers.update(success_headers(plan, outcome.rate_usage))
        if lines.key_budget >= 0:  # what the key spent so far (a settled answer says what it spends after)
            spend.key_budget = lines.key_budget
            ctx.response_headers[KEY_SPEND_HEADER] = money_str(from_nanos(outcome.spent[lines.key_budget]))

    async def _admit(self, plan: AdmissionPlan) -> Admitted | None:
        seeds: dict[int, int] = {}
        for _ in range(4):
            try:
                outcome = await self.counters.admit(plan, self.now(), seeds)
            except GatewayError:
                raise
            except Exception as exc:
                return self._counters_down(exc)
            if isinstance(outcome, Admitted):
                return outcome
            if isinstance(outcome, NeedSeed):
                seeds.update(await self._seeds(plan, outcome))
                continue
            self._reject(plan, outcome)
        raise ServiceUnavailableError(
            "budget counters could not be initialised; retry in a moment", headers={"retry-after": "1"}
        )

    async def _seeds(self, plan: AdmissionPlan, need: NeedSeed) -> dict[int, int]:
        """Spend already in the ledger for budget windows the counters do not know yet."""
        seeds: dict[int, int] = {}
        for index, start in zip(need.indexes, need.window_starts, strict=True):
            line = plan.budgets[index]
            if self.ledger is None:
                seeds[index] = 0
                continue
            # concurrent requests of a cold scope share one ledger query
            lookup = (line.scope, line.id, start)
            pending = self._seeding.get(lookup)
            if pending is None:
                pending = self._seeding[lookup] = asyncio.ensure_future(self.ledger.spend_since(*lookup))
                pending.add_done_callback(lambda _, lookup=lookup: self._seeding.pop(lookup, None))
                self.stats["seeded_from_ledger"] += 1
            try:
                seeds[index] = to_nanos(await asyncio.shield(pending))
            except Exception as exc:
                log.error("spend_seed_failed", scope=line.scope, error=f"{type(exc).__name__}: {exc}")
                raise ServiceUnavailableError(
                    f"the spend ledger cannot be read to start counting {line.label}'s budget; retry when the "
                    "database is reachable",
                    headers={"retry-after": "5"},
                ) from None
        return seeds

    def _reject(self, plan: AdmissionPlan, rejection: Rejected) -> None:
        if rejection.kind == "budget":
            self.stats["rejected_budget"] += 1
            if not self.reserve_budgets:
                raise litellm_budget_error(plan, rejection, self.status_code)
            raise budget_error(plan, rejection, self.status_code, self.now() or time.time())
        self.stats["rejected_rate"] += 1
        raise rate_limit_error(plan, rejection, self.config.rate_limit_window_seconds)

    def _counters_down(self, exc: Exception) -> None:
        self.stats["counter_failures"] += 1
        log.error(
            "spend_counters_unreachable", error=f"{type(exc).__name__}: {exc}", policy=self.config.redis_failure_policy
        )
        if self.config.redis_failure_policy == "open":
            return None
        raise ServiceUnavailableError(
            "budget and rate-limit counters are unreachable (Redis), so the request is refused "
            "(plugins.spend.redis_failure_policy: closed); retry in a moment",
            headers={"retry-after": "1"},
        )

    async def admit_deployment(self, ctx: RequestContext, deployment: Deployment) -> None:
        """The deployment's own ``rpm``/``tpm`` (LiteLLM ``litellm_params.rpm``/``tpm``)."""
        rpm, tpm = deployment.params.get("rpm"), deployment.params.get("tpm")
        if rpm is None and tpm is None:
            return
        spend: RequestSpend | None = ctx.state.get(PLUGIN)
        if not tokens.loaded():  # the tokenizer is built once per worker, in a thread, when first needed
            await tokens.load()
        prompt = spend.prompt_estimate if spend and spend.prompt_estimate >= 0 else self.estimate_prompt(ctx)
        rid = spend.plan.rid if spend and spend.plan else os.urandom(12).hex()
        label = f"deployment {deployment.id} of {deployment.model_group!r}"
        plan = AdmissionPlan(
            rid,
            rates=[RateLine(label, f"deployment:{deployment.id}", rpm, tpm)],
            ttl=self.config.reservation_ttl_seconds,
            tokens=self._max_tokens(ctx, prompt),
        )
        try:
            outcome = await self.counters.admit(plan, self.now())
        except Exception as exc:
            self._counters_down(exc)
            return
        if isinstance(outcome, Rejected):
            error = rate_limit_error(plan, outcome, self.config.rate_limit_window_seconds)
            headers = dict(error.headers)
            if outcome.retry_after_ms > 2000:
                # the kernel waits for an upstream's retry-after before retrying the same deployment;
                # a wait this long is the client's call (x-ratelimit-reset-* still says when)
                headers.pop("retry-after", None)
            # retryable: the router tries the group's other deployments first
            raise UpstreamError(error.message, status=429, type="rate_limit_error", headers=headers)
        if spend is not None and spend.plan is None:
            spend.plan = plan

    # ------------------------------------------------------------------ pricing and settlement

    def price_of(self, ctx: RequestContext, spend: RequestSpend | None) -> tuple[Decimal, str | None, bool]:
        """(cost, where its price came from, whether no price was found: ``cost_unknown``)."""
        deployment = ctx.deployment
        if deployment is None or ctx.usage is None:
            return Decimal(0), None, False
        if ctx.annotations.get(MOCKED):  # answered by the gateway itself: no upstream was paid
            return Decimal(0), MOCKED, False
        price = self.prices.get(deployment.id)
        if price is None:
            # a deployment built per request (a pass-through call to a model no deployment serves):
            # priced by its model's name, looked up once per name
            price = self.reported_prices.get(deployment.provider, deployment.model) or UnknownPrice()
        if isinstance(price, UnknownPrice):
            # the model name the upstream reports in its answer may have a price
            reported = self.reported_prices.get(deployment.provider, spend.reported_model if spend else None)
            if reported is None:
                return (
                    self._cache_hit(ctx, None) if ctx.annotations.get(CACHE_HIT) else (Decimal(0), price.source, True)
                )
            price = reported
        cost = price.cost(TokenCounts.from_usage(ctx.usage))
        if ctx.annotations.get(CACHE_HIT):
            return self._cache_hit(ctx, cost)
        return cost, price.source, False

    @staticmethod
    def _cache_hit(ctx: RequestContext, upstream_cost: Decimal | None) -> tuple[Decimal, str | None, bool]:
        """A cache plugin answered (``annotations["cache_hit"]``): no upstream was paid.  The hit costs what
        the cache says (``annotations["cache"]["hit_cost"]``, default 0); what the upstream call would
        have cost is recorded as ``annotations["cache"]["saved_cost"]`` (the ledger's metadata, Prometheus)."""
        note = ctx.annotations.get("cache")
        hit_cost = Decimal(0)
        if isinstance(note, dict):
            try:
                hit_cost = max(Decimal(str(note.get("hit_cost") or 0)), Decimal(0))
            except ArithmeticError:
                hit_cost = Decimal(0)
            if upstream_cost is not None:
                note["saved_cost"] = str(max(upstream_cost - hit_cost, Decimal(0)))
        return hit_cost, CACHE_HIT, False

    async def settle(self, ctx: RequestContext, spend: RequestSpend, cost: Decimal) -> None:
        if spend.settled:
            return
        spend.settled = True
        plan = spend.plan
        if plan is None:
            return
        tokens = counter_step(ctx.usage.total_tokens) if ctx.usage else 0
        try:
            # the real cost, even past the reservation (an upstream that ignored max_tokens): the next
            # admission sees it
            settled = await self.counters.settle(plan.rid, spend.window_keys, counter_step(to_nanos(cost)), tokens)
        except Exception as exc:  # the reservation expires and is reclaimed; the ledger has the spend
            self.stats["settle_failures"] += 1
            log.error("spend_settle_failed", request_id=ctx.request_id, error=f"{type(exc).__name__}: {exc}")
            return
        if 0 <= spend.key_budget < len(settled.spent) and settled.spent[spend.key_budget][1] >= 0:
            ctx.response_headers[KEY_SPEND_HEADER] = money_str(from_nanos(settled.spent[spend.key_budget][1]))
        for line, (before, after) in zip(plan.budgets, settled.spent, strict=False):
            if line.soft is not None and before >= 0 and before < line.soft <= after:
                self.gateway.emit_alert(
                    "soft_budget_crossed",
                    f"{line.label} crossed its soft budget: spent ${money_str(from_nanos(after))} of soft budget "
                    f"${money_str(from_nanos(line.soft))}",
                    scope=line.scope,
                    id=line.id,
                    spend=money_str(from_nanos(after)),
                    soft_budget=money_str(from_nanos(line.soft)),
                    max_budget=None if line.limit is None else money_str(from_nanos(line.limit)),
                )

    def record(
        self,
        ctx: RequestContext,
        spend: RequestSpend | None,
        cost: Decimal,
        *,
        status: str,
        http_status: int,
        source: str | None,
        error: BaseException | None = None,
        cost_unknown: bool = False,
    ) -> None:
        if spend is not None:
            if spend.recorded:
                return
            spend.recorded = True
        if self.ledger is not None:
            self.ledger.append(
                build_record(
                    ctx,
                    cost,
                    status=status,
                    http_status=http_status,
                    price_source=source,
                    error=error,
                    response_id=spend.response_id if spend is not None else None,
                    cost_unknown=cost_unknown,
                )
            )
            principal = ctx.principal
            if cost and principal is not None and principal.key_hash:
                self.key_spend.add(principal.key_hash, cost)

    def wants_key_spend(self, ctx: RequestContext) -> bool:
        """Whether ``x-litellm-key-spend`` comes from the ledger: a virtual key without a budget counter."""
        principal = ctx.principal
        if self.ledger is None or principal is None or not principal.key_hash:
            return False
        if principal.kind in ("master", "anonymous"):
            return False
        spend: RequestSpend | None = ctx.state.get(PLUGIN)
        return spend is None or spend.key_budget < 0

    async def key_spend_header(self, ctx: RequestContext) -> None:
        """``x-litellm-key-spend`` of a virtual key without a budget counter, from the ledger."""
        principal = ctx.principal
        assert principal is not None and principal.key_hash
        total = await self.key_spend.total(principal.key_hash, self.ledger)
        if total is not None:
            ctx.response_headers[KEY_SPEND_HEADER] = money_str(total)

    # ------------------------------------------------------------------ the end of a request

    async def finish_response(self, ctx: RequestContext, response: Any) -> None:
        """Non-streaming answer about to be sent: price, record (before the client has it), settle."""
        spend: RequestSpend | None = ctx.state.get(PLUGIN)
        if response.status == 200:
            data = response.data
            if spend is not None:
                spend.response_id, spend.reported_model = data.get("id"), data.get("model")
            if ctx.usage is None:
                if not tokens.loaded():
                    await tokens.load()
                ctx.usage = self._estimate_usage(ctx, spend, _response_text_chars(data))
        cost, source, unknown = self.price_of(ctx, spend)
        if not unknown:  # no price found: no cost to state (LiteLLM leaves the header out too)
            ctx.cost = cost
            ctx.response_headers["x-litellm-response-cost"] = money_str(cost)
            ctx.response_headers["x-gateway-response-cost"] = money_str(cost)
        self.record(
            ctx,
            spend,
            cost,
            status="success" if response.status < 400 else "failure",
            http_status=response.status,
            source=source,
            cost_unknown=unknown,
        )
        if spend is not None:
            await self.settle(ctx, spend, cost)
        if self.wants_key_spend(ctx):
            await self.key_spend_header(ctx)

    def meter_stream(self, ctx: RequestContext, response: StreamResponseBody) -> None:
        response.chunks = self._metered(ctx, response.chunks)

    async def _metered(
        self, ctx: RequestContext, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        chars = 0
        completed = False
        failure: BaseException | None = None
        first = True
        try:
            async for chunk in chunks:
                if first:  # the answer's id as the client sees it, and the model the upstream reports
                    first = False
                    spend: RequestSpend | None = ctx.state.get(PLUGIN)
                    if spend is not None:
                        spend.response_id, spend.reported_model = chunk.get("id"), chunk.get("model")
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    content = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(content, str):
                        chars += len(content)
                yield chunk
            completed = True
        except BaseException as exc:
            failure = exc
            raise
        finally:
            # runs before the HTTP layer sends the final ``[DONE]``: the record is on disk by then
            await self._finish_stream(ctx, completed, chars, failure)

    async def _finish_stream(
        self, ctx: RequestContext, completed: bool, chars: int, failure: BaseException | None
    ) -> None:
        spend: RequestSpend | None = ctx.state.get(PLUGIN)
        if ctx.usage is None:
            if not tokens.loaded():
                await tokens.load()
            ctx.usage = self._estimate_usage(ctx, spend, chars)
        cost, source, unknown = self.price_of(ctx, spend)
        if not unknown:
            ctx.cost = cost
        if completed:
            status, http_status = "success", 200
        else:
            status = "failure"
            http_status = failure.status if isinstance(failure, GatewayError) else 499
        self.record(
            ctx,
            spend,
            cost,
            status=status,
            http_status=http_status,
            source=source,
            error=failure if isinstance(failure, Exception) else None,
            cost_unknown=unknown,
        )
        if spend is not None:
            await self.settle(ctx, spend, cost)

    def _estimate_usage(self, ctx: RequestContext, spend: RequestSpend | None, output_chars: int) -> Usage:
        prompt = spend.prompt_estimate if spend and spend.prompt_estimate >= 0 else self.estimate_prompt(ctx)
        completion = (output_chars + 3) // 4
        return Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, estimated=True
        )

    async def finish_logged(self, ctx: RequestContext) -> None:
        """Every finished request passes here: release and record what nothing else did."""
        spend: RequestSpend | None = ctx.state.get(PLUGIN)
        if spend is not None and spend.settled and spend.recorded:
            return
        cost, source, unknown = self.price_of(ctx, spend)
        if ctx.error is not None or spend is None or not spend.recorded:
            status = "failure" if ctx.error is not None or ctx.status >= 400 else "success"
            self.record(
                ctx,
                spend,
                cost,
                status=status,
                http_status=ctx.status,
                source=source,
                error=ctx.error,
                cost_unknown=unknown,
            )
        if spend is not None:
            await self.settle(ctx, spend, cost)


def key_limit_headers(scopes: list[Any]) -> dict[str, str]:
    """LiteLLM's headers of the calling key's own limits (only those it has, as LiteLLM leaves out None)."""
    headers: dict[str, str] = {}
    for scope in scopes:
        if scope.scope != "key":
            continue
        if isinstance(scope.rpm_limit, int):
            headers["x-litellm-key-rpm-limit"] = str(scope.rpm_limit)
        if isinstance(scope.tpm_limit, int):
            headers["x-litellm-key-tpm-limit"] = str(scope.tpm_limit)
        if scope.max_budget is not None:
            headers["x-litellm-key-max-budget"] = money_str(Decimal(str(scope.max_budget)))
        break
    return headers


def _response_text_chars(data: dict[str, Any]) -> int:
    total = 0
    for choice in data.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        text = fake_openai.message_text(message) if isinstance(message, dict) else choice.get("text")
        if isinstance(text, str):
            total += len(text)
    return total
