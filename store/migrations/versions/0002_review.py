"""Review workspace: flag lifecycle columns, users, API tokens, login attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("flags") as t:
        t.add_column(sa.Column("severity", sa.Integer(), nullable=False, server_default="2"))
        t.add_column(sa.Column("resolution", sa.String(32), nullable=True))
        t.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        t.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE flags SET severity = CASE level WHEN 'info' THEN 1 WHEN 'critical' THEN 3 ELSE 2 END")
    op.create_index("ix_flags_dept_id", "flags", ["department", "id"])
    op.create_index("ix_flags_order_id", "flags", ["order_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="zh"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["username", "at"])
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index("ix_flags_order_id", "flags")
    op.drop_index("ix_flags_dept_id", "flags")
    with op.batch_alter_table("flags") as t:
        for c in ("resolved_at", "acknowledged_at", "resolution", "severity"):
            t.drop_column(c)
