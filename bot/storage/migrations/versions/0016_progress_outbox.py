"""broadcast progress through the outbox: the progress message's outbox row, not its platform id

Revision ID: progress_outbox_0001
Revises: send_counter_0001
Create Date: 2026-11-30

A broadcast running across the upgrade starts a new progress message (its old one was sent
outside the outbox, so no row knows it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "progress_outbox_0001"
down_revision: str | None = "send_counter_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_outbox_id", sa.Integer(), nullable=True))
        batch_op.drop_column("progress_message_id")


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_message_id", sa.String(length=32), nullable=True))
        batch_op.drop_column("progress_outbox_id")
