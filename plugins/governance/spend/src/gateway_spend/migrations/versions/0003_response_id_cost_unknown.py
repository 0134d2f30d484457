"""The answer's own id (``chatcmpl-...``, what LiteLLM calls a request id) and ``cost_unknown``.

``/spend/logs?request_id=`` finds a row by the id the client saw in the answer as well as by the
gateway's request id; ``cost_unknown`` marks a call no price was found for, whose spend is not
its cost.  Additive: existing rows get no response id and ``cost_unknown`` false.

Revision ID: spend0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0003"
down_revision = "spend0002"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.add_column("gateway_spend_logs", sa.Column("response_id", sa.String(255)))
    op.add_column(
        "gateway_spend_logs", sa.Column("cost_unknown", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_index("ix_gateway_spend_logs_response_id", "gateway_spend_logs", ["response_id"])


def downgrade() -> None:
    op.drop_index("ix_gateway_spend_logs_response_id", "gateway_spend_logs")
    op.drop_column("gateway_spend_logs", "cost_unknown")
    op.drop_column("gateway_spend_logs", "response_id")
