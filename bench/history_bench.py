"""Benchmark: baseline aggregates from Parquet history vs the same rows in SQLite.

Why: ``store.history`` keeps order lines as Parquet for detectors' baselines; this shows
what that buys over SQL aggregates on the embedded database.  Run from the project root:

    python bench/history_bench.py [n_lines]     # default 1,000,000
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from store.history import History  # noqa: E402

T0 = datetime(2026, 7, 1)


def synthetic(n: int, seed: int = 7) -> pl.DataFrame:
    """n lines over 300 stores × 120 days × 2000 SKUs, ~3 lines per order."""
    rng = np.random.default_rng(seed)
    secs = np.sort(rng.integers(0, 120 * 86400, n))
    return pl.DataFrame({
        "order_id": [f"O{i // 3:08d}" for i in range(n)],
        "line_no": (np.arange(n) % 3 + 1).astype(np.int32),
        "source": "demo",
        "store_id": [f"S{s:03d}" for s in rng.integers(0, 300, n)],
        "created_at": pl.Series(T0.timestamp() * 1e6 + secs * 1e6).cast(pl.Int64).cast(pl.Datetime("us")),
        "sku": [f"K{s:04d}" for s in rng.integers(0, 2000, n)],
        "quantity": rng.integers(1, 20, n).astype(float),
        "unit_price": np.round(rng.gamma(2.0, 15.0, n), 2),
    }).with_columns(line_amount=pl.col("quantity") * pl.col("unit_price"))


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(n: int) -> None:
    df = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        hist = History(Path(tmp) / "history")
        per_scan = n // 10  # ten scans → ten partitions, like ten nightly runs
        for i in range(10):
            hist.append(i + 1, df.slice(i * per_scan, per_scan))
        db = sqlite3.connect(Path(tmp) / "bench.db")
        db.execute("CREATE TABLE order_lines (order_id TEXT, line_no INT, source TEXT, "
                   "store_id TEXT, created_at TEXT, sku TEXT, quantity REAL, unit_price REAL, "
                   "line_amount REAL)")
        rows = df.with_columns(pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")).rows()
        db.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?,?)", rows)
        db.execute("CREATE INDEX ix_store_created ON order_lines (store_id, created_at)")
        db.commit()

        day_pq = lambda: (hist.scan().group_by("store_id", pl.col("created_at").dt.date().alias("day"))  # noqa: E731
                          .agg(pl.col("line_amount").sum(), pl.col("order_id").n_unique().alias("orders"),
                               pl.len().alias("lines")).collect())
        day_sql = lambda: db.execute(  # noqa: E731
            "SELECT store_id, substr(created_at, 1, 10) AS day, sum(line_amount), "
            "count(DISTINCT order_id), count(*) FROM order_lines GROUP BY 1, 2").fetchall()
        med_pq = lambda: (hist.scan().group_by("store_id", "sku")  # noqa: E731
                          .agg(pl.col("quantity").median(), pl.col("unit_price").median()).collect())
        # SQLite has no median(): the usual window-function formulation
        med_sql = lambda: db.execute(  # noqa: E731
            """
            WITH r AS (SELECT store_id, sku, quantity,
                         row_number() OVER (PARTITION BY store_id, sku ORDER BY quantity) AS rn,
                         count(*) OVER (PARTITION BY store_id, sku) AS cnt FROM order_lines)
            SELECT store_id, sku, avg(quantity) FROM r
            WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY store_id, sku""").fetchall()

        print(f"lines: {n:,}  (parquet: 10 partitions, sqlite: 1 table + index)")
        for name, pq, sql in (("store x day sums", day_pq, day_sql),
                              ("store x sku medians", med_pq, med_sql)):
            t_pq, a = timed(pq)
            t_sql, b = timed(sql)
            assert a.height == len(b), (a.height, len(b))
            print(f"{name:22s} parquet {t_pq:7.3f}s   sqlite {t_sql:7.3f}s   "
                  f"sqlite/parquet {t_sql / t_pq:6.1f}x   ({a.height:,} groups)")
        db.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
