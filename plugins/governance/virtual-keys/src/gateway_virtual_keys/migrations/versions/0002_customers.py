"""Customers (LiteLLM's end users): budget, limits, allowed models, blocked flag.

Revision ID: vk0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0002"
down_revision = "vk0001"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "vk_customers",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("alias", sa.String(255)),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("default_model", sa.String(255)),
        sa.Column("budget_id", sa.String(255)),
        sa.Column("max_budget", sa.String(40)),
        sa.Column("soft_budget", sa.String(40)),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("tpm_limit", sa.BigInteger),
        sa.Column("rpm_limit", sa.BigInteger),
        sa.Column("max_parallel_requests", sa.Integer),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    )
    op.create_index("ix_vk_customers_budget_id", "vk_customers", ["budget_id"])


def downgrade() -> None:
    op.drop_table("vk_customers")
