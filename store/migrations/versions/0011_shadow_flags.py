"""Shadow flags: what a rule in ``mode: shadow`` raises on every scan, kept apart from the
flags people work (never queued, never notified), so its page can show what it would have sent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shadow_flags",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("store_id", sa.String(), nullable=True),
        sa.Column("store_name", sa.String(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("reason_id", sa.String(96), nullable=True),
        sa.Column("reason_args", sa.JSON(), nullable=True),
        sa.Column("scan_id", sa.Integer(), sa.ForeignKey("scans.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("rule_id", "subject", name="uq_shadow_flags_rule_subject"),
    )
    op.create_index("ix_shadow_flags_rule_occurred", "shadow_flags", ["rule_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_shadow_flags_rule_occurred", table_name="shadow_flags")
    op.drop_table("shadow_flags")
