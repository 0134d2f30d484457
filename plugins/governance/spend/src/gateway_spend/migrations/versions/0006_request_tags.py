"""Request tags: ``request_tags`` on request rows (LiteLLM's column of that name) and
``gateway_spend_tags``, one row per request and tag, so a tag's spend since any moment is one
indexed sum (tag budgets re-seed from it; ``/tag/info`` and reports read it).

Additive: earlier rows carry no tags.

Revision ID: spend0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0006"
down_revision = "spend0005"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.add_column("gateway_spend_logs", sa.Column("request_tags", sa.JSON))
    op.create_table(
        "gateway_spend_tags",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("tag", sa.String(255), primary_key=True),
        sa.Column("start_time", sa.DateTime, nullable=False),
        sa.Column("spend_pico", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_gateway_spend_tags_tag_start", "gateway_spend_tags", ["tag", "start_time"])


def downgrade() -> None:
    op.drop_index("ix_gateway_spend_tags_tag_start", "gateway_spend_tags")
    op.drop_table("gateway_spend_tags")
    with op.batch_alter_table("gateway_spend_logs") as batch:
        batch.drop_column("request_tags")
