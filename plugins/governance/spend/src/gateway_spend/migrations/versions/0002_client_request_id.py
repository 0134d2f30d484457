"""The client's ``x-request-id`` gets a column of its own; ``request_id`` is always the gateway's.

Clients reuse their ids (retries, copy-pasted headers, two tenants picking the same value), so
the idempotency key of a row is never taken from them.  Additive: existing rows keep their ids.

Revision ID: spend0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0002"
down_revision = "spend0001"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.add_column("gateway_spend_logs", sa.Column("client_request_id", sa.String(255)))
    op.create_index("ix_gateway_spend_logs_client_request_id", "gateway_spend_logs", ["client_request_id"])


def downgrade() -> None:
    op.drop_index("ix_gateway_spend_logs_client_request_id", "gateway_spend_logs")
    op.drop_column("gateway_spend_logs", "client_request_id")
