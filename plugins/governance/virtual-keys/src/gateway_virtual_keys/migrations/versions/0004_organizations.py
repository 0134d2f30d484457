"""Organizations: ``vk_organizations``, their members (``vk_organization_members``, role
``org_admin`` / ``internal_user`` ...), and ``organization_id`` on teams.

Revision ID: vk0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0004"
down_revision = "vk0003"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "vk_organizations",
        sa.Column("organization_id", sa.String(255), primary_key=True),
        sa.Column("organization_alias", sa.String(255)),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("max_budget", sa.String(40)),
        sa.Column("soft_budget", sa.String(40)),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("tpm_limit", sa.BigInteger),
        sa.Column("rpm_limit", sa.BigInteger),
        sa.Column("max_parallel_requests", sa.Integer),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("budget_id", sa.String(255)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    )
    op.create_index("ix_vk_organizations_budget_id", "vk_organizations", ["budget_id"])
    op.create_table(
        "vk_organization_members",
        sa.Column(
            "organization_id",
            sa.String(255),
            sa.ForeignKey("vk_organizations.organization_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("vk_users.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vk_organization_members_user_id", "vk_organization_members", ["user_id"])
    op.add_column("vk_teams", sa.Column("organization_id", sa.String(255)))
    op.create_index("ix_vk_teams_organization_id", "vk_teams", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_vk_teams_organization_id", "vk_teams")
    with op.batch_alter_table("vk_teams") as batch:
        batch.drop_column("organization_id")
    op.drop_table("vk_organization_members")
    op.drop_table("vk_organizations")
