"""Rebuild ``online_retail_slice.csv`` from the full Online Retail data in ``../shared``.

Why a slice in the repository: a fresh clone has no ``../shared`` beside it, yet the real-data
behaviour (both mistaken bulk orders flagged) must still be tested.  The slice keeps every line
of the two customers who keyed in those orders, every line of 150 other customers drawn with a
fixed seed, and 40 guest lines (no CustomerID: they must be quarantined), in file order.

    python tests/data/make_online_retail_slice.py [PATH/online_retail.parquet]
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[2] / "shared" / "data" / "online_retail" / "online_retail.parquet"
MISTAKE_CUSTOMERS = (16446, 12346)      # invoices 581483 and 541431
OTHERS, GUESTS, SEED = 150, 40, 20111209


def build(parquet: Path) -> pl.DataFrame:
    df = pl.read_parquet(parquet).with_row_index("_pos")
    customers = df.get_column("CustomerID").drop_nulls().unique().sort().cast(pl.Int64)
    others = customers.filter(~customers.is_in(MISTAKE_CUSTOMERS)).sample(OTHERS, seed=SEED)
    keep = pl.Series([*MISTAKE_CUSTOMERS, *others.to_list()], dtype=pl.Int64)
    known = df.filter(pl.col("CustomerID").cast(pl.Int64).is_in(keep.implode()))
    guests = df.filter(pl.col("CustomerID").is_null()).sample(GUESTS, seed=SEED)
    return (pl.concat([known, guests]).sort("_pos").drop("_pos")
            .with_columns(pl.col("CustomerID").cast(pl.Int64)))


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    out = HERE / "online_retail_slice.csv"
    build(source).write_csv(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
