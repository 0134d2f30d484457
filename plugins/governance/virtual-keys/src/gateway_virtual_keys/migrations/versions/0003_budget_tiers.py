"""Budget tiers: ``vk_budgets``, and ``budget_id`` on keys and teams (customers have it already).

Revision ID: vk0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0003"
down_revision = "vk0002"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "vk_budgets",
        sa.Column("budget_id", sa.String(255), primary_key=True),
        sa.Column("max_budget", sa.String(40)),
        sa.Column("soft_budget", sa.String(40)),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("tpm_limit", sa.BigInteger),
        sa.Column("rpm_limit", sa.BigInteger),
        sa.Column("max_parallel_requests", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    )
    for table in ("vk_keys", "vk_teams"):
        op.add_column(table, sa.Column("budget_id", sa.String(255)))
        op.create_index(f"ix_{table}_budget_id", table, ["budget_id"])


def downgrade() -> None:
    for table in ("vk_keys", "vk_teams"):
        op.drop_index(f"ix_{table}_budget_id", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("budget_id")
    op.drop_table("vk_budgets")
