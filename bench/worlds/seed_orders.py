"""Anomalies of a whole order: amount far above the store's history, paid amount off the
total, an undeliverable address, a double entry, an order stuck before picking, a parcel
stuck in transit, and a store correcting an order (cancel, then order again).

Fulfilment anomalies are defined against the world's ``as_of`` (the moment of the export)
and only on open orders: an order still waiting long past its SLA.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from .seed_base import Seeder

TIMES = ("created_at", "confirmed_at", "paid_at", "picked_at", "shipped_at", "done_at")


def new_ids(s: Seeder, days: list, tag: int) -> list[str]:
    """Fresh order numbers in the world's own form (for copies of orders)."""
    out = []
    for k, d in enumerate(days):
        r = int(s.rng.integers(0, 10**6))
        out.append({"taobao_lines": f"3{d:%y%m%d}{8000000 + r:07d}{tag}{k % 10}",
                    "requisition_xlsx": f"YH{4390000000000 + tag * 10**6 + r}",
                    "jst_lines": f"{3000000 + tag * 10**5 + k}",
                    "shopify_orders": f"#{90000 + tag * 1000 + k}",
                    }.get(s.spec.dialect, f"XSD-{d:%Y%m%d}-{7000 + tag * 100 + k}"))
    return out


def amount_spike(s: Seeder, n: int) -> None:
    """An order worth at least 10 times the store's median order, 3 times its 95th percentile
    and 1.5 times the largest it ever placed, built of high-value goods the store does not
    usually buy (not one mistyped line, not a cash-on-delivery cap artefact)."""
    value = s.lines.group_by("order_id").agg((pl.col("quantity").fill_null(0) * pl.col("unit_price")).sum().alias("v"))
    med = (s.orders.filter(pl.col("doc_type") == "order").join(value, on="order_id").filter(pl.col("v") > 0)
           .group_by("store_id").agg(pl.col("v").median().alias("median"), pl.col("v").quantile(0.95).alias("p95"),
                                     pl.col("v").max().alias("most")))
    picked = s.sample(s.eligible().join(med, on="store_id"), n)
    premium = s.catalog.filter(pl.col("premium"))
    for r in picked.iter_rows(named=True):
        goods = premium.filter(pl.col("shop") == r["store_id"]) if "shop" in premium.columns else premium
        goods = goods.sample(n=min(goods.height, int(s.rng.integers(2, 5))), seed=int(s.rng.integers(0, 2**31)))
        target = max(10.0 * r["median"], 3.0 * r["p95"], 1.5 * r["most"]) * float(s.rng.uniform(1.0, 1.3))
        have = s.lines.filter(pl.col("order_id") == r["order_id"])
        total = float((have["quantity"].fill_null(0) * have["unit_price"]).sum())
        share = (target - total) / goods.height
        adds, line_no = [], int(have["line_no"].max())
        for g in goods.iter_rows(named=True):
            unit = max(g["order_step"], 1.0)
            q = max(np.ceil(share / (g["list_price"] * unit)) * unit, g["min_order_qty"])
            line_no += 1
            adds.append((r["order_id"], line_no, g["sku"], g["product_name"], g["spec"], g["unit"], float(q),
                         g["list_price"]))
            total += q * g["list_price"]
        s.lines = pl.concat([s.lines, pl.DataFrame(adds, schema=s.lines.schema, orient="row")])
        s.record("amount_spike", r, f"{len(adds)} high-value lines added: {total:,.0f} = {total / r['median']:.1f}x "
                 f"the store's median order, {total / r['most']:.1f}x its largest")
        s.consequences(("store_day_surge", "line_qty_outlier"), r, "a high-value order")


def paid_off(s: Seeder, n: int) -> None:
    """An online payment that does not match the total (under-paid, or paid too much)."""
    picked = s.sample(s.eligible(extra=pl.col("paid_ratio") == 1.0), n)
    for r in picked.iter_rows(named=True):
        if s.rng.random() < 0.6:
            ratio, detail = float(s.rng.uniform(0.5, 0.85)), "paid {:.0%} of the total"
            s.set_orders([r["order_id"]], paid_ratio=ratio)
            s.record("payment_mismatch", r, detail.format(ratio))
        else:
            ratio = float(s.rng.uniform(1.15, 1.5))
            s.set_orders([r["order_id"]], paid_ratio=ratio)
            s.record("payment_mismatch", r, f"paid {ratio:.0%} of the total")


def bad_address(s: Seeder, n: int) -> None:
    """An address that cannot be delivered to: a part left blank or an invalid phone."""
    picked = s.sample(s.eligible(min_prior=0, min_age=0), n)
    overseas = s.spec.locale != "zh"
    faults = (("postcode", "consignee", "address", "phone_short", "phone_blank", "city+postcode") if overseas
              else ("district", "consignee", "address", "phone_short", "phone_blank", "city+district"))
    for i, r in enumerate(picked.iter_rows(named=True)):
        fault = faults[i % len(faults)]
        if fault == "phone_short":
            s.set_orders([r["order_id"]], phone=pl.col("phone").str.replace_all("-", "").str.slice(0, 5 if overseas else 8))
        elif fault == "phone_blank":
            s.set_orders([r["order_id"]], phone=pl.lit(None, dtype=pl.String))
        else:
            s.set_orders([r["order_id"]], **{f: pl.lit(None, dtype=pl.String) for f in fault.split("+")})
        s.record("missing_address", r, f"address fault: {fault}")


def duplicate(s: Seeder, n: int) -> None:
    """The same order entered again a few minutes later under a new number (same store, same
    buyer, same lines)."""
    safe = (pl.col("created_at") <= s.as_of - timedelta(hours=30)) & \
        (pl.col("done_at").is_null() | (pl.col("done_at") <= s.as_of - timedelta(hours=1)))
    picked = s.sample(s.eligible(min_prior=2, min_age=3, extra=safe), n)
    ids = new_ids(s, picked["day"].to_list(), tag=1)
    shift = [timedelta(minutes=float(m)) for m in s.rng.uniform(2.0, 25.0, picked.height)]
    copies = picked.with_columns(pl.Series("order_id", ids), *[pl.col(c) + pl.Series(shift) for c in TIMES])
    s.add_copies(copies, picked["order_id"].to_list())
    for r, new, d in zip(picked.iter_rows(named=True), ids, shift):
        row = {**r, "order_id": new}
        s.record("duplicate_order", row, f"copy of {r['order_id']} {d.total_seconds() / 60:.0f} min later")
        s.consequences(("store_day_surge",), row, "a duplicate order")


def stuck_picking(s: Seeder, n: int) -> None:
    """Confirmed (or paid) 6-72 hours before the export and still not picked nor shipped."""
    start = pl.coalesce("confirmed_at", "paid_at")
    window = (start >= s.as_of - timedelta(hours=72)) & (start <= s.as_of - timedelta(hours=6))
    picked = s.sample(s.eligible(min_prior=0, min_age=0, extra=window & pl.col("shipped_at").is_not_null()), n)
    state = "paid" if s.spec.buyers else "confirmed"
    ids = picked["order_id"].to_list()
    s.set_orders(ids, picked_at=pl.lit(None, dtype=pl.Datetime("us")), shipped_at=pl.lit(None, dtype=pl.Datetime("us")),
                 done_at=pl.lit(None, dtype=pl.Datetime("us")), state=state)
    for r in picked.iter_rows(named=True):
        began = r["confirmed_at"] or r["paid_at"]
        s.record("picking_overdue", r, f"open, not picked {(s.as_of - began).total_seconds() / 3600:.1f} h "
                 f"after {'payment' if s.spec.buyers else 'confirmation'}")
        # the order's own shipping promise (24 h from the order) breaks too, for the same cause
        s.consequences(("shipment_overdue",), r, "an order stuck before picking")


def stuck_delivery(s: Seeder, n: int) -> None:
    """Shipped 90-240 hours before the export and never delivered."""
    if not s.spec.delivery:
        return
    window = (pl.col("shipped_at") >= s.as_of - timedelta(hours=240)) & \
             (pl.col("shipped_at") <= s.as_of - timedelta(hours=90)) & pl.col("done_at").is_not_null()
    picked = s.sample(s.eligible(min_prior=0, min_age=0, extra=window), n)
    s.set_orders(picked["order_id"].to_list(), done_at=pl.lit(None, dtype=pl.Datetime("us")), state="shipped")
    for r in picked.iter_rows(named=True):
        s.record("delivery_overdue", r, f"in transit {(s.as_of - r['shipped_at']).total_seconds() / 3600:.0f} h")


def corrected(s: Seeder, n: int) -> None:
    """A store cancels an order and places a corrected one 5-40 minutes later (same SKUs,
    one quantity changed): one informational flag on the new order, no alarm."""
    safe = pl.col("created_at") <= s.as_of - timedelta(hours=30)
    picked = s.sample(s.eligible(min_prior=2, min_age=3, extra=safe), n)
    ids = new_ids(s, picked["day"].to_list(), tag=2)
    back = [timedelta(minutes=float(m)) for m in s.rng.uniform(5.0, 40.0, picked.height)]
    nat = pl.lit(None, dtype=pl.Datetime("us"))
    olds = picked.with_columns(
        pl.Series("order_id", ids), pl.col("created_at") - pl.Series(back), pl.lit("cancelled").alias("state"),
        nat.alias("picked_at"), nat.alias("shipped_at"), nat.alias("done_at"), nat.alias("paid_at"),
        pl.lit(None, dtype=pl.Float64).alias("paid_ratio"))
    olds = olds.with_columns((pl.col("created_at") + pl.duration(minutes=3)).alias("confirmed_at"))

    def first_line_changed(lines: pl.DataFrame) -> pl.DataFrame:
        q = pl.when(pl.col("line_no") == 1).then(pl.col("quantity") * 2).otherwise(pl.col("quantity"))
        return lines.with_columns((pl.lit(None, dtype=pl.Float64) if s.spec.cancel_blank_qty else q).alias("quantity"))

    s.add_copies(olds, picked["order_id"].to_list(), first_line_changed)
    for r, old in zip(picked.iter_rows(named=True), ids):
        s.record("cancel_reorder", r, f"replaces cancelled {old}")
