"""The reviewer's workspace: reasons as data (template id + figures, rendered in each reader's
language), and saved queue filters per user.

Flags stored before keep ``reason_id`` NULL and are shown with their stored ``reason`` text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flags") as t:
        t.add_column(sa.Column("reason_id", sa.String(length=96), nullable=True))
        t.add_column(sa.Column("reason_args", sa.JSON(), nullable=True))
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_user_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_filters")
    with op.batch_alter_table("flags") as t:
        t.drop_column("reason_args")
        t.drop_column("reason_id")
