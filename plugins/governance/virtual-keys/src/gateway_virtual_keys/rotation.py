"""Scheduled key rotation: LiteLLM's ``auto_rotate`` / ``rotation_interval``, done once per due key.

Every worker of every instance runs the job (``key_rotation.enabled``); the database decides who
rotates a due key, never process memory:

1. **claim**: ``UPDATE vk_keys SET key_rotation_at = <lease end> WHERE id = .. AND auto_rotate AND
   key_rotation_at <= now``.  The row lock (PostgreSQL) or the write lock (SQLite) lets exactly one
   claimant match; the others see a future ``key_rotation_at`` and match nothing.
2. **deliver**: the new secret is POSTed to ``key_rotation.webhook_url`` (LiteLLM hands it to its
   key-rotated hooks: a secret manager, an e-mail).  It is the only place the secret goes: never
   a log line, never an alert.  A failed delivery changes nothing; the claim lapses and the key is
   tried again when the lease ends.
3. **commit**: the key's secret is replaced (as ``/key/regenerate`` does, with the configured
   grace period for the old one), ``key_rotation_at`` moves one ``rotation_interval`` on, and
   ``last_rotation_at`` / ``rotation_count`` record it (LiteLLM's columns), only if the key still
   holds our claim and its secret.  Otherwise (a manual regenerate or a schedule change in
   between) the delivered secret is never valid, and a ``key_rotation_superseded`` warning says so.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
import sqlalchemy as sa

from gateway import BadRequestError, ConfigError, get_logger
from gateway.durations import Duration, DurationError, parse_duration

from . import tables as t
from .hashing import display_name, generate_key

if TYPE_CHECKING:
    from .settings import KeyRotationSettings
    from .state import PluginState

#: who the key's ``updated_by`` names after a scheduled rotation (LiteLLM: its internal jobs account)
ROTATOR = "litellm_internal_jobs"
log = get_logger("gateway.virtual_keys")
#: due keys handled per scan (the next scan takes the rest)
BATCH = 100
#: replaced secrets are kept this long after their grace period ends, so that a client still using
#: one is told when it ended (``expired_key``), then deleted (as LiteLLM's job cleans them up)
OLD_SECRET_RETENTION = timedelta(days=7)
ATTEMPTS = 3
TRUE_WORDS = ("true", "1", "yes", "on")


@dataclass(frozen=True, slots=True)
class RotationConfig:
    enabled: bool = False
    check_interval: float = 86400.0
    grace: Duration | None = None
    webhook_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    #: how long a claim holds (LiteLLM's ``LITELLM_KEY_ROTATION_LOCK_TTL_SECONDS``, default 600)
    claim_ttl: float = 600.0

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.claim_ttl)


def _delivery_seconds(timeout: float) -> float:
    """The longest one rotation's delivery takes: every attempt plus the pauses between them."""
    return ATTEMPTS * timeout + sum(range(1, ATTEMPTS))


def rotation_config(settings: KeyRotationSettings, environ: dict[str, str] | None = None) -> RotationConfig:
    """The settings, with LiteLLM's environment variables for what they leave unset (start-up)."""
    env = os.environ if environ is None else environ
    enabled = settings.enabled
    if enabled is None:
        enabled = env.get("LITELLM_KEY_ROTATION_ENABLED", "false").strip().lower() in TRUE_WORDS
    interval = settings.check_interval
    if interval is None:
        raw = env.get("LITELLM_KEY_ROTATION_CHECK_INTERVAL_SECONDS", "86400")
        try:
            interval = float(raw)
        except ValueError:
            raise ConfigError(
                f"LITELLM_KEY_ROTATION_CHECK_INTERVAL_SECONDS must be a number of seconds, not {raw!r}"
            ) from None
        if interval <= 0:
            raise ConfigError("LITELLM_KEY_ROTATION_CHECK_INTERVAL_SECONDS must be more than 0")
    grace_text = settings.grace_period or env.get("LITELLM_KEY_ROTATION_GRACE_PERIOD") or None
    try:
        grace = parse_duration(grace_text, "key_rotation.grace_period") if grace_text else None
    except DurationError as exc:
        raise ConfigError(
            f"plugins.virtual_keys.key_rotation.grace_period / LITELLM_KEY_ROTATION_GRACE_PERIOD: {exc}"
        ) from None
    ttl = settings.claim_ttl
    if ttl is None:
        raw = env.get("LITELLM_KEY_ROTATION_LOCK_TTL_SECONDS", "600")
        try:
            ttl = float(raw)
        except ValueError:
            raise ConfigError(
                f"LITELLM_KEY_ROTATION_LOCK_TTL_SECONDS must be a number of seconds, not {raw!r}"
            ) from None
    if enabled and ttl <= _delivery_seconds(settings.webhook_timeout):
        raise ConfigError(
            f"the key rotation claim ({ttl:g} s, key_rotation.claim_ttl / LITELLM_KEY_ROTATION_LOCK_TTL_SECONDS) must "
            f"outlast a delivery ({_delivery_seconds(settings.webhook_timeout):g} s: 3 attempts of "
            "key_rotation.webhook_timeout and their pauses), or a second worker could rotate the key while the first "
            "still delivers"
        )
    if enabled and not settings.webhook_url:
        raise ConfigError(
            "key rotation is on (LITELLM_KEY_ROTATION_ENABLED or plugins.virtual_keys.key_rotation.enabled) but "
            "plugins.virtual_keys.key_rotation.webhook_url is not set: a rotated key's new secret would reach nobody; "
            "set the URL that receives it (a secret store or your own service)"
        )
    return RotationConfig(
        enabled, interval, grace, settings.webhook_url, dict(settings.webhook_headers), settings.webhook_timeout, ttl
    )


def schedule(state: PluginState, values: dict[str, Any], row: dict[str, Any] | None, now: datetime) -> None:
    """Fill ``key_rotation_at`` when a generate or update sends ``auto_rotate`` or ``rotation_interval``:
    one interval from now while ``auto_rotate`` is on (LiteLLM's rule), none when it is off."""
    if "auto_rotate" not in values and "rotation_interval" not in values:
        return
    if values.get("auto_rotate") is None and "auto_rotate" in values:
        values["auto_rotate"] = False
    auto = values.get("auto_rotate", bool(row and row["auto_rotate"]))
    interval = values.get("rotation_interval", row["rotation_interval"] if row else None)
    if not auto:
        values["key_rotation_at"] = None
        return
    if not interval:
        raise BadRequestError(
            "'auto_rotate' needs 'rotation_interval': how often the key is rotated (for example \"30d\")",
            param="rotation_interval",
        )
    if not state.rotation.enabled:
        raise BadRequestError(
            "scheduled key rotation is off on this gateway, so this key would never rotate: an operator sets "
            "LITELLM_KEY_ROTATION_ENABLED=true (or plugins.virtual_keys.key_rotation.enabled) and "
            "key_rotation.webhook_url, which receives each new secret",
            param="auto_rotate",
        )
    values["key_rotation_at"] = parse_duration(interval, "rotation_interval").after(now)


class Rotator:
    """The rotation job of one worker (started by the lifespan when rotation is on)."""

    def __init__(self, state: PluginState) -> None:
        self.state = state
        self.config = state.rotation
        self.task: asyncio.Task[None] | None = None
        self.session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout))
        self.task = asyncio.create_task(self.run_forever(), name="virtual-keys-rotation")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        if self.session is not None:
            await self.session.close()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the job must outlive a database hiccup; never logs a secret
                log.error("key_rotation_scan_failed", error=type(exc).__name__, reason=str(exc)[:300])
            await asyncio.sleep(self.config.check_interval)

    async def run_once(self) -> int:
        """Rotate every key due now that this worker claims; returns how many it rotated."""
        now = datetime.now(UTC)
        k = t.keys
        query = (
            sa.select(k.c.id, k.c.token, k.c.key_alias, k.c.user_id, k.c.team_id, k.c.rotation_interval)
            .where(k.c.auto_rotate.is_(True), k.c.key_rotation_at <= now)
            .order_by(k.c.key_rotation_at)
            .limit(BATCH)
        )
        async with self.state.store.read() as conn:
            due = [dict(row._mapping) for row in (await conn.execute(query)).all()]
        rotated = 0
        for row in due:
            rotated += await self.rotate(row, now)
        async with self.state.store.engine.begin() as conn:  # idempotent: any worker may do it
            await conn.execute(sa.delete(t.old_tokens).where(t.old_tokens.c.expires_at < now - OLD_SECRET_RETENTION))
        return rotated

    async def _claim(self, key_id: str, now: datetime) -> datetime | None:
        lease = now + self.config.lease
        k = t.keys
        async with self.state.store.engine.begin() as conn:
            claimed = await conn.execute(
                sa.update(k)
                .where(k.c.id == key_id, k.c.auto_rotate.is_(True), k.c.key_rotation_at <= now)
                .values(key_rotation_at=lease)
            )
        return lease if claimed.rowcount == 1 else None

    async def rotate(self, row: dict[str, Any], now: datetime) -> int:
        lease = await self._claim(row["id"], now)
        if lease is None:
            return 0  # another worker or instance has it
        interval = parse_duration(row["rotation_interval"], "rotation_interval")
        secret = generate_key(self.state.settings.key_length)
        token = self.state.require_hasher().hash(secret)
        grace_until = self.config.grace.after(now) if self.config.grace else None
        next_at = interval.after(now)
        described = {"token_id": row["id"], "key_alias": row["key_alias"], "user_id": row["user_id"]}
        payload = {
            "event": "key_rotated",
            **described,
            "team_id": row["team_id"],
            "key": secret,
            "key_name": display_name(secret),
            "rotated_at": now.isoformat(),
            "old_key_valid_until": grace_until.isoformat() if grace_until else None,
            "next_rotation_at": next_at.isoformat(),
        }
        if not await self.deliver(payload, row["id"]):
            log.warning("key_rotation_not_delivered", **described, retry_after=lease.isoformat())
            self.state.gateway.emit_alert(
                "key_rotation_failed",
                f"key {row['key_alias'] or row['id'][:12]} was not rotated: its new secret could not be delivered",
                **described,
                retry_after=lease.isoformat(),
            )
            return 0
        if not await self._commit(row, lease, token, secret, now, next_at, grace_until):
            log.warning("key_rotation_superseded", **described)
            return 0
        log.info("key_rotated", **described, old_key_valid_until=payload["old_key_valid_until"])
        self.state.gateway.emit_alert(
            "key_rotated",
            f"key {row['key_alias'] or row['id'][:12]} was rotated; its new secret went to the rotation webhook",
            **described,
            old_key_valid_until=payload["old_key_valid_until"],
            next_rotation_at=payload["next_rotation_at"],
        )
        return 1

    async def _commit(
        self,
        row: dict[str, Any],
        lease: datetime,
        token: str,
        secret: str,
        now: datetime,
        next_at: datetime,
        grace_until: datetime | None,
    ) -> bool:
        k = t.keys
        try:
            async with self.state.store.write(revokes=grace_until is None) as w:
                done = await w.conn.execute(
                    sa.update(k)
                    .where(
                        k.c.id == row["id"],
                        k.c.token == row["token"],
                        k.c.auto_rotate.is_(True),
                        k.c.key_rotation_at == lease,
                    )
                    .values(
                        token=token,
                        key_name=display_name(secret),
                        key_rotation_at=next_at,
                        last_rotation_at=now,
                        rotation_count=k.c.rotation_count + 1,
                        updated_at=now,
                        updated_by=ROTATOR,
                    )
                )
                if done.rowcount != 1:
                    raise _Superseded
                if grace_until is not None:
                    await w.conn.execute(
                        sa.insert(t.old_tokens).values(token=row["token"], key_id=row["id"], expires_at=grace_until)
                    )
                w.changed("key", row["id"])
        except _Superseded:
            return False
        return True

    async def deliver(self, payload: dict[str, Any], key_id: str) -> bool:
        """POST the new secret; True on a 2xx answer.  Failures name the status or error class only."""
        assert self.session is not None and self.config.webhook_url is not None
        body = orjson.dumps(payload)
        headers = {"Content-Type": "application/json", **self.config.headers}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.session.post(
                    self.config.webhook_url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    if 200 <= answer.status < 300:
                        return True
                    reason = f"HTTP {answer.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = type(exc).__name__
            log.warning("key_rotation_delivery_failed", token_id=key_id, attempt=attempt, reason=reason)
            if attempt < ATTEMPTS:
                await asyncio.sleep(attempt)
        return False


class _Superseded(Exception):
    """The key changed between the claim and the commit (regenerated, or its schedule changed)."""
