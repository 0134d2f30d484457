"""``saved_pico``: what a cache hit saved, per request row and in the daily roll-up.

A response cache (gateway-cache) answers without an upstream call; the row records the hit's own
cost as its spend and what the upstream call would have cost, less that, here, so the spend report
can show what the cache saved.  Additive: existing rows saved nothing.

Revision ID: spend0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0004"
down_revision = "spend0003"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    for table in ("gateway_spend_logs", "gateway_spend_daily"):
        op.add_column(table, sa.Column("saved_pico", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("gateway_spend_daily", "gateway_spend_logs"):
        op.drop_column(table, "saved_pico")
