"""send counter per channel and month (monthly quotas)

Revision ID: send_counter_0001
Revises: coordinators_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "send_counter_0001"
down_revision: str | None = "coordinators_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_counter",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("closed_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "month"),
    )


def downgrade() -> None:
    op.drop_table("send_counter")
