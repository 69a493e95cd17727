"""Linear-time reads for the jobs: the flags the notification planner has not seen yet, the
active flags of a store, the notification groups whose repeat may be due, and the orders a
time-based rule may still flag (the open set re-evaluation judges).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("status IN ('open', 'acknowledged')")
UNNOTIFIED = sa.text("notified_at IS NULL OR updated_at > notified_at")
REPEATS = sa.text("repeat_from IS NOT NULL")
OPEN_ORDERS_STATE = "store:open_orders"   # job_state row: is the open set complete?


def upgrade() -> None:
    op.create_index("ix_flags_unnotified", "flags", ["id"], postgresql_where=UNNOTIFIED, sqlite_where=UNNOTIFIED)
    op.create_index("ix_flags_active_store_id", "flags", ["store_id", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    with op.batch_alter_table("notifications") as t:
        t.add_column(sa.Column("repeat_from", sa.DateTime(), nullable=True))
    # the latest firing message of each routed group is where its repeat interval counts from
    op.execute("UPDATE notifications SET repeat_from = COALESCE(sent_at, created_at) WHERE id IN ("
               "SELECT MAX(id) FROM notifications WHERE kind = 'firing' AND receiver NOT LIKE 'store:%' "
               "GROUP BY receiver, group_key)")
    op.create_index("ix_notifications_repeat", "notifications", ["repeat_from"],
                    postgresql_where=REPEATS, sqlite_where=REPEATS)
    op.create_table(
        "open_orders",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("scan_id", sa.Integer(), sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("source", "store_id", "order_id", "scan_id", name="uq_open_orders_key"),
    )
    op.create_index("ix_open_orders_created", "open_orders", ["created_at"])
    # a database with scans has history the open set must first be built from (re-evaluation
    # does it once, from the history window); a fresh one fills it scan by scan
    conn = op.get_bind()
    scanned = conn.execute(sa.text("SELECT COUNT(*) FROM scans WHERE status = 'done'")).scalar()
    job_state = sa.table("job_state", sa.column("name", sa.String), sa.column("value", sa.JSON),
                         sa.column("updated_at", sa.DateTime))
    op.bulk_insert(job_state, [{"name": OPEN_ORDERS_STATE, "value": {"complete": not scanned},
                                "updated_at": datetime.now(timezone.utc).replace(tzinfo=None)}])


def downgrade() -> None:
    op.execute("DELETE FROM job_state WHERE name = 'store:open_orders'")
    op.drop_index("ix_open_orders_created", "open_orders")
    op.drop_table("open_orders")
    op.drop_index("ix_notifications_repeat", "notifications")
    with op.batch_alter_table("notifications") as t:
        t.drop_column("repeat_from")
    op.drop_index("ix_flags_active_store_id", "flags")
    op.drop_index("ix_flags_unnotified", "flags")
