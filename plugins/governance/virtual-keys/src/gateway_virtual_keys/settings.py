"""The ``plugins.virtual_keys`` config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KeyRotationSettings(BaseModel):
    """Scheduled rotation of keys with ``auto_rotate`` (``plugins.virtual_keys.key_rotation``).

    Unset fields fall back to LiteLLM's environment variables, so a LiteLLM deployment's settings
    keep their meaning."""

    model_config = ConfigDict(extra="forbid")

    #: run the rotation job; default ``LITELLM_KEY_ROTATION_ENABLED`` (false when unset)
    enabled: bool | None = None
    #: seconds between scans for due keys; default ``LITELLM_KEY_ROTATION_CHECK_INTERVAL_SECONDS``, else 86400
    check_interval: float | None = Field(default=None, gt=0, le=7 * 86400)
    #: how long a rotated key's old secret keeps working (``24h``); default
    #: ``LITELLM_KEY_ROTATION_GRACE_PERIOD``, else none: it stops at once
    grace_period: str | None = None
    #: where each new secret is POSTed (required when rotation is on: it is how the secret reaches its owner)
    webhook_url: str | None = None
    #: headers of that POST (e.g. ``Authorization`` for the receiving secret store)
    webhook_headers: dict[str, str] = Field(default_factory=dict)
    #: seconds one delivery attempt may take (3 attempts per rotation)
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    #: seconds a worker's claim on a due key holds (it must outlast the delivery; a worker that dies
    #: leaves the key to another one after it); default ``LITELLM_KEY_ROTATION_LOCK_TTL_SECONDS``, else 600
    claim_ttl: float | None = Field(default=None, gt=0, le=86400)


class VirtualKeysSettings(BaseModel):
    """Every field is optional; the defaults suit one gateway on SQLite as well as a PostgreSQL fleet."""

    model_config = ConfigDict(extra="forbid")

    #: an admin's ``/key/generate`` naming a team that does not exist creates it (LiteLLM's seed
    #: walkthrough relies on this); false answers 400 instead
    auto_create_teams: bool = True
    #: seconds between polls of the change log when Redis is not used (the staleness bound)
    poll_interval: float = Field(default=0.5, gt=0, le=1.0)
    #: without Redis, admin calls that take access away (block, delete, update) answer only after
    #: one poll interval, so that when they return every worker already refuses the key
    revocation_wait: bool = True
    #: with Redis pub/sub the poll is only a backstop for lost messages
    redis_poll_interval: float = Field(default=5.0, gt=0, le=60)
    #: Redis for instant invalidation across instances; default: the ``REDIS_URL`` environment variable
    redis_url: str | None = None
    #: pub/sub channel (change it to isolate several deployments sharing one Redis)
    redis_channel: str = "gateway:virtual-keys:changes"
    #: keys whose full record is kept in memory (least recently used beyond that are dropped)
    cache_size: int = Field(default=100_000, gt=0)
    #: unknown keys remembered as invalid, and for how long
    negative_cache_size: int = Field(default=10_000, gt=0)
    negative_cache_ttl: float = Field(default=60.0, gt=0)
    #: database look-ups per second (per worker) for keys this worker has never seen; beyond it,
    #: unknown keys are refused without asking the database (a key-guessing burst costs nothing)
    unknown_key_lookups_per_second: float = Field(default=20.0, gt=0)
    #: seconds between two "invalid keys presented" warnings in the log
    invalid_key_log_interval: float = Field(default=10.0, gt=0)
    #: random characters after ``sk-`` in generated keys
    key_length: int = Field(default=43, ge=32, le=128)
    #: changes older than this are pruned from the change log
    changelog_retention_seconds: float = Field(default=3600.0, gt=60)
    #: scheduled key rotation (``auto_rotate`` / ``rotation_interval`` on keys)
    key_rotation: KeyRotationSettings = Field(default_factory=KeyRotationSettings)
