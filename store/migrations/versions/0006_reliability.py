"""Reliability and security: scan leases (owner, heartbeat) and who started a scan; one
quarantined row per source row across re-scans (row_key) with its store; a per-user session
version so logout and password changes end every session.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scans") as t:
        t.add_column(sa.Column("owner", sa.String(255), nullable=True))
        t.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        t.add_column(sa.Column("created_by", sa.String(128), nullable=True))
    with op.batch_alter_table("quarantined_rows") as t:
        t.add_column(sa.Column("row_key", sa.String(64), nullable=True))
        t.add_column(sa.Column("store_id", sa.String(), nullable=True))
    # rows stored before this revision keep distinct keys; new rows key on file name, line, raw
    op.execute("UPDATE quarantined_rows SET row_key = 'legacy:' || CAST(id AS VARCHAR(20))")
    op.create_index("ux_quarantined_rows_key", "quarantined_rows", ["row_key"], unique=True)
    with op.batch_alter_table("users") as t:
        t.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_login_attempts_name_ip_at", "login_attempts", ["username", "ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_name_ip_at", "login_attempts")
    with op.batch_alter_table("users") as t:
        t.drop_column("session_version")
    op.drop_index("ux_quarantined_rows_key", "quarantined_rows")
    with op.batch_alter_table("quarantined_rows") as t:
        t.drop_column("store_id")
        t.drop_column("row_key")
    with op.batch_alter_table("scans") as t:
        t.drop_column("created_by")
        t.drop_column("heartbeat_at")
        t.drop_column("owner")
