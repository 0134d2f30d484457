"""UI sessions, shared by every worker and instance.

Revision ID: ui0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ui0001"
down_revision = None
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        # SHA-256 of the cookie's secret: the table alone does not open a session
        sa.Column("lookup", sa.String(64), primary_key=True),
        # the key the session calls the admin API with, AES-256-GCM under a key derived from the cookie
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        # who logged in (role, user_id, team_id, key_alias): what the UI shows, never a permission
        sa.Column("identity", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("ui_sessions")
