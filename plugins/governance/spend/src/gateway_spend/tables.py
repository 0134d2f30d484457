"""The ledger's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Money is stored as whole pico-dollars (``BIGINT``): exact on both databases (SQLite has no exact
decimal type) and enough for any per-token price with up to twelve decimals.  Timestamps are UTC
without a zone.  ``gateway_spend_daily`` is the roll-up that reports and ``/key/info`` totals read,
so they stay fast with millions of request rows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from .limits import STRING_COLUMNS, TAG_CHARS
from .money import from_picos, to_picos

__all__ = ["metadata", "spend_logs", "spend_daily", "spend_tags", "to_picos", "from_picos"]

metadata = MetaData()

#: one row per request; ``request_id`` (the gateway's own id, never the client's) is the idempotency
#: key of shipping; the client's ``x-request-id`` is ``client_request_id``, which clients may reuse
spend_logs = Table(
    "gateway_spend_logs",
    metadata,
    Column("request_id", String(STRING_COLUMNS["request_id"]), primary_key=True),
    Column("call_type", String(STRING_COLUMNS["call_type"]), nullable=False),
    Column("api_key", String(STRING_COLUMNS["api_key"])),
    Column("key_alias", String(STRING_COLUMNS["key_alias"])),
    Column("user_id", String(STRING_COLUMNS["user_id"])),
    Column("team_id", String(STRING_COLUMNS["team_id"])),
    Column("team_alias", String(STRING_COLUMNS["team_alias"])),
    Column("end_user", String(STRING_COLUMNS["end_user"])),
    Column("requested_model", String(STRING_COLUMNS["requested_model"])),
    Column("model_group", String(STRING_COLUMNS["model_group"])),
    Column("model_id", String(STRING_COLUMNS["model_id"])),
    Column("model", String(STRING_COLUMNS["model"])),
    Column("custom_llm_provider", String(STRING_COLUMNS["custom_llm_provider"])),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("total_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("cache_creation_tokens", Integer, nullable=False, default=0),
    Column("reasoning_tokens", Integer, nullable=False, default=0),
    Column("usage_estimated", Boolean, nullable=False, default=False),
    Column("spend_pico", BigInteger, nullable=False, default=0),
    Column("price_source", String(STRING_COLUMNS["price_source"])),
    Column("status", String(STRING_COLUMNS["status"]), nullable=False),
    Column("http_status", Integer),
    Column("start_time", DateTime, nullable=False),
    Column("end_time", DateTime, nullable=False),
    Column("request_duration_ms", Float),
    Column("cache_hit", Boolean, nullable=False, default=False),
    #: a cache hit: what the upstream call would have cost, less the hit's cost (spend0004)
    Column("saved_pico", BigInteger, nullable=False, default=0),
    Column("guardrail", JSON),
    Column("metadata", JSON),
    Column("error", Text),
    Column("client_request_id", String(STRING_COLUMNS["client_request_id"])),
    #: the answer's id as the client saw it (``chatcmpl-...``): LiteLLM's request_id, so found by it
    Column("response_id", String(STRING_COLUMNS["response_id"])),
    #: no price was found for the call (``spend`` is not its cost; reports count it as 0)
    Column("cost_unknown", Boolean, nullable=False, default=False, server_default=false()),
    #: the request's tags (LiteLLM's ``request_tags``; spend0006); ``gateway_spend_tags`` has a row per tag
    Column("request_tags", JSON),
    #: the organization of the caller's team when the request was made (spend0005)
    Column("organization_id", String(STRING_COLUMNS["organization_id"])),
    Index("ix_gateway_spend_logs_start", "start_time"),
    Index("ix_gateway_spend_logs_key_start", "api_key", "start_time"),
    Index("ix_gateway_spend_logs_team_start", "team_id", "start_time"),
    Index("ix_gateway_spend_logs_user_start", "user_id", "start_time"),
    Index("ix_gateway_spend_logs_end_user_start", "end_user", "start_time"),
    Index("ix_gateway_spend_logs_client_request_id", "client_request_id"),
    Index("ix_gateway_spend_logs_response_id", "response_id"),
    Index("ix_gateway_spend_logs_organization_start", "organization_id", "start_time"),
)

#: one row per request and tag it carried (spend0006): a tag's spend since any moment, for tag
#: budgets (re-seeding), ``/tag/info`` and reports; written with the request row, only when it is new
spend_tags = Table(
    "gateway_spend_tags",
    metadata,
    Column("request_id", String(STRING_COLUMNS["request_id"]), primary_key=True),
    Column("tag", String(TAG_CHARS), primary_key=True),
    Column("start_time", DateTime, nullable=False),
    Column("spend_pico", BigInteger, nullable=False, default=0),
    Index("ix_gateway_spend_tags_tag_start", "tag", "start_time"),
)

#: per day and dimension combination; dimensions are '' rather than NULL so the upsert key matches
spend_daily = Table(
    "gateway_spend_daily",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("api_key", String(128), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("team_id", String(255), nullable=False),
    Column("end_user", String(255), nullable=False),
    Column("model_group", String(255), nullable=False),
    Column("custom_llm_provider", String(64), nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False, default=0),
    Column("completion_tokens", BigInteger, nullable=False, default=0),
    Column("cached_tokens", BigInteger, nullable=False, default=0),
    Column("spend_pico", BigInteger, nullable=False, default=0),
    Column("api_requests", BigInteger, nullable=False, default=0),
    Column("successful_requests", BigInteger, nullable=False, default=0),
    Column("failed_requests", BigInteger, nullable=False, default=0),
    Column("saved_pico", BigInteger, nullable=False, default=0),
    UniqueConstraint(
        "day",
        "api_key",
        "user_id",
        "team_id",
        "end_user",
        "model_group",
        "custom_llm_provider",
        name="uq_gateway_spend_daily_dims",
    ),
    Index("ix_gateway_spend_daily_team", "team_id", "day"),
    Index("ix_gateway_spend_daily_key", "api_key", "day"),
)

DAILY_DIMENSIONS = ("api_key", "user_id", "team_id", "end_user", "model_group", "custom_llm_provider")
DAILY_SUMS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "spend_pico",
    "api_requests",
    "successful_requests",
    "failed_requests",
    "saved_pico",
)

#: ledger column per budget scope (``gateway_get_spend`` scopes)
SCOPE_COLUMNS = {"key": "api_key", "team": "team_id", "user": "user_id", "end_user": "end_user"}
#: scopes only the request rows carry (not a dimension of the daily roll-up): totals read the rows
LOG_ONLY_SCOPE_COLUMNS = {"org": "organization_id"}
