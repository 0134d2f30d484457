"""Stored responses of the Responses API (``store``, ``previous_response_id``).

Revision ID: responses0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "responses0001"
down_revision = None
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "gateway_responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("input_items", sa.JSON, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
    )
    op.create_index("ix_gateway_responses_expires_at", "gateway_responses", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_gateway_responses_expires_at", "gateway_responses")
    op.drop_table("gateway_responses")
