"""The spend ledger: one row per request, and the daily roll-up.

Revision ID: spend0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "spend0001"
down_revision = None
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "gateway_spend_logs",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("call_type", sa.String(32), nullable=False),
        sa.Column("api_key", sa.String(128)),
        sa.Column("key_alias", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("team_id", sa.String(255)),
        sa.Column("team_alias", sa.String(255)),
        sa.Column("end_user", sa.String(255)),
        sa.Column("requested_model", sa.String(255)),
        sa.Column("model_group", sa.String(255)),
        sa.Column("model_id", sa.String(255)),
        sa.Column("model", sa.String(255)),
        sa.Column("custom_llm_provider", sa.String(64)),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("total_tokens", sa.Integer, nullable=False),
        sa.Column("cached_tokens", sa.Integer, nullable=False),
        sa.Column("cache_creation_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.Column("spend_pico", sa.BigInteger, nullable=False),
        sa.Column("price_source", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("start_time", sa.DateTime, nullable=False),
        sa.Column("end_time", sa.DateTime, nullable=False),
        sa.Column("request_duration_ms", sa.Float),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("guardrail", sa.JSON),
        sa.Column("metadata", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_gateway_spend_logs_start", "gateway_spend_logs", ["start_time"])
    op.create_index("ix_gateway_spend_logs_key_start", "gateway_spend_logs", ["api_key", "start_time"])
    op.create_index("ix_gateway_spend_logs_team_start", "gateway_spend_logs", ["team_id", "start_time"])
    op.create_index("ix_gateway_spend_logs_user_start", "gateway_spend_logs", ["user_id", "start_time"])
    op.create_index("ix_gateway_spend_logs_end_user_start", "gateway_spend_logs", ["end_user", "start_time"])
    op.create_table(
        "gateway_spend_daily",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("api_key", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("team_id", sa.String(255), nullable=False),
        sa.Column("end_user", sa.String(255), nullable=False),
        sa.Column("model_group", sa.String(255), nullable=False),
        sa.Column("custom_llm_provider", sa.String(64), nullable=False),
        *[
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in (
                "prompt_tokens",
                "completion_tokens",
                "cached_tokens",
                "spend_pico",
                "api_requests",
                "successful_requests",
                "failed_requests",
            )
        ],
        sa.UniqueConstraint(
            "day",
            "api_key",
            "user_id",
            "team_id",
            "end_user",
            "model_group",
            "custom_llm_provider",
            name="uq_gateway_spend_daily_dims",
        ),
    )
    op.create_index("ix_gateway_spend_daily_team", "gateway_spend_daily", ["team_id", "day"])
    op.create_index("ix_gateway_spend_daily_key", "gateway_spend_daily", ["api_key", "day"])


def downgrade() -> None:
    op.drop_table("gateway_spend_daily")
    op.drop_table("gateway_spend_logs")
