"""Orders and their lines on normal days: when they are placed, what is in them, what they cost.

Two frames come out, kept apart while anomalies are seeded and joined only when a file is
written: ``orders`` (one row per order: store, buyer, time, payment, address) and ``lines``
(one row per line: SKU, quantity, price).  Amounts are derived from the lines at the end
(:func:`finalize`), so a seeded quantity or price change moves the totals as it would in a
real system; the paid amount follows the total unless an anomaly sets it apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from . import places
from .catalog import round_to_step
from .spec import WorldSpec

ORDER_SCHEMA = {"order_id": pl.String, "store_id": pl.String, "created_at": pl.Datetime("us"),
                "day": pl.Date, "kind": pl.String, "promo": pl.Boolean, "scale": pl.Float64,
                "buyer_id": pl.String}


def _order_ids(spec: WorldSpec, plan: pl.DataFrame, rng: np.random.Generator) -> list[str]:
    """Order numbers in the form each system writes them (unique within the world)."""
    n = plan.height
    if spec.dialect == "taobao_lines":
        base = rng.choice(np.arange(10**6, 10**7), n, replace=False)
        return [f"3{d:%y%m%d}{b:07d}{rng.integers(100, 999)}" for d, b in zip(plan["day"], base)]
    if spec.dialect == "requisition_xlsx":
        return [f"YH{4300000000000 + 7919 * i + int(rng.integers(0, 7000))}" for i in range(n)]
    if spec.dialect == "shopify_orders":
        return [f"#{1001 + i}" for i in range(n)]
    if spec.dialect == "jst_lines":
        return [str(1850000 + 3 * i + int(rng.integers(0, 3))) for i in range(n)]
    seq: dict = {}
    out = []
    for d in plan["day"]:
        seq[d] = seq.get(d, 0) + 1
        out.append(f"XSD-{d:%Y%m%d}-{seq[d]:04d}")
    return out


def _times(spec: WorldSpec, plan: pl.DataFrame, stores: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Creation hours: stores in the early afternoon around their own habit, consumers in the evening."""
    n = plan.height
    if spec.buyers:
        mix = rng.random(n)
        hour = np.where(mix < 0.4, rng.normal(21.0, 1.2, n),
                        np.where(mix < 0.65, rng.normal(12.5, 1.0, n), rng.uniform(7.0, 24.0, n)))
        return np.clip(hour, 0.05, 23.95)
    habit = plan.join(stores.select("store_id", "hour"), on="store_id", how="left",
                      maintain_order="left")["hour"].to_numpy()
    kind = plan["kind"].to_numpy()
    hour = np.where(rng.random(n) < 0.9, rng.normal(habit, 0.45), rng.uniform(8.5, 18.5, n))
    hour = np.where(kind == "topup", rng.uniform(9.0, 17.0, n), hour)
    return np.clip(hour, 8.0, 19.0)


def make_orders(spec: WorldSpec, stores: pl.DataFrame, plan: pl.DataFrame,
                rng: np.random.Generator) -> pl.DataFrame:
    """One row per planned order, with its number, creation time and (consumers) buyer."""
    plan = plan.sort("day_index", "store_id", maintain_order=True)
    hour = _times(spec, plan, stores, rng)
    created = [datetime(d.year, d.month, d.day) + timedelta(hours=float(h)) for d, h in zip(plan["day"], hour)]
    buyer = [None] * plan.height
    if spec.buyers:
        pool = max(1000, int(plan.height * 0.7))      # most buyers buy once, some come back
        n = plan.height
        ranks = np.where(rng.random(n) < 0.8, rng.integers(0, pool, n), rng.integers(0, pool // 20, n))
        buyer = [f"tb{(r * 7919 + 13) % 10**8:08d}" if r % 3 else f"{places.person_names(rng, 1)[0]}_{r}"
                 for r in ranks]
    out = plan.with_columns(
        pl.Series("order_id", _order_ids(spec, plan, rng)),
        pl.Series("created_at", created, dtype=pl.Datetime("us")).dt.truncate("1s"),
        pl.Series("buyer_id", buyer, dtype=pl.String),
    )
    return out.select(*ORDER_SCHEMA).sort("created_at", "order_id")


def make_lines(spec: WorldSpec, orders: pl.DataFrame, stores: pl.DataFrame, assort: pl.DataFrame,
               catalog: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The lines of every order: SKUs drawn from the store's assortment, quantities near its usual."""
    cat = {r["sku"]: r for r in catalog.iter_rows(named=True)}
    by_store = {sid: g for (sid,), g in assort.partition_by("store_id", as_dict=True).items()}
    size = dict(stores.select("store_id", "size").iter_rows())
    tier = {sid: float(rng.choice([0.0, 0.0, 0.0, 0.03, 0.05])) for sid in size}
    lo, hi = spec.lines
    rows = []
    for oid, sid, kind, promo, scale in orders.select("order_id", "store_id", "kind", "promo", "scale").iter_rows():
        a = by_store[sid]
        if spec.buyers:
            k = int(rng.choice([1] * 14 + [2] * 5 + [3]))
        elif kind == "topup":
            k = int(rng.integers(1, 4))
        else:
            typical = lo + (hi - lo) * min(size[sid], 2.5) / 2.5
            k = int(round(typical * scale ** 0.4 * rng.lognormal(0.0, 0.2)))
        k = int(np.clip(k, 1, a.height))
        pick = rng.choice(a.height, k, replace=False, p=a["pick_weight"].to_numpy())
        skus = a["sku"].to_numpy()[pick]
        usual = a["usual_qty"].to_numpy()[pick]
        step = np.array([cat[s]["order_step"] for s in skus])
        minq = np.array([cat[s]["min_order_qty"] for s in skus])
        if spec.buyers:
            qty = rng.choice([1.0] * 17 + [2.0] * 2 + [3.0], k)
        else:
            noise = rng.lognormal(0.0, 0.22, k).clip(0.55, 1.8)
            qty = round_to_step(usual * (scale if kind != "topup" else 1.0) ** 0.6 * noise, step, minq)
        for n, (s, q) in enumerate(zip(skus, qty), start=1):
            c = cat[s]
            price = c["list_price"] * (1 - tier[sid]) * (0.9 if promo else 1.0)
            rows.append((oid, n, s, c["product_name"], c["spec"], c["unit"], float(q), round(price, 2)))
    return pl.DataFrame(rows, orient="row", schema={
        "order_id": pl.String, "line_no": pl.Int32, "sku": pl.String, "product_name": pl.String,
        "spec": pl.String, "unit": pl.String, "quantity": pl.Float64, "unit_price": pl.Float64})


def finalize(orders: pl.DataFrame, lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Line and order amounts from quantities and prices; paid follows the total unless seeded apart."""
    lines = lines.with_columns((pl.col("quantity").fill_null(0.0) * pl.col("unit_price")).round(2).alias("line_amount"))
    totals = lines.group_by("order_id").agg(pl.col("line_amount").sum().round(2).alias("goods_amount"))
    orders = (orders.drop("goods_amount", "order_amount", "paid_amount", strict=False)
              .join(totals, on="order_id", how="left")
              .with_columns((pl.col("goods_amount").fill_null(0.0) + pl.col("postage")).round(2).alias("order_amount")))
    orders = orders.sort("created_at", "order_id").with_columns(
        (pl.col("order_amount") * pl.col("paid_ratio") + pl.col("paid_delta")).round(2).alias("paid_amount"))
    return orders, lines.sort("order_id", "line_no")
