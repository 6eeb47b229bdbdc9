"""Zalo OA: residents' last interaction, skipped sends counted per run, the sealed token pair

Revision ID: zalo_oa_0001
Revises: buttons_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "zalo_oa_0001"
down_revision: str | None = "buttons_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber") as batch:
        batch.add_column(
            sa.Column(
                "last_interaction_at",
                bot.storage.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    with op.batch_alter_table("bulk_run") as batch:
        batch.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "oa_token",
        sa.Column("oa_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("oa_id"),
    )


def downgrade() -> None:
    op.drop_table("oa_token")
    with op.batch_alter_table("bulk_run") as batch:
        batch.drop_column("skipped")
    with op.batch_alter_table("subscriber") as batch:
        batch.drop_column("last_interaction_at")
