"""What each file carries (``detectors.needs.presence``): from its own lines, and from its
configured source's history only for what it lacks.

The scan hands presence the batch joined to months of history; it must read the history only
for a field a batch file lacks, only that file's source's, and never the unconfigured
``default`` source's (it mixes unrelated files).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from contracts.schema import conform
from detectors.needs import presence

T = datetime(2026, 11, 30, 13, 0)


def _lines(rows: list[dict], in_batch: bool | None) -> pl.DataFrame:
    df = conform(pl.DataFrame(rows, infer_schema_length=None))
    return df if in_batch is None else df.with_columns(pl.lit(in_batch).alias("_in_batch"))


def _row(file: str, source: str, **fields) -> dict:
    return {"order_id": "A1", "store_id": "S1", "sku": "K1", "quantity": 1.0, "created_at": T,
            "source": source, "source_file": file, **fields}


def test_each_file_counts_its_own_fields_and_states():
    batch = _lines([_row("a.csv", "default", picked_at=T, state="picked"),
                    _row("b.csv", "default", phone="13800000000")], True)
    out = presence(batch)
    assert set(out) == {"a.csv", "b.csv"}
    assert "picked_at" in out["a.csv"] and "state:picked" in out["a.csv"] and "phone" not in out["a.csv"]
    assert "phone" in out["b.csv"] and "picked_at" not in out["b.csv"] and not any(
        f.startswith("state:") for f in out["b.csv"])
    # a frame without the batch marker, and one whose lines are all batch lines, read alike
    assert presence(batch.drop("_in_batch")) == out
    assert presence(batch.lazy()) == out


def test_a_configured_source_history_fills_only_what_the_file_lacks():
    batch = _lines([_row("today.csv", "feed")], True)
    past = _lines([_row("old.csv", "feed", delivered_at=T, state="delivered"),
                   _row("other.csv", "other", shipped_at=T)], False)
    out = presence(pl.concat([past, batch]))
    assert set(out) == {"today.csv"}                       # history files are not judged
    assert {"delivered_at", "state:delivered"} <= out["today.csv"]
    assert "shipped_at" not in out["today.csv"]           # another source's history does not count


def test_the_default_source_history_never_counts():
    batch = _lines([_row("today.csv", "default")], True)
    past = _lines([_row("old.csv", "default", delivered_at=T, state="delivered")], False)
    out = presence(pl.concat([past, batch]))
    assert "delivered_at" not in out["today.csv"] and "state:delivered" not in out["today.csv"]


def test_history_alone_or_nothing_is_no_file():
    past = _lines([_row("old.csv", "feed", delivered_at=T)], False)
    assert presence(past) == {}
    assert presence(past.head(0)) == {}
