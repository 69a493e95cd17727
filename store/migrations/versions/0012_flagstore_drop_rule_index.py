"""Flags: drop ``ix_flags_rule_id``; the unique ``(rule_id, subject)`` index serves every
lookup by rule (its first column), so the extra index only cost each stored flag one more
B-tree insert (a tenth of storing a loose scan's 323 k new flags on SQLite).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_flags_rule_id", table_name="flags")


def downgrade() -> None:
    op.create_index("ix_flags_rule_id", "flags", ["rule_id"])
