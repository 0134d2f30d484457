"""The per-gateway cache: plan a request, serve a hit, or call the upstream once and store its answer.

It runs in ``gateway_call`` (once per attempt, after the router chose a deployment), so a hit
still passes every ``gateway_post_call`` hook (output guardrails see cached answers too), is
recorded once like any answer, and counts for rate limits; gateway-spend prices it at the
configured hit cost (``ctx.annotations["cache_hit"]``), never as an upstream call.

Single-flight: the first of identical concurrent requests (the *leader*) calls the upstream; the
others wait for its entry, at most ``single_flight_timeout_seconds``, then call the upstream
themselves.  Within a worker they wait on a future; across workers and instances (Redis backend)
on a Redis lock (``SET NX PX``), polling for the entry.  With the local backend the waiting is per
worker.  A ``no-store`` request never leads (its answer is not stored), a ``no-cache`` one never
waits.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway import (
    BadRequestError,
    Deployment,
    JSONResponseBody,
    RequestContext,
    ResponseBody,
    StreamResponseBody,
    get_logger,
)
from gateway.chat import ChatRequest

from .answers import (
    StreamAssembler,
    Uncacheable,
    check_chat_answer,
    decode_entry,
    encode_entry,
    replay,
    replayable,
    served_answer,
)
from .config import PLUGIN, CacheSettings
from .embedding import EmbeddingError
from .keys import CHAT_ENDPOINTS, request_hash, semantic_material
from .semantic import SemanticPlan, encode_record, nearest

log = get_logger("gateway_cache")

KEY_HEADER = "x-litellm-cache-key"
#: the per-request controls LiteLLM documents (``cache: {...}`` in the body, or key metadata)
BOOL_CONTROLS = ("no-cache", "no-store", "use-cache")
SECONDS_CONTROLS = ("ttl", "s-maxage")
CONTROLS = frozenset((*BOOL_CONTROLS, *SECONDS_CONTROLS, "namespace"))
MAX_NAMESPACE_CHARS = 200
#: a failing Redis is logged at most this often per worker (every failure is counted)
LOG_EVERY_SECONDS = 10.0


@dataclass(slots=True)
class Plan:
    """What the cache does for one request, decided at its first attempt."""

    kind: str
    key: str
    read: bool
    store: bool
    ttl: float
    max_age: float | None
    looked_up: bool = False
    flight: Flight | None = None
    semantic: SemanticPlan | None = None


@dataclass(slots=True)
class Flight:
    """The leader's side of single-flight: a local future and, on Redis, a lock."""

    key: str
    future: asyncio.Future[bytes | None]
    lock_key: str | None = None
    token: str = ""
    done: bool = False


@dataclass(slots=True)
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    last_logged: float = 0.0


class Cache:
    def __init__(self, settings: CacheSettings, backend: Any, embedder: Any = None) -> None:
        self.settings = settings
        self.backend = backend
        #: the semantic cache's embedder (None: exact cache only)
        self.embedder = embedder if settings.semantic is not None else None
        self.stats = Stats()
        self._flights: dict[str, asyncio.Future[bytes | None]] = {}
        plugin = settings.plugin
        self.single_flight = plugin.single_flight
        self.flight_timeout = plugin.single_flight_timeout_seconds
        self.max_entry_bytes = plugin.max_entry_bytes
        self.retry_after = plugin.redis_retry_after_seconds
        #: monotonic time until which the backend is not asked (it failed)
        self.down_until = 0.0
        #: the same for an embeddings deployment that failed (the semantic lookup is skipped meanwhile)
        self.embedder_down_until = 0.0

    # ------------------------------------------------------------------ the plan

    def plan(self, ctx: RequestContext) -> Plan | None:
        """None when this request is not cached (endpoint, mode, a stream of text completions)."""
        request = ctx.request
        endpoint = ctx.endpoint
        if request is None or endpoint not in self.settings.endpoints:
            return None
        if endpoint == "completions" and ctx.stream:
            return None  # text-completion streams have no replayable cached form here
        controls = self._controls(ctx)
        if not controls.get("use-cache", self.settings.default_on):
            return None
        read, store = not controls.get("no-cache", False), not controls.get("no-store", False)
        if not read and not store:
            return None
        kind = "chat" if endpoint in CHAT_ENDPOINTS and isinstance(request, ChatRequest) else endpoint
        group = ctx.model_group or request.model
        digest = request_hash(endpoint, group, request)
        namespace = controls.get("namespace") or "-"
        key = f"{self.settings.namespace}:{self._scope(ctx, group)}:{namespace}:{digest}"
        ttl = controls.get("ttl") or self.settings.ttl or 600.0
        plan = Plan(kind, key, read, store, float(ttl), controls.get("s-maxage"))
        if self.embedder is not None and kind == "chat":
            whole = self.settings.plugin.semantic_input == "prompt"
            found = semantic_material(endpoint, group, request, whole)
            if found is not None:
                context, text = found
                prefix = key[: -len(digest)]
                plan.semantic = SemanticPlan(context, prefix, digest, text, self.settings.plugin.semantic_guard)
        return plan

    def _scope(self, ctx: RequestContext, group: str) -> str:
        """Whose entries these are: every tenant's (opted in per model group), the team's, or the key's."""
        if group in self.settings.global_groups:
            return "global"
        principal = ctx.principal
        if principal is None:
            return "anonymous"
        if principal.team_id:
            return f"team:{principal.team_id}"
        return f"key:{principal.key_hash or principal.id}"

    def _controls(self, ctx: RequestContext) -> dict[str, Any]:
        """The key's ``metadata.cache`` (LiteLLM's per-key settings), then the request's ``cache``."""
        merged: dict[str, Any] = {}
        principal = ctx.principal
        if principal is not None:
            for source in (principal.extra.get("team_metadata"), principal.metadata):
                found = source.get("cache") if isinstance(source, dict) else None
                if isinstance(found, dict):
                    merged.update(_checked(found, "metadata.cache"))
        request = ctx.request
        asked = request.gateway.get("cache") if request is not None else None
        if asked is not None:
            if not isinstance(asked, dict):
                raise BadRequestError(
                    'cache must be an object such as {"no-cache": true} or {"ttl": 300}', param="cache"
                )
            merged.update(_checked(asked, "cache"))
        return merged

    # ------------------------------------------------------------------ serving

    async def serve(self, ctx: RequestContext, deployment: Deployment, gateway: Any, plan: Plan) -> ResponseBody | None:
        ctx.response_headers[KEY_HEADER] = plan.key
        if not plan.looked_up:
            plan.looked_up = True
            if self.down():  # it failed a moment ago: do not wait on it
                plan.read = plan.store = False
                self.stats.counts["bypassed"] += 1
                ctx.annotations[PLUGIN] = {
                    "hit": False,
                    "bypassed": "backend_unavailable",
                    "backend": self.backend.kind,
                }
            if plan.read:
                if plan.semantic is not None:  # the entry, or else the semantic candidates: one round trip
                    raw, candidates = await self._get_with_index(ctx, plan.key, plan.semantic.index_key)
                else:
                    raw, candidates = await self._get(ctx, plan.key), None
                hit = self._hit(ctx, plan, raw)
                if hit is not None:
                    return hit
                if plan.semantic is not None and not self.down():
                    hit = await self._semantic_hit(ctx, plan, gateway, candidates)
                    if hit is not None:
                        return hit
                if self.single_flight:
                    raw = await self._lead_or_wait(ctx, plan)
                    hit = self._hit(ctx, plan, raw)
                    if hit is not None:
                        return hit
            note = ctx.annotations.get(PLUGIN)
            if not (isinstance(note, dict) and note.get("bypassed")):
                self.stats.counts["misses"] += 1
                ctx.annotations[PLUGIN] = {"hit": False, "key": plan.key, "backend": self.backend.kind}
        provider = gateway.providers.get(deployment.provider)
        if provider is None:  # the kernel's dispatch says why
            await self._finish(plan, None)
            return None
        try:
            if ctx.endpoint == "embeddings":
                response = await provider.embeddings(ctx, deployment, gateway)
            elif ctx.endpoint == "completions":
                response = await provider.completions(ctx, deployment, gateway)
            else:
                response = await provider.chat(ctx, deployment, gateway)
        except BaseException:
            await self._finish(plan, None)  # the waiting requests call the upstream themselves
            raise
        if isinstance(response, StreamResponseBody):
            response.chunks = self._teed(ctx, plan, response.chunks, gateway)
            return response
        raw = await self._store_answer(ctx, plan, response, gateway) if plan.store else None
        await self._finish(plan, raw)
        return response

    def _hit(self, ctx: RequestContext, plan: Plan, raw: bytes | None) -> ResponseBody | None:
        entry = decode_entry(raw, plan.kind)
        if entry is None:
            if raw:
                self.stats.counts["foreign_entries"] += 1
            return None
        data, stored_at = entry
        age = time.time() - stored_at
        if plan.max_age is not None and age > plan.max_age:
            return None
        response: ResponseBody
        if ctx.stream:
            if plan.kind != "chat" or not replayable(data):
                return None
            response = StreamResponseBody(replay(data))
        else:
            response = JSONResponseBody(data=served_answer(data))
        self.stats.counts["hits"] += 1
        ctx.annotations["cache_hit"] = True
        ctx.annotations[PLUGIN] = {
            "hit": True,
            "key": plan.key,
            "backend": self.backend.kind,
            "age_seconds": round(age, 3),
            "hit_cost": str(self.settings.hit_cost),
        }
        return response

    # ------------------------------------------------------------------ semantic

    async def _vector(self, ctx: RequestContext, semantic: SemanticPlan, gateway: Any) -> Any:
        """The request's vector (embedded once per request), or None when the embedder failed."""
        if semantic.vector is None:
            if semantic.failed or time.monotonic() < self.embedder_down_until:
                semantic.failed = True
                return None
            try:
                semantic.vector = await self.embedder.embed(semantic.text, gateway)
            except EmbeddingError as exc:
                semantic.failed = True  # not asked again for this request's store
                self.stats.counts["embedding_errors"] += 1
                if self.embedder.remote:  # a deployment that failed is not waited on by the next requests
                    self.embedder_down_until = time.monotonic() + self.retry_after
                self._log_failure("cache_embedding_failed", str(exc))
                note = ctx.annotations.get(PLUGIN)
                if isinstance(note, dict):
                    note["semantic_skipped"] = "embedding_failed"
                return None
        return semantic.vector

    async def _semantic_hit(
        self, ctx: RequestContext, plan: Plan, gateway: Any, candidates: bytes | None
    ) -> ResponseBody | None:
        """After an exact miss: the nearest stored prompt of the same context and guard signature (the
        ``candidates`` read with the exact entry), if close enough, serves its answer."""
        semantic = plan.semantic
        assert semantic is not None and self.settings.semantic is not None
        if not candidates:  # nothing to compare with: the embedding waits for the store, if any
            self.stats.counts["semantic_misses"] += 1
            return None
        vector = await self._vector(ctx, semantic, gateway)
        if vector is None:
            return None
        match, malformed = nearest(candidates, vector, self.settings.semantic.threshold, semantic.digest)
        if malformed:
            self.stats.counts["foreign_entries"] += 1
        if match is None:
            self.stats.counts["semantic_misses"] += 1
            return None
        served_key = semantic.prefix + match.digest
        raw = await self._get(ctx, served_key)
        hit = self._hit(ctx, plan, raw)
        if hit is None:  # its answer expired, was deleted, or is not a valid entry
            self.stats.counts["semantic_misses"] += 1
            return None
        self.stats.counts["semantic_hits"] += 1
        ctx.response_headers[KEY_HEADER] = served_key  # /cache/delete of it removes what was served
        note = ctx.annotations[PLUGIN]
        note.update(key=served_key, semantic=True, similarity=round(match.similarity, 4))
        return hit

    async def _semantic_record(self, ctx: RequestContext, plan: Plan, gateway: Any) -> tuple[str, bytes, int] | None:
        """(index key, record, bound): the stored answer becomes a candidate for later paraphrases."""
        semantic = plan.semantic
        if semantic is None:
            return None
        vector = await self._vector(ctx, semantic, gateway)  # embedded at the lookup already, unless no-cache
        if vector is None:
            return None
        record = encode_record(semantic.digest, vector)
        return semantic.index_key, record, self.settings.plugin.semantic_max_candidates

    # ------------------------------------------------------------------ single-flight

    async def _lead_or_wait(self, ctx: RequestContext, plan: Plan) -> bytes | None:
        """Become the leader (returns None: call the upstream), or wait for the leader's entry."""
        key = plan.key
        running = self._flights.get(key)
        if running is not None:  # a request of this worker leads
            return await self._wait_local(running)
        if not plan.store:  # never leads (nothing of its answer is kept); waits for another instance's leader
            return await self._wait_remote(ctx, key) if await self._locked(ctx, key) else None
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        flight = plan.flight = Flight(key, future)
        if not self.backend.shared or self.down():
            return None
        token = os.urandom(8).hex()
        try:
            if await self.backend.acquire(key + ":lock", token, self.flight_timeout):
                flight.lock_key, flight.token = key + ":lock", token
                return None
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return None
        raw = await self._wait_remote(ctx, key)
        if raw is not None:  # another instance's leader stored it: this worker's waiters get it too
            await self._finish(plan, raw)
        return raw

    async def _wait_local(self, future: asyncio.Future[bytes | None]) -> bytes | None:
        self.stats.counts["single_flight_waits"] += 1
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.flight_timeout)
        except TimeoutError:
            self.stats.counts["single_flight_timeouts"] += 1
            return None

    async def _wait_remote(self, ctx: RequestContext, key: str) -> bytes | None:
        """Poll for the entry while another instance's leader holds the lock."""
        self.stats.counts["single_flight_waits"] += 1
        deadline = time.monotonic() + self.flight_timeout
        delay = 0.005
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(delay)
                raw = await self.backend.get(key)
                if raw is not None:
                    return raw  # type: ignore[no-any-return]
                if not await self.backend.locked(key + ":lock"):
                    return None  # the leader finished without storing
                delay = min(delay * 2, 0.1)
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return None
        self.stats.counts["single_flight_timeouts"] += 1
        return None

    async def _finish(self, plan: Plan, raw: bytes | None) -> None:
        """The leader is done: release the lock and hand the entry (or None) to this worker's waiters."""
        flight = plan.flight
        if flight is None or flight.done:
            return
        flight.done = True
        if self._flights.get(flight.key) is flight.future:
            del self._flights[flight.key]
        if not flight.future.done():
            flight.future.set_result(raw)
        if flight.lock_key is not None:
            try:
                await self.backend.release(flight.lock_key, flight.token)
            except Exception as exc:  # it expires by itself
                self.count_failure(exc)

    # ------------------------------------------------------------------ storing

    async def _store_answer(
        self, ctx: RequestContext, plan: Plan, response: JSONResponseBody, gateway: Any
    ) -> bytes | None:
        if response.status != 200:
            return None
        data = response.data
        try:
            if plan.kind == "chat":
                check_chat_answer(data)
            elif not isinstance(data.get("data"), list) and not isinstance(data.get("choices"), list):
                raise Uncacheable("the answer has neither data nor choices")
        except Uncacheable as exc:
            self._not_stored(ctx, str(exc))
            return None
        return await self._store(ctx, plan, data, gateway)

    async def _store(self, ctx: RequestContext, plan: Plan, data: dict[str, Any], gateway: Any = None) -> bytes | None:
        if self.down():  # it failed during this request: do not wait on it again
            return None
        raw = encode_entry(plan.kind, data)
        if len(raw) > self.max_entry_bytes:
            self.stats.counts["too_large"] += 1
            self._not_stored(ctx, f"the answer is {len(raw)} bytes, above plugins.cache.max_entry_bytes")
            return None
        flight = plan.flight
        # the semantic record rides in the same round trip as the entry
        vector = await self._semantic_record(ctx, plan, gateway) if plan.semantic is not None else None
        try:
            if flight is not None and flight.lock_key is not None:  # one round trip: store, then unlock
                await self.backend.set_and_release(
                    plan.key, raw, plan.ttl, flight.lock_key, flight.token, vector=vector
                )
                flight.lock_key = None
            elif vector is not None:
                await self.backend.set_and_release(plan.key, raw, plan.ttl, None, "", vector=vector)
            else:
                await self.backend.set(plan.key, raw, plan.ttl)
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return None
        self.stats.counts["stores"] += 1
        return raw

    def _not_stored(self, ctx: RequestContext, reason: str) -> None:
        self.stats.counts["not_stored"] += 1
        note = ctx.annotations.get(PLUGIN)
        if isinstance(note, dict):
            note["not_stored"] = reason

    async def _teed(self, ctx: RequestContext, plan: Plan, chunks: Any, gateway: Any) -> Any:
        """The stream as it goes to the client; assembled and stored once it ended complete."""
        assembler: StreamAssembler | None = StreamAssembler() if plan.store else None
        completed = False
        raw: bytes | None = None
        try:
            async for chunk in chunks:
                if assembler is not None:
                    try:
                        assembler.add(chunk)
                    except Uncacheable as exc:
                        self._not_stored(ctx, str(exc))
                        assembler = None
                yield chunk
            completed = True
            if assembler is not None:
                try:
                    data = assembler.answer()
                except Uncacheable as exc:
                    self._not_stored(ctx, str(exc))
                else:
                    raw = await self._store(ctx, plan, data, gateway)
        finally:
            if not completed:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
            await self._finish(plan, raw)

    # ------------------------------------------------------------------ the backend failing

    async def _get(self, ctx: RequestContext, key: str) -> bytes | None:
        try:
            raw: bytes | None = await self.backend.get(key)
            return raw
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return None

    async def _get_with_index(self, ctx: RequestContext, key: str, index: str) -> tuple[bytes | None, bytes | None]:
        try:
            found: tuple[bytes | None, bytes | None] = await self.backend.get_with_index(key, index)
            return found
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return None, None

    def down(self) -> bool:
        """Whether the backend failed less than ``redis_retry_after_seconds`` ago."""
        return self.down_until > 0 and time.monotonic() < self.down_until

    async def _locked(self, ctx: RequestContext, key: str) -> bool:
        if not self.backend.shared or self.down():
            return False
        try:
            return bool(await self.backend.locked(key + ":lock"))
        except Exception as exc:
            self._backend_failed(ctx, exc)
            return False

    def _backend_failed(self, ctx: RequestContext, exc: Exception) -> None:
        """Redis unreachable or slow: the request goes on without the cache; counted, logged, annotated."""
        self.count_failure(exc)
        ctx.annotations[PLUGIN] = {"hit": False, "bypassed": "backend_unavailable", "backend": self.backend.kind}

    def count_failure(self, exc: Exception) -> None:
        stats = self.stats
        stats.counts["backend_errors"] += 1
        self.down_until = time.monotonic() + self.retry_after
        stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self._log_failure("cache_backend_unavailable", stats.last_error)

    def _log_failure(self, event: str, error: str) -> None:
        """At most one warning per ``LOG_EVERY_SECONDS`` per worker; every failure is counted."""
        stats = self.stats
        now = time.monotonic()
        if now - stats.last_logged >= LOG_EVERY_SECONDS:
            stats.last_logged = now
            log.warning(
                event,
                backend=self.backend.kind,
                error=error,
                errors_so_far=stats.counts["backend_errors"] + stats.counts["embedding_errors"],
                note="requests bypass the cache (or its semantic lookup) until it answers again",
            )


def _checked(controls: dict[str, Any], where: str) -> dict[str, Any]:
    """LiteLLM's cache controls, checked: a wrong value is a 400 naming it, never ignored."""
    unknown = sorted(set(controls) - CONTROLS)
    if unknown:
        raise BadRequestError(
            f"{where} has unknown members {unknown}; the cache controls are {sorted(CONTROLS)}",
            param=f"{where}.{unknown[0]}",
        )
    for name in BOOL_CONTROLS:
        if name in controls and not isinstance(controls[name], bool):
            raise BadRequestError(f"{where}.{name} must be true or false", param=f"{where}.{name}")
    for name in SECONDS_CONTROLS:
        value = controls.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10 * 365 * 86400:
            raise BadRequestError(
                f"{where}.{name} must be a number of seconds above 0 (at most ten years)", param=f"{where}.{name}"
            )
    namespace = controls.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not 0 < len(namespace) <= MAX_NAMESPACE_CHARS or "\x00" in namespace
    ):
        raise BadRequestError(
            f"{where}.namespace must be a non-empty string of at most {MAX_NAMESPACE_CHARS} characters",
            param=f"{where}.namespace",
        )
    return controls
