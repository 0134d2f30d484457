"""Tags (LiteLLM's ``/tag/*``): ``vk_tags``, one row per tag with a budget, limits or a description.

Revision ID: vk0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0005"
down_revision = "vk0004"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "vk_tags",
        sa.Column("tag_name", sa.String(255), primary_key=True),
        sa.Column("description", sa.Text),
        sa.Column("budget_id", sa.String(255)),
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
    op.create_index("ix_vk_tags_budget_id", "vk_tags", ["budget_id"])


def downgrade() -> None:
    op.drop_index("ix_vk_tags_budget_id", "vk_tags")
    op.drop_table("vk_tags")
