"""Scheduled key rotation (LiteLLM's ``auto_rotate``): the schedule and record of each key.

``key_rotation_at`` is when the key is next due; the rotation job claims a due key with a
conditional ``UPDATE`` of this column, so one worker of one instance rotates it, once.

Revision ID: vk0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vk0006"
down_revision = "vk0005"
branch_labels = None
depends_on = None
destructive = False


def upgrade() -> None:
    op.add_column("vk_keys", sa.Column("auto_rotate", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("vk_keys", sa.Column("rotation_interval", sa.String(16)))
    op.add_column("vk_keys", sa.Column("key_rotation_at", sa.DateTime(timezone=True)))
    op.add_column("vk_keys", sa.Column("last_rotation_at", sa.DateTime(timezone=True)))
    op.add_column("vk_keys", sa.Column("rotation_count", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_vk_keys_key_rotation_at", "vk_keys", ["key_rotation_at"])


def downgrade() -> None:
    op.drop_index("ix_vk_keys_key_rotation_at", "vk_keys")
    with op.batch_alter_table("vk_keys") as batch:
        for name in ("rotation_count", "last_rotation_at", "key_rotation_at", "rotation_interval", "auto_rotate"):
            batch.drop_column(name)
