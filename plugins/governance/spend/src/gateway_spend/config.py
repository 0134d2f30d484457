"""The ``plugins.spend`` config section, and the LiteLLM settings this plugin reads.

Every field has a default that works without any configuration: in-process counters for one
worker, the ledger in the database of ``DATABASE_URL`` (or a SQLite file next to the config).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SpendConfig(BaseModel):
    """``plugins.spend`` in the YAML file."""

    model_config = ConfigDict(extra="forbid")

    #: Redis for counters shared by every worker and instance; default ``REDIS_URL``.  Without it the
    #: counters live in process memory and ``--workers N`` is refused.
    redis_url: str | None = None
    #: prefix of every Redis key (one hash slot: the prefix is a Redis Cluster hash tag)
    redis_prefix: str = "gateway"
    #: what to do when Redis cannot be reached: refuse requests (``closed``) or let them through
    #: without limits (``open``); either way it is logged and counted
    redis_failure_policy: Literal["closed", "open"] = "closed"
    #: seconds to wait for a Redis answer before applying the failure policy
    redis_timeout_seconds: float = Field(default=2.0, gt=0)

    #: how a budget admits a request: ``reserve`` (the request's maximum possible cost is reserved
    #: against every budget before the call, so concurrent requests never overshoot it) or
    #: ``spend_check`` (LiteLLM's check: refused once the spend recorded so far is at or over the
    #: budget, with LiteLLM's messages; requests in flight can overshoot it).  Default: ``reserve``,
    #: or ``spend_check`` when ``general_settings.disable_budget_reservation`` is true
    budget_admission: Literal["reserve", "spend_check"] | None = None
    #: output tokens reserved when the client sends no ``max_tokens`` (and the model's data has no
    #: ``max_output_tokens``): the reservation is the request's maximum possible cost
    default_max_output_tokens: int = Field(default=4096, gt=0)
    #: a reservation not settled after this many seconds is reclaimed (a crashed worker's request)
    reservation_ttl_seconds: float = Field(default=900, gt=0)
    #: sliding window of ``rpm_limit``/``tpm_limit`` (60 s is what the names mean; tests shorten it)
    rate_limit_window_seconds: float = Field(default=60, gt=0)
    #: the window is counted in this many buckets; a bucket that is partly outside the window still
    #: counts, so no window ever admits more than the limit
    rate_limit_buckets: int = Field(default=60, ge=2, le=600)

    #: write one ledger row per request (``general_settings.disable_spend_logs: true`` turns it off)
    ledger: bool = True
    #: the ledger's database; default ``general_settings.database_url`` / ``DATABASE_URL``, else a
    #: SQLite file ``gateway-spend.db`` next to the config file
    database_url: str | None = None
    #: directory of the write-ahead files (one per worker); default next to the database / config
    wal_dir: str | None = None
    #: rows per database transaction
    ship_batch_size: int = Field(default=500, ge=1, le=10000)
    #: seconds between shipping rounds when fewer than ``ship_batch_size`` rows are waiting
    ship_interval_seconds: float = Field(default=0.5, gt=0)
    #: longest wait between retries while the database is down
    ship_max_backoff_seconds: float = Field(default=30, gt=0)
    #: a write-ahead segment is closed and a new one started past this size
    wal_segment_bytes: int = Field(default=16 * 1024 * 1024, ge=4096)
