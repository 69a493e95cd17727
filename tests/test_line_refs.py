"""What ``line_qty_outlier`` compares a line with when the store's own usual is not known yet
(``detectors.line_refs``): the store's size at the line, from its lines before it only (a
backfill judges a new store's first order as a daily scan would: against the platform), and
the zero's shape in the step the SKU's lines show when no catalog gives one.  Both in raw and
state mode."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from contracts.config import load_config
from rules.loader import load_rules
from tests.factories import frame
from tests.state_support import Given, assert_same_output

CONFIG = load_config()
T0 = datetime(2026, 9, 1, 9, 0)
RULE = next(r for r in load_rules(CONFIG) if r.id == "line_qty_outlier")


def _row(store: str, day: int, sku: str, qty: float, order: str | None = None) -> dict:
    return {"order_id": order or f"{store}-{day}", "store_id": store, "store_name": store, "sku": sku,
            "quantity": qty, "created_at": T0 + timedelta(days=day, minutes=int(store[1:])), "source": "t",
            "unit_price": 5.0}


def _line(out: pl.DataFrame, order: str, sku: str) -> dict:
    return out.filter((pl.col("order_id") == order) & (pl.col("sku") == sku)).row(0, named=True)


def test_a_new_stores_first_order_is_not_scaled_by_what_the_store_orders_later():
    """S3 opens on day 10 and then orders half the platform's usual of A and B.  Its first
    order (C at three times the platform's usual) is judged against the platform: nothing
    before it tells its size.  Its C on day 16 is judged against half the platform's usual:
    by then its own lines of A and B show that size."""
    platform = [_row(s, d, k, q) for d in range(17) for s in ("S1", "S2") for k, q in (("A", 7.0), ("B", 13.0), ("C", 9.0))]
    s3 = ([_row("S3", 10, "A", 7.0), _row("S3", 10, "B", 13.0), _row("S3", 10, "C", 27.0)]
          + [_row("S3", d, k, q) for d in range(11, 16) for k, q in (("A", 3.5), ("B", 6.5))]
          + [_row("S3", 16, "C", 27.0, order="S3-16c")])
    lines = frame(platform + s3)
    cut = T0 + timedelta(days=10)
    history, batch = lines.filter(pl.col("created_at") < cut), lines.filter(pl.col("created_at") >= cut)
    out = assert_same_output("volume_surge", RULE.params, history, batch, Given(config=CONFIG, as_of=T0 + timedelta(days=17)))
    first = _line(out, "S3-10", "C")
    assert (first["baseline"], first["usual_qty"], first["qty_ratio"]) == ("platform_sku", 9.0, 3.0)
    later = _line(out, "S3-16c", "C")
    assert later["baseline"] == "store_scaled" and later["usual_qty"] == 4.5 and later["qty_ratio"] == 6.0


def test_a_sku_sold_in_tens_has_no_zero_shape_without_a_catalog():
    """Without a catalog the step is what the SKU's lines show: D is ordered in tens on the
    platform, so 60 against S1's usual of 10 is six steps, not a zero typed after 6 — while E,
    ordered in units, has its 60 of that shape, and a zero typed after D's 10 still reads as one."""
    rows = [_row(s, d, "D", q) for d in range(12) for s, q in (("S1", 10.0), ("S2", 20.0), ("S4", 30.0))]
    rows += [_row(s, d, "E", q) for d in range(12) for s, q in (("S1", 9.0), ("S2", 7.0), ("S4", 11.0))]
    batch = frame([_row("S1", 12, "D", 60.0), _row("S1", 12, "E", 60.0), _row("S2", 12, "D", 200.0)])
    out = assert_same_output("volume_surge", RULE.params, frame(rows), batch, Given(config=CONFIG, as_of=T0 + timedelta(days=13)))
    d, e, zero = _line(out, "S1-12", "D"), _line(out, "S1-12", "E"), _line(out, "S2-12", "D")
    assert (d["qty_ratio"], d["shape_step"], d["zero_shape"]) == (6.0, 10.0, 0)
    assert (e["shape_step"], e["zero_shape"]) == (1.0, 1)
    assert (zero["qty_ratio"], zero["zero_shape"]) == (10.0, 1)
