"""Small helpers between polars frames and SQLAlchemy rows.

Why separate: the repository should read as storage logic; dtype plumbing lives here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import polars as pl

from contracts.schema import CANONICAL, DATETIME, PROVENANCE

T = TypeVar("T")

#: columns ``upsert_flags`` reads; the first five are required
FLAG_INPUT: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "kind": pl.String(),
    "level": pl.String(),
    "department": pl.String(),
    "subject": pl.String(),
    "order_id": pl.String(),
    "store_id": pl.String(),
    "store_name": pl.String(),
    "occurred_at": DATETIME,
    "title": pl.String(),
    "reason": pl.String(),
    "reason_id": pl.String(),
    "reason_args": pl.String(),     # JSON text in, JSON stored
}
FLAG_REQUIRED: tuple[str, ...] = ("rule_id", "kind", "level", "department", "subject")

#: what ``flags_frame`` returns (evidence as JSON text: polars has no "any JSON" dtype)
FLAG_FRAME: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    **FLAG_INPUT,
    "evidence": pl.String(),
    "status": pl.String(),
    "assignee": pl.String(),
    "version": pl.Int64(),
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "scan_id": pl.Int64(),
}

#: what ``order_lines_frame`` returns: the canonical batch plus the scan that stored it
LINE_FRAME: dict[str, pl.DataType] = {**CANONICAL, **PROVENANCE, "scan_id": pl.Int64()}


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (bounded statements / bind counts)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def select_as(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``df`` with exactly ``schema``'s columns: missing ones null, all cast, extras dropped."""
    return df.select(
        [
            pl.col(n).cast(t) if n in df.columns else pl.lit(None, dtype=t).alias(n)
            for n, t in schema.items()
        ]
    )


def rows_frame(rows: Iterable[Sequence[Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame from result rows whose columns are in ``schema`` order."""
    data = [tuple(r) for r in rows]
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(data, schema=schema, orient="row")


def as_evidence(value: Any, subject: str) -> Any:
    """Evidence as a JSON-able value: dicts pass, strings are parsed (they arrive serialised)."""
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"flag {subject!r}: evidence is not valid JSON: {exc}") from None


def evidence_text(value: Any) -> str | None:
    """JSON text for a stored evidence value (Chinese kept readable)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)
