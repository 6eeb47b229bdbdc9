"""coordinators: audit log, broadcasts, outbox files and command menus

Revision ID: coordinators_0001
Revises: zalo_oa_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "coordinators_0001"
down_revision: str | None = "zalo_oa_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("send_at", bot.storage.types.UTCDateTime(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("progress_message_id", sa.String(length=32), nullable=True),
        sa.Column("progress_shown", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", bot.storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", bot.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["bulk_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_broadcast_status"), "broadcast", ["status"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("extra", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("extra")
    op.drop_index(op.f("ix_broadcast_status"), table_name="broadcast")
    op.drop_table("broadcast")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
