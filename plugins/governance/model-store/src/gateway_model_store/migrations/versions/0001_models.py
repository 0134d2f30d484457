"""Models added at runtime and the version counter every worker polls.

Revision ID: ms0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ms0001"
down_revision = None
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.create_table(
        "ms_models",
        sa.Column("model_id", sa.String(255), primary_key=True),
        sa.Column("model_name", sa.String(255), nullable=False),
        # the entry's litellm_params as given (os.environ/ references kept), encrypted with the salt key
        sa.Column("litellm_params", sa.Text, nullable=False),
        sa.Column("model_info", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("updated_by", sa.String(255)),
    )
    version = op.create_table(
        "ms_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("ms_version")
    op.drop_table("ms_models")
