"""Live health checks: call each deployment with a minimal request and say whether it answers.

``GET /health`` (admin keys) and ``general_settings.background_health_checks`` both use this.  A
check is one call through the deployment's provider, exactly as a request would make it: a
1-token chat (``max_tokens: 1``), or an embeddings call for a deployment whose ``model_info.mode``
is ``embedding``.  Each is bounded by ``model_info.health_check_timeout`` (else
``GATEWAY_HEALTH_CHECK_TIMEOUT``, else 60 s, LiteLLM's default), so a hanging upstream is reported
as timed out instead of holding the answer.

A check costs money, so it is rate limited: a deployment's result is reused for 90 % of
``health_check_interval`` (300 s unless set) and only one check of a deployment runs at a time.
With Redis (the router's: ``router_settings.redis_url`` / ``redis_host`` / ``REDIS_URL``) the
results and the right to run the next check are shared by every worker and instance
(``<prefix>results`` hash, ``<prefix>lock:<deployment>`` keys set with ``NX``), so a fleet makes
one call per deployment per window, whoever asks; without Redis each worker checks on its own.

With ``router_settings.enable_health_check_routing`` an unhealthy deployment is cooled down until
the next check is due (the router's cooldown, shared through its state); the router's rule that a
group's only deployment is never taken out of rotation holds here too.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from gateway._errors import GatewayError, ServiceUnavailableError, UpstreamError, UpstreamUnreachableError
from gateway._logs import get_logger
from gateway._strategies.redis_state import redis_location
from gateway._types import JSONResponseBody, RequestContext
from gateway._wildcards import is_wildcard
from gateway.chat import decode_openai_chat, decode_openai_prompt
from gateway.http._requests import new_request_id

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Deployment

log = get_logger("gateway.health")

#: LiteLLM's default ``health_check_interval`` (seconds)
DEFAULT_INTERVAL = 300.0
#: LiteLLM's default timeout of one health check (``HEALTH_CHECK_TIMEOUT_SECONDS``)
DEFAULT_TIMEOUT = 60.0
#: a result is reused for this share of the interval (the background loop's next round is always stale)
FRESH_SHARE = 0.9
DEFAULT_PREFIX = "gateway:health:"
PROBE_TEXT = "ping"


@dataclass(slots=True)
class CheckResult:
    deployment_id: str
    healthy: bool
    #: why it is unhealthy (or why it was not called), never an address or a credential
    reason: str | None
    latency_ms: float | None
    checked_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "healthy": self.healthy,
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "checked_at": self.checked_at,
        }

    @classmethod
    def from_json(cls, raw: bytes | str) -> CheckResult | None:
        try:
            data = orjson.loads(raw)
            return cls(
                str(data["deployment_id"]),
                bool(data["healthy"]),
                data.get("reason"),
                data.get("latency_ms"),
                float(data["checked_at"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


def probe_mode(deployment: Deployment) -> str | None:
    """``chat`` or ``embeddings``: the probe for the deployment's ``model_info.mode``; None when
    there is no cheap probe for its mode (images, audio ...): it is then reported, not called."""
    mode = deployment.model_info.get("mode") or "chat"
    if mode in ("chat", "completion", "responses"):
        return "chat"
    if mode == "embedding":
        return "embeddings"
    return None


class HealthChecks:
    """The live checks of one gateway (one per worker; results shared through Redis when configured)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        general = gateway.config.general_settings
        self.interval = float(general.health_check_interval or DEFAULT_INTERVAL)
        self.fresh_for = self.interval * FRESH_SHARE
        self.background = bool(general.background_health_checks)
        self.routing = bool(gateway.config.router_settings.enable_health_check_routing)
        self.timeout = float(os.environ.get("GATEWAY_HEALTH_CHECK_TIMEOUT") or DEFAULT_TIMEOUT)
        self.prefix = os.environ.get("GATEWAY_HEALTH_REDIS_PREFIX", DEFAULT_PREFIX)
        self._location = redis_location(gateway.config.router_settings)
        self.results: dict[str, CheckResult] = {}
        self._running: dict[str, asyncio.Task[CheckResult]] = {}
        self._redis: Any = None
        self._loop: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self._location is not None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._location is not None:
            import redis.asyncio as aioredis

            url, password = self._location
            self._redis = aioredis.Redis.from_url(
                url, password=password, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
            )
        if self.background:
            log.info(
                "background_health_checks",
                interval=self.interval,
                deployments=len(self.gateway.deployments),
                scope="shared through Redis by every worker and instance" if self.shared else "per worker (no Redis)",
                routing="unhealthy deployments are cooled down" if self.routing else "not affected",
            )
            self._loop = asyncio.create_task(self._background(), name="gateway-health-checks")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            try:
                await self._loop
            except asyncio.CancelledError:
                pass
            self._loop = None
        for task in list(self._running.values()):
            task.cancel()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def ping(self) -> None:
        """Raise unless the shared Redis answers (for ``/health/readiness/details``)."""
        if self._redis is None:
            raise RuntimeError("the Redis link is not open (the gateway is not serving)")
        await self._redis.ping()

    async def _background(self) -> None:
        while True:
            try:
                await self.check_all(wait_for_others=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the loop die: the next round tries again
                log.error("health_check_round_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval)

    # ------------------------------------------------------------------ checks

    async def check_all(
        self, deployments: list[Deployment] | None = None, *, wait_for_others: bool = True
    ) -> list[tuple[Deployment, CheckResult | None]]:
        """Each deployment's result: a fresh one (here or shared), else a new check."""
        chosen = self.gateway.deployments if deployments is None else deployments
        results = await asyncio.gather(*(self.result_for(d, wait_for_others=wait_for_others) for d in chosen))
        return list(zip(chosen, results, strict=True))

    async def result_for(self, deployment: Deployment, *, wait_for_others: bool = True) -> CheckResult | None:
        cached = await self._fresh(deployment.id)
        if cached is not None:
            return cached
        running = self._running.get(deployment.id)
        if running is None:
            if not await self._claim(deployment.id):
                # another worker checks it (or did, less than a window ago): its result arrives in Redis
                return await self._shared_result(deployment, wait=wait_for_others)
            running = asyncio.create_task(self._check_and_record(deployment))
            self._running[deployment.id] = running
            key = deployment.id

            def forget(_: asyncio.Task[CheckResult]) -> None:
                self._running.pop(key, None)

            running.add_done_callback(forget)
        return await asyncio.shield(running)

    async def _fresh(self, deployment_id: str) -> CheckResult | None:
        now = time.time()
        local = self.results.get(deployment_id)
        if local is not None and now - local.checked_at < self.fresh_for:
            return local
        if self._redis is not None:
            shared = await self._read_shared(deployment_id)
            if shared is not None and now - shared.checked_at < self.fresh_for:
                self.results[deployment_id] = shared
                return shared
        return None

    async def _claim(self, deployment_id: str) -> bool:
        """The right to check the deployment in this window (always ours without Redis)."""
        if self._redis is None:
            return True
        try:
            claimed = await self._redis.set(
                f"{self.prefix}lock:{deployment_id}", "1", nx=True, px=max(1, int(self.fresh_for * 1000))
            )
        except Exception as exc:
            log.warning("health_check_redis_unavailable", error=f"{type(exc).__name__}: {exc}")
            return True  # checking here beats reporting nothing
        return bool(claimed)

    async def _read_shared(self, deployment_id: str) -> CheckResult | None:
        try:
            raw = await self._redis.hget(f"{self.prefix}results", deployment_id)
        except Exception as exc:
            log.warning("health_check_redis_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        return CheckResult.from_json(raw) if raw else None

    async def _shared_result(self, deployment: Deployment, *, wait: bool) -> CheckResult | None:
        """Another worker's result for the deployment: waited for (up to its timeout) when asked."""
        deadline = time.monotonic() + self.timeout_for(deployment) + 2.0
        while True:
            result = await self._read_shared(deployment.id)
            if result is not None and (time.time() - result.checked_at < self.fresh_for or not wait):
                self.results[deployment.id] = result
                return result
            if not wait or time.monotonic() > deadline:
                return result
            await asyncio.sleep(0.1)

    async def _check_and_record(self, deployment: Deployment) -> CheckResult:
        result = await self.check(deployment)
        self.results[deployment.id] = result
        if self._redis is not None:
            try:
                await self._redis.hset(f"{self.prefix}results", deployment.id, orjson.dumps(result.to_json()).decode())
            except Exception as exc:
                log.warning("health_check_redis_unavailable", error=f"{type(exc).__name__}: {exc}")
        if not result.healthy:
            log.warning(
                "deployment_unhealthy",
                model_group=deployment.model_group,
                model_id=deployment.id,
                reason=result.reason,
                latency_ms=result.latency_ms,
            )
            if self.routing and deployment.unavailable is None:
                # until the next check is due (and its own timeout): that check decides again
                until = time.time() + self.interval + self.timeout_for(deployment)
                self.gateway.router.state.cool(deployment.id, until)
        return result

    def timeout_for(self, deployment: Deployment) -> float:
        own = deployment.model_info.get("health_check_timeout")
        if isinstance(own, int | float) and not isinstance(own, bool) and own > 0:
            return float(own)
        return self.timeout

    async def check(self, deployment: Deployment) -> CheckResult:
        """One live call to the deployment (never cached, never rate limited: callers see to that)."""
        now = time.time()
        if deployment.unavailable is not None:
            return CheckResult(deployment.id, False, deployment.unavailable, None, now)
        if is_wildcard(deployment.model):
            return CheckResult(deployment.id, True, "not called: a wildcard deployment has no model to ask", None, now)
        mode = probe_mode(deployment)
        if mode is None:
            why = f"not called: no health probe for model_info.mode {deployment.model_info.get('mode')!r}"
            return CheckResult(deployment.id, True, why, None, now)
        timeout = self.timeout_for(deployment)
        started = time.perf_counter()
        try:
            answer = await asyncio.wait_for(self._call(deployment, mode), timeout)
        except TimeoutError:
            return self._failed(deployment, now, started, f"timed out after {timeout:g} s without an answer")
        except UpstreamError as exc:
            if isinstance(exc, UpstreamUnreachableError):  # named by deployment, never by address
                exc.name_deployment(deployment.id, deployment.model_group)
            return self._failed(deployment, now, started, exc.message)
        except GatewayError as exc:
            return self._failed(deployment, now, started, exc.message)
        except Exception as exc:  # a provider's bug is still an unhealthy deployment, named
            return self._failed(deployment, now, started, f"{type(exc).__name__}: {exc}")
        latency = round((time.perf_counter() - started) * 1000, 1)
        if isinstance(answer, JSONResponseBody) and answer.status >= 400:
            return CheckResult(deployment.id, False, f"upstream answered {answer.status}", latency, now)
        return CheckResult(deployment.id, True, None, latency, now)

    def _failed(self, deployment: Deployment, now: float, started: float, reason: str) -> CheckResult:
        return CheckResult(deployment.id, False, reason, round((time.perf_counter() - started) * 1000, 1), now)

    async def _call(self, deployment: Deployment, mode: str) -> Any:
        gateway = self.gateway
        group = deployment.model_group
        ctx = RequestContext(new_request_id(), mode, {}, {})  # type: ignore[arg-type]
        if mode == "embeddings":
            ctx.body = {"model": group, "input": [PROBE_TEXT]}
            ctx.request = decode_openai_prompt(ctx.body, "embeddings")
            ctx.surface = "openai.embeddings"
        else:
            ctx.body = {"model": group, "messages": [{"role": "user", "content": PROBE_TEXT}], "max_tokens": 1}
            ctx.request = decode_openai_chat(ctx.body)
            ctx.surface = "openai.chat"
        ctx.principal = gateway.master_principal
        ctx.requested_model = ctx.model_group = group
        ctx.deployment = deployment
        # the deployment's own mock_response / mock_timeout answer its check as they answer a request
        flags = gateway.deployment_flags.get(deployment.id)
        if flags is not None and (mocked := await flags.attempt(ctx, deployment)) is not None:
            return mocked
        provider = gateway.providers.get(deployment.provider)
        if provider is None:
            raise ServiceUnavailableError(f"no provider is registered for {deployment.provider!r}")
        if mode == "embeddings":
            return await provider.embeddings(ctx, deployment, gateway)
        return await provider.chat(ctx, deployment, gateway)


STATE_KEY = "core.health_checks"


def health_checks(gateway: Gateway) -> HealthChecks:
    """The gateway's checker (made on first use; the built-in plugin starts and stops it)."""
    checks = gateway.state.get(STATE_KEY)
    if checks is None:
        checks = gateway.state[STATE_KEY] = HealthChecks(gateway)
    assert isinstance(checks, HealthChecks)
    return checks
