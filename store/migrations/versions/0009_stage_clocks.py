"""Every stage has its clock: order lines keep the refund request time and the logistics
method, and late-but-done orders (a rule's ``report`` level) are kept apart from the flags,
for the SLA statistics — never queued, never notified.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as t:
        t.add_column(sa.Column("refund_requested_at", sa.DateTime(), nullable=True))
        t.add_column(sa.Column("shipping_method", sa.String(), nullable=True))
    op.create_table(
        "sla_reports",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("store_id", sa.String(), nullable=True),
        sa.Column("store_name", sa.String(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_id", sa.String(96), nullable=True),
        sa.Column("reason_args", sa.JSON(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("hours", sa.Double(), nullable=True),
        sa.Column("sla_hours", sa.Double(), nullable=True),
        sa.Column("overdue_hours", sa.Double(), nullable=True),
        sa.Column("scan_id", sa.Integer(), sa.ForeignKey("scans.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("rule_id", "subject", name="uq_sla_reports_rule_subject"),
    )
    op.create_index("ix_sla_reports_occurred", "sla_reports", ["occurred_at"])
    op.create_index("ix_sla_reports_store", "sla_reports", ["store_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_reports_store", table_name="sla_reports")
    op.drop_index("ix_sla_reports_occurred", table_name="sla_reports")
    op.drop_table("sla_reports")
    with op.batch_alter_table("order_lines") as t:
        t.drop_column("shipping_method")
        t.drop_column("refund_requested_at")
