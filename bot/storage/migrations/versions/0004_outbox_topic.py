"""outbox topic and topic_ref: reminders found by columns, not by matching their dedup keys

Revision ID: outbox_topic_0001
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outbox_topic_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("dedup_key", sa.String()),
    sa.column("topic", sa.String()),
    sa.column("topic_ref", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("topic_ref", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_outbox_topic", ["topic", "topic_ref"], unique=False)
    # Reminders queued before this revision: give them their topic, so that a report sent after
    # the upgrade still cancels them. Their keys read remind:<campaign>:<deadline>:<offset>:
    # <agency>:<official id> (bot/delivery/keys.py).
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.dedup_key).where(
            OUTBOX.c.status == "pending", OUTBOX.c.dedup_key.startswith("remind:")
        )
    ).all()
    for row_id, key in rows:
        parts = key.split(":")
        if len(parts) != 6:
            continue
        conn.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == row_id)
            .values(topic=":".join(parts[:3]), topic_ref=parts[4])
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_topic")
        batch_op.drop_column("topic_ref")
        batch_op.drop_column("topic")
