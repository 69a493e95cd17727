"""``detectors.baselines.sku_usual`` (one rolling window over the sorted frame) against its
definition: per store×SKU pair, the median of the previous ``window`` taught quantities —
null stores and SKUs as pairs of their own, ties of time, lines kept out of teaching."""

from datetime import datetime, timedelta

import polars as pl
from hypothesis import given, settings, strategies as st

from detectors.baselines import PAIR, sku_usual

ORDER = [*PAIR, "created_at", "order_id", "line_no"]


def by_definition(lines: pl.DataFrame, window: int, min_points: int, keep: pl.Expr | None) -> pl.DataFrame:
    """The usual computed pair by pair in plain Python (the reference)."""
    taught = lines.with_columns((keep if keep is not None else pl.lit(True)).alias("_keep"))
    rows = taught.sort(ORDER, nulls_last=True).to_dicts()
    out, seen = [], {}
    for r in rows:
        prev = seen.setdefault((r["store_id"], r["sku"]), [])
        last = prev[-window:]
        vals = sorted(v for v in last if v is not None)
        med = None
        if len(vals) >= max(min_points, 1):
            k = len(vals)
            med = vals[k // 2] if k % 2 else (vals[k // 2 - 1] + vals[k // 2]) / 2
        out.append({**{c: r[c] for c in ORDER}, "usual_qty": med, "usual_n": len(vals)})
        prev.append(r["quantity"] if r["_keep"] else None)
    return pl.DataFrame(out, schema={**{c: lines.schema[c] for c in ORDER}, "usual_qty": pl.Float64,
                                     "usual_n": pl.Int32})


line_rows = st.lists(st.tuples(st.sampled_from(["s1", "s2", None]), st.sampled_from(["a", "b", None]),
                               st.integers(0, 5), st.integers(1, 60)), min_size=0, max_size=60)


@settings(max_examples=150, deadline=None)
@given(rows=line_rows, window=st.integers(1, 5), min_points=st.integers(0, 3), keep_every=st.integers(1, 4))
def test_sku_usual_equals_its_definition(rows, window, min_points, keep_every):
    t0 = datetime(2026, 9, 1, 13)
    lines = pl.DataFrame(
        [{"store_id": s, "sku": k, "created_at": t0 + timedelta(hours=h), "order_id": f"o{i % 7}",
          "line_no": i, "quantity": float(q)} for i, (s, k, h, q) in enumerate(rows)],
        schema={"store_id": pl.String, "sku": pl.String, "created_at": pl.Datetime("us"), "order_id": pl.String,
                "line_no": pl.Int32, "quantity": pl.Float64})
    keep = None if keep_every == 1 else (pl.col("line_no") % keep_every != 0)
    got = sku_usual(lines.lazy(), window, min_points, keep).collect().select(*ORDER, "usual_qty", "usual_n")
    want = by_definition(lines, window, min_points, keep)
    assert got.equals(want), (got, want)
