"""Indexes the review queues need at a million flags (measured with bench/queue_bench.py):
severity-sorted queues, and the active-flag counts every page shows in its navigation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('open', 'acknowledged')")


def upgrade() -> None:
    op.create_index("ix_flags_dept_sev_id", "flags", ["department", "severity", "id"])
    op.create_index("ix_flags_active_dept_id", "flags", ["department", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade() -> None:
    op.drop_index("ix_flags_active_dept_id", "flags")
    op.drop_index("ix_flags_dept_sev_id", "flags")
