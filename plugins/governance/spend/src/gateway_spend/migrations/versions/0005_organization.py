"""``organization_id`` on request rows: the organization of the caller's team when the request was
made, so ``/global/spend/report?group_by=organization`` and an organization's spend read it.

Additive: earlier rows belong to no organization.  Reports by organization sum the request rows
(index on ``organization_id, start_time``); the daily roll-up is unchanged.

Revision ID: spend0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0005"
down_revision = "spend0004"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.add_column("gateway_spend_logs", sa.Column("organization_id", sa.String(255)))
    op.create_index("ix_gateway_spend_logs_organization_start", "gateway_spend_logs", ["organization_id", "start_time"])


def downgrade() -> None:
    op.drop_index("ix_gateway_spend_logs_organization_start", "gateway_spend_logs")
    op.drop_column("gateway_spend_logs", "organization_id")
