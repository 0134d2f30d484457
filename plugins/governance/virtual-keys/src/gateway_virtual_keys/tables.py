"""The plugin's tables (SQLAlchemy Core).  The schema itself is created by the migrations.

Budgets are stored as decimal strings so both SQLite and PostgreSQL keep them exact.  Every
write transaction bumps ``vk_version`` first (a row lock on PostgreSQL, the write lock on SQLite):
change-log versions therefore become visible in commit order, which is what lets other workers
poll the change log without ever skipping a change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal kept as text (SQLite has no exact decimal type)."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _limits() -> list[sa.Column[Any]]:
    return [
        sa.Column("max_budget", DecimalText()),
        sa.Column("soft_budget", DecimalText()),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("tpm_limit", sa.BigInteger),
        sa.Column("rpm_limit", sa.BigInteger),
        sa.Column("max_parallel_requests", sa.Integer),
    ]


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    ]


teams = sa.Table(
    "vk_teams",
    metadata,
    sa.Column("team_id", sa.String(255), primary_key=True),
    sa.Column("team_alias", sa.String(255)),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("model_aliases", sa.JSON, nullable=False),
    *_limits(),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("guardrails", sa.JSON, nullable=False),
    sa.Column("blocked", sa.Boolean, nullable=False),
    *_stamps(),
    #: its budget tier (``vk_budgets``; migration vk0003)
    sa.Column("budget_id", sa.String(255), index=True),
    #: the organization it belongs to (``vk_organizations``; migration vk0004)
    sa.Column("organization_id", sa.String(255), index=True),
)

users = sa.Table(
    "vk_users",
    metadata,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("user_email", sa.String(255)),
    sa.Column("user_alias", sa.String(255)),
    sa.Column("user_role", sa.String(32), nullable=False),
    sa.Column("models", sa.JSON, nullable=False),
    *_limits(),
    sa.Column("metadata", sa.JSON, nullable=False),
    *_stamps(),
)

members = sa.Table(
    "vk_team_members",
    metadata,
    sa.Column("team_id", sa.String(255), sa.ForeignKey("vk_teams.team_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
)

keys = sa.Table(
    "vk_keys",
    metadata,
    #: the token id: the hash of the key's first secret; never changes, even when regenerated
    sa.Column("id", sa.String(64), primary_key=True),
    #: the hash of the current secret
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("key_name", sa.String(32), nullable=False),
    sa.Column("key_alias", sa.String(255), unique=True),
    sa.Column("user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE"), index=True),
    sa.Column("team_id", sa.String(255), sa.ForeignKey("vk_teams.team_id", ondelete="CASCADE"), index=True),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("aliases", sa.JSON, nullable=False),
    *_limits(),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("permissions", sa.JSON, nullable=False),
    sa.Column("guardrails", sa.JSON, nullable=False),
    sa.Column("blocked", sa.Boolean, nullable=False),
    sa.Column("expires", UTCDateTime()),
    *_stamps(),
    #: its budget tier (``vk_budgets``; migration vk0003)
    sa.Column("budget_id", sa.String(255), index=True),
    #: scheduled rotation (LiteLLM's fields; migration vk0006): ``key_rotation_at`` is when it is next due
    sa.Column("auto_rotate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rotation_interval", sa.String(16)),
    sa.Column("key_rotation_at", UTCDateTime(), index=True),
    sa.Column("last_rotation_at", UTCDateTime()),
    sa.Column("rotation_count", sa.Integer, nullable=False, server_default="0"),
)

#: secrets replaced by /key/regenerate that keep working until ``expires_at`` (grace period)
old_tokens = sa.Table(
    "vk_old_tokens",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), sa.ForeignKey("vk_keys.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

#: customers (LiteLLM's end users): named by a request's ``user`` (Anthropic: ``metadata.user_id``)
customers = sa.Table(
    "vk_customers",
    metadata,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("alias", sa.String(255)),
    sa.Column("blocked", sa.Boolean, nullable=False),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("default_model", sa.String(255)),
    sa.Column("budget_id", sa.String(255), index=True),
    *_limits(),
    sa.Column("metadata", sa.JSON, nullable=False),
    *_stamps(),
)

#: budget tiers (LiteLLM's ``/budget/*``): named limits that keys, teams and customers point to
#: with ``budget_id``; each member gets the tier's values for the limits it does not set itself
budgets = sa.Table(
    "vk_budgets",
    metadata,
    sa.Column("budget_id", sa.String(255), primary_key=True),
    *_limits(),
    *_stamps(),
)

#: organizations (LiteLLM's ``/organization/*``): own teams; their budget and limits apply to every
#: team in them together (one counter), their ``models`` bound their teams' models
organizations = sa.Table(
    "vk_organizations",
    metadata,
    sa.Column("organization_id", sa.String(255), primary_key=True),
    sa.Column("organization_alias", sa.String(255)),
    sa.Column("models", sa.JSON, nullable=False),
    *_limits(),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("blocked", sa.Boolean, nullable=False),
    sa.Column("budget_id", sa.String(255), index=True),
    *_stamps(),
)

#: users of an organization, with their role in it (``org_admin``, ``internal_user`` ...)
organization_members = sa.Table(
    "vk_organization_members",
    metadata,
    sa.Column(
        "organization_id",
        sa.String(255),
        sa.ForeignKey("vk_organizations.organization_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    sa.Column("user_role", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

version = sa.Table(
    "vk_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

changes = sa.Table(
    "vk_changes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.BigInteger, nullable=False, index=True),
    #: ``key`` (entity = key id), ``team``, ``user``, ``customer``, ``budget``, ``org``
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False, index=True),
)
