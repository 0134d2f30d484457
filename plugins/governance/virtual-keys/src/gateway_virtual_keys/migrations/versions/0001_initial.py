"""Virtual keys, teams, users, memberships, regenerated-key grace tokens, and the change log.

Revision ID: vk0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0001"
down_revision = None
branch_labels = None
depends_on = None
destructive = False


def _limits() -> list[sa.Column]:
    return [
        sa.Column("max_budget", sa.String(40)),
        sa.Column("soft_budget", sa.String(40)),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("tpm_limit", sa.BigInteger),
        sa.Column("rpm_limit", sa.BigInteger),
        sa.Column("max_parallel_requests", sa.Integer),
    ]


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    ]


def upgrade() -> None:
    op.create_table(
        "vk_teams",
        sa.Column("team_id", sa.String(255), primary_key=True),
        sa.Column("team_alias", sa.String(255)),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("model_aliases", sa.JSON, nullable=False),
        *_limits(),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("guardrails", sa.JSON, nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "vk_users",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("user_email", sa.String(255)),
        sa.Column("user_alias", sa.String(255)),
        sa.Column("user_role", sa.String(32), nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        *_limits(),
        sa.Column("metadata", sa.JSON, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "vk_team_members",
        sa.Column("team_id", sa.String(255), sa.ForeignKey("vk_teams.team_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "vk_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("key_name", sa.String(32), nullable=False),
        sa.Column("key_alias", sa.String(255), unique=True),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE")),
        sa.Column("team_id", sa.String(255), sa.ForeignKey("vk_teams.team_id", ondelete="CASCADE")),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        *_limits(),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("permissions", sa.JSON, nullable=False),
        sa.Column("guardrails", sa.JSON, nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True)),
        *_stamps(),
    )
    op.create_index("ix_vk_keys_user_id", "vk_keys", ["user_id"])
    op.create_index("ix_vk_keys_team_id", "vk_keys", ["team_id"])
    op.create_table(
        "vk_old_tokens",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(64), sa.ForeignKey("vk_keys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vk_old_tokens_key_id", "vk_old_tokens", ["key_id"])
    version = op.create_table(
        "vk_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "vk_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vk_changes_version", "vk_changes", ["version"])
    op.create_index("ix_vk_changes_changed_at", "vk_changes", ["changed_at"])


def downgrade() -> None:
    for table in ("vk_changes", "vk_version", "vk_old_tokens", "vk_keys", "vk_team_members", "vk_users", "vk_teams"):
        op.drop_table(table)
