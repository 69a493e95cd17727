"""Order lines as the canonical schema now reads any export: only the order and its time are
required (sku and quantity become optional), plus buyer, state, more lifecycle times, the
order's own deadlines, discounts, shipping, refunds, currency and tracking number.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = ("buyer_id", "payment_status", "aftersale_status", "state", "currency", "tracking_no")
TIMES = ("completed_at", "cancelled_at", "refunded_at", "ship_by", "deliver_by")
AMOUNTS = ("discount_amount", "shipping_fee", "refund_amount")


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as t:
        t.alter_column("sku", existing_type=sa.String(), nullable=True)
        t.alter_column("quantity", existing_type=sa.Double(), nullable=True)
        for c in TEXT:
            t.add_column(sa.Column(c, sa.String(), nullable=True))
        for c in TIMES:
            t.add_column(sa.Column(c, sa.DateTime(), nullable=True))
        for c in AMOUNTS:
            t.add_column(sa.Column(c, sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as t:
        for c in (*TEXT, *TIMES, *AMOUNTS):
            t.drop_column(c)
        t.alter_column("quantity", existing_type=sa.Double(), nullable=False)
        t.alter_column("sku", existing_type=sa.String(), nullable=False)
