"""single-use buttons: the sent message's platform id, edit rows, the chat's last such message

Revision ID: buttons_0001
Revises: inbox_lease_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "buttons_0001"
down_revision: str | None = "inbox_lease_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("edit_of", sa.Integer(), nullable=True))
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons_row", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_state", schema=None) as batch_op:
        batch_op.drop_column("buttons_row")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("edit_of")
        batch_op.drop_column("sent_ref")
