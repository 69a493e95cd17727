"""Anomalies inside an order's lines: an extra zero, a quantity off the pack step, a price off
the catalog, and a store-day whose lines are each several times the store's usual.

Each is defined against the store's usual quantity of the SKU (catalog.assortments) or the
catalog, never against an absolute number, so a case-sold SKU (2 -> 20 cases) counts as much
as a bottle-sold one (12 -> 120 bottles).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .catalog import round_to_step
from .seed_base import Seeder

LINE_CONSEQUENCES = ("amount_spike", "store_day_surge")


def _frequent_lines(s: Seeder, pool: pl.DataFrame, min_count: int = 5) -> pl.DataFrame:
    """Lines of ``pool`` orders whose SKU the store has ordered at least ``min_count`` times."""
    counts = (s.lines.join(s.orders.select("order_id", "store_id"), on="order_id")
              .group_by("store_id", "sku").len("n"))
    return (s.lines.join(pool.select("order_id", "store_id", "store_name", "day"), on="order_id")
            .join(counts, on=["store_id", "sku"]).filter((pl.col("n") >= min_count) & (pl.col("quantity") > 0)))


def _one_line_per_order(s: Seeder, lines: pl.DataFrame, n: int) -> pl.DataFrame:
    lines = lines.sort("order_id", "line_no").sample(fraction=1.0, shuffle=True, seed=int(s.rng.integers(0, 2**31)))
    picked = lines.unique(subset=["store_id", "day"], keep="first", maintain_order=True).head(n)
    s.taken.update(picked["order_id"].to_list())
    s.taken_days.update(zip(picked["store_id"].to_list(), picked["day"].to_list()))
    return picked


def _line_mask(rows: pl.DataFrame) -> pl.Expr:
    keys = rows.select(pl.concat_str("order_id", pl.col("line_no").cast(pl.String), separator="#"))
    return pl.concat_str("order_id", pl.col("line_no").cast(pl.String), separator="#").is_in(keys.to_series().implode())


def extra_zero(s: Seeder, n: int) -> None:
    """A quantity typed with one zero too many; in worlds that sell by the case, half of them
    on case-sold SKUs (2 -> 20 cases)."""
    lines = _frequent_lines(s, s.eligible())
    cases = lines.filter(pl.col("unit") == "箱")
    picked = _one_line_per_order(s, cases, n // 2) if cases.height and s.spec.case_share > 0 else cases.head(0)
    rest = lines.join(picked.select("order_id"), on="order_id", how="anti")
    rest = rest.filter(~pl.col("order_id").is_in(list(s.taken)))
    picked = pl.concat([picked, _one_line_per_order(s, rest, n - picked.height)])
    s.set_lines(_line_mask(picked), quantity=pl.col("quantity") * 10)
    for r in picked.iter_rows(named=True):
        q = r["quantity"]
        s.record("line_qty_outlier", r, f"{r['sku']}: {q:g} -> {q * 10:g} {r['unit']} (extra zero)")
        s.consequences(LINE_CONSEQUENCES, r, "an extra zero on one line")


def off_step(s: Seeder, n: int) -> None:
    """A quantity that is not a whole number of order steps, or under the minimum."""
    if not s.spec.catalog:
        return
    cat = s.catalog.select("sku", "order_step", "min_order_qty")
    lines = (s.lines.join(s.eligible().select("order_id", "store_id", "store_name", "day"), on="order_id")
             .join(cat, on="sku").filter((pl.col("order_step") > 1) | (pl.col("min_order_qty") > 1)))
    picked = _one_line_per_order(s, lines, n)
    new = []
    for st, mq, q in picked.select("order_step", "min_order_qty", "quantity").iter_rows():
        if st > 1 and (mq <= 1 or s.rng.random() >= 0.35):
            new.append(q + float(s.rng.integers(1, int(st))))     # e.g. 13 bottles of a 6-step SKU
        else:
            new.append(st / 2 if st > 1 else mq - 1)              # half a case, or 1 of a 2-minimum
    fix = picked.with_columns(pl.Series("new", new, dtype=pl.Float64))
    for r in fix.iter_rows(named=True):
        mask = (pl.col("order_id") == r["order_id"]) & (pl.col("line_no") == r["line_no"])
        s.set_lines(mask, quantity=pl.lit(float(r["new"])))
        why = "under the minimum" if r["new"] < r["min_order_qty"] else "off the step"
        s.record("step_mismatch", r, f"{r['sku']}: {r['quantity']:g} -> {r['new']:g} "
                 f"(step {r['order_step']:g}, minimum {r['min_order_qty']:g}: {why})")


def price_off(s: Seeder, n: int) -> None:
    """A unit price keyed far off the list price (a third, or three times)."""
    lines = _frequent_lines(s, s.eligible(), min_count=1)
    picked = _one_line_per_order(s, lines, n)
    factor = np.where(s.rng.random(picked.height) < 0.5, s.rng.uniform(0.3, 0.5, picked.height),
                      s.rng.uniform(2.2, 3.0, picked.height))
    for r, f in zip(picked.iter_rows(named=True), factor):
        mask = (pl.col("order_id") == r["order_id"]) & (pl.col("line_no") == r["line_no"])
        s.set_lines(mask, unit_price=pl.lit(round(r["unit_price"] * f, 2)))
        s.record("price_deviation", r, f"{r['sku']}: unit price {r['unit_price']:.2f} -> {r['unit_price'] * f:.2f}")
        if f > 1:
            s.consequences(("amount_spike",), r, "a line priced three times the list")


def store_day_surge(s: Seeder, n: int) -> None:
    """A store-day far above the store's own: half with few lines each ~5x the usual (the raw
    unit count of the day may not even rise), half with every line 4-6x the usual.  In a
    marketplace: every order of the shop's day buys five times the usual quantity."""
    if s.spec.buyers:
        _shop_day_surge(s, n)
        return
    pool = s.eligible(min_prior=14, min_age=21).filter(pl.col("kind") == "main")
    one = s.orders.filter(pl.col("doc_type") == "order").group_by("store_id", "day").len("orders_that_day")
    pool = pool.join(one, on=["store_id", "day"]).filter(pl.col("orders_that_day") == 1)
    picked = s.sample(pool, n)
    usual = s.usual()
    cat = {r["sku"]: r for r in s.catalog.iter_rows(named=True)}
    drop = []
    for i, r in enumerate(picked.iter_rows(named=True)):
        lines = s.lines.filter(pl.col("order_id") == r["order_id"]).sort("line_no")
        few = i % 2 == 0 and lines.height >= 3
        keep = lines.head(int(s.rng.integers(2, 4))) if few else lines
        factor = 5.0 if few else float(s.rng.uniform(4.0, 6.0))
        for ln in keep.iter_rows(named=True):
            c = cat[ln["sku"]]
            base = usual.get((r["store_id"], ln["sku"]), ln["quantity"])
            q = float(round_to_step(np.array([base * factor]), np.array([c["order_step"]]),
                                    np.array([c["min_order_qty"]]))[0])
            s.set_lines((pl.col("order_id") == r["order_id"]) & (pl.col("line_no") == ln["line_no"]),
                        quantity=pl.lit(q))
        drop += [(r["order_id"], ln) for ln in lines["line_no"].to_list()[keep.height:]]
        shape = f"{keep.height} lines, each ~5x usual" if few else f"all {keep.height} lines x{factor:.1f}"
        s.record("store_day_surge", r, shape)
        s.consequences(("line_qty_outlier", "amount_spike"), r, "a store-day surge")
    if drop:
        gone = pl.DataFrame(drop, schema={"order_id": pl.String, "line_no": pl.Int32}, orient="row")
        s.lines = s.lines.join(gone, on=["order_id", "line_no"], how="anti")


def _shop_day_surge(s: Seeder, n: int) -> None:
    pool = s.eligible(min_prior=14, min_age=21)
    days = pool.group_by("store_id", "day").agg(pl.len().alias("n"), pl.col("order_id").sort(),
                                                 pl.col("store_name").first())
    total = s.orders.filter(pl.col("doc_type") == "order").group_by("store_id", "day").len("total")
    days = days.join(total, on=["store_id", "day"]).filter((pl.col("n") == pl.col("total")) & (pl.col("n") >= 2))
    days = days.sort("store_id", "day")
    picked = days.sample(fraction=1.0, shuffle=True, seed=int(s.rng.integers(0, 2**31))).head(n)
    ids = [i for group in picked["order_id"].to_list() for i in group]
    s.taken.update(ids)
    s.taken_days.update(zip(picked["store_id"].to_list(), picked["day"].to_list()))
    s.set_lines(pl.col("order_id").is_in(ids), quantity=pl.col("quantity") * 5)
    for r in picked.iter_rows(named=True):
        s.record("store_day_surge", {**r, "order_id": r["order_id"][0]}, f"{r['n']} orders, each 5x the usual quantity")
        for oid in r["order_id"]:
            s.consequences(("line_qty_outlier", "amount_spike"), {**r, "order_id": oid}, "a shop-day surge")
