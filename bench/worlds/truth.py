"""The truth of a world: the seeded anomalies, their acceptable consequences, and decoys.

Roles (column ``role``):
- ``anomaly``: seeded; a flag of this kind on this key is a true positive, no flag a miss;
- ``consequence``: a flag a seeded anomaly may legitimately cause besides its own (the
  amount of an order with an extra-zero line, the store-day of a duplicate): neither a true
  nor a false positive;
- ``decoy``: a normal situation that looks like an anomaly (a promotion day, a shop's two
  buyers ordering the same thing minutes apart, an order picked late but done, a new store's
  first stocking order); a flag on it is a false positive, counted apart for diagnosis.

The generator also guarantees that nothing it did not seed is an anomaly: identical orders
of the same store (and buyer) within an hour that arise by chance are made different first.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from .seed_base import TRUTH_SCHEMA, Seeder, truth_key

DUPLICATE_WINDOW = timedelta(minutes=60)
PICK_SLA_H = {"normal": 4.0, "fresh": 2.0}     # the shipped config.yaml defaults
DELIVERY_SLA_H = 72.0


def _fresh(s: Seeder) -> pl.DataFrame:
    return (s.lines.join(s.catalog.select("sku", "fresh"), on="sku", how="left")
            .group_by("order_id").agg(pl.col("fresh").fill_null(False).any().alias("_fresh")))


def _signatures(orders: pl.DataFrame, lines: pl.DataFrame, closed: bool = False) -> pl.DataFrame:
    sig = (lines.filter(pl.col("quantity") > 0).group_by("order_id")
           .agg(pl.struct("sku", "quantity").hash().sum().alias("_sig")))
    live = orders.filter((pl.col("doc_type") == "order") & (closed | ~pl.col("state").is_in(["cancelled", "closed"])))
    return live.join(sig, on="order_id").sort("created_at", "order_id")


def _close_pairs(sigs: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Later orders whose previous order with the same ``by`` and signature is within the window."""
    return (sigs.sort("created_at", "order_id")
            .with_columns(pl.col("created_at").shift(1).over([*by, "_sig"]).alias("_prev"))
            .filter((pl.col("created_at") - pl.col("_prev")) <= DUPLICATE_WINDOW))


def break_chance_duplicates(s: Seeder) -> int:
    """Make chance repeats (same store, same buyer, same lines, within the hour) differ: the
    later one orders one more step of its first line.  Returns how many were changed."""
    by = ["store_id", "buyer_id"] if s.spec.buyers else ["store_id"]
    changed = 0
    for _ in range(3):
        pairs = _close_pairs(_signatures(s.orders, s.lines), by)
        if pairs.height == 0:
            break
        step = s.catalog.select("sku", "order_step")
        first = s.lines.filter(pl.col("line_no") == 1).join(pairs.select("order_id"), on="order_id")
        bump = first.join(step, on="sku", how="left").select("order_id", pl.col("order_step").fill_null(1.0))
        s.lines = (s.lines.join(bump, on="order_id", how="left")
                   .with_columns(pl.when((pl.col("line_no") == 1) & pl.col("order_step").is_not_null())
                                 .then(pl.col("quantity") + pl.col("order_step")).otherwise(pl.col("quantity"))
                                 .alias("quantity")).drop("order_step").sort("order_id", "line_no"))
        changed += pairs.height
    return changed


def _decoy_rows(kind: str, frame: pl.DataFrame, detail: str) -> list[dict]:
    return [{"kind": kind, "key": truth_key(kind, r["order_id"], r["store_id"], r["day"]),
             "order_id": r["order_id"], "store_id": r["store_id"], "store_name": r.get("store_name"),
             "day": r["day"], "role": "decoy", "detail": detail} for r in frame.iter_rows(named=True)]


def decoys(s: Seeder, landline_apart: bool = False) -> list[dict]:
    """Normal situations that look like anomalies, written down so a flag on one is explained."""
    o = s.orders.join(_fresh(s), on="order_id", how="left")
    c = pl.col
    rows: list[dict] = []
    done = o.filter(c("shipped_at").is_not_null() & ~c("state").is_in(["cancelled", "closed"]))
    sla = pl.when(c("_fresh")).then(PICK_SLA_H["fresh"]).otherwise(PICK_SLA_H["normal"])
    seen = c("picked_at") if s.spec.picking else c("shipped_at")
    waited = (seen - pl.coalesce("confirmed_at", "paid_at")).dt.total_seconds() / 3600
    what = "picked" if s.spec.picking else "shipped (picking time not in the export)"
    rows += _decoy_rows("picking_overdue", done.filter(waited > sla), f"{what} after the SLA, done before the export")
    ended = o.filter(c("state").is_in(["cancelled", "closed"]) & (c("doc_type") == "order"))
    rows += _decoy_rows("picking_overdue", ended, "cancelled or closed: nothing left to pick")
    transit = (c("done_at") - c("shipped_at")).dt.total_seconds() / 3600
    if s.spec.delivery:
        rows += _decoy_rows("delivery_overdue", o.filter(transit > DELIVERY_SLA_H), "delivered late, before the export")
    promo = (o.filter(pl.col("promo") & (pl.col("doc_type") == "order")).sort("created_at", "order_id")
             .unique(subset=["store_id", "day"], keep="first", maintain_order=True))
    rows += _decoy_rows("store_day_surge", promo, "platform promotion day: every store orders more")
    opening = o.filter(pl.col("kind") == "opening")
    rows += _decoy_rows("amount_spike", opening, "a new store's first (stocking) order")
    rows += _decoy_rows("store_day_surge", opening, "a new store's first (stocking) order")
    if s.spec.buyers:
        pairs = _close_pairs(_signatures(o, s.lines, closed=True), ["store_id"])
        seeded = {t["order_id"] for t in s.truth if t["kind"] == "duplicate_order"}
        pairs = pairs.filter(~pl.col("order_id").is_in(list(seeded)))
        rows += _decoy_rows("duplicate_order", pairs, "another buyer ordered the same minutes before")
    if landline_apart:   # the export keeps landlines in their own column, the mobile one blank
        land = o.filter(pl.col("phone").str.contains(r"^0\d{2,3}-") & (pl.col("doc_type") == "order"))
        rows += _decoy_rows("missing_address", land, "phone given as a landline in its own column")
    returns = o.filter(pl.col("doc_type") == "return")
    rows += _decoy_rows("line_qty_outlier", returns, "a return document (negative quantity)")
    return rows


def truth_frame(world: str, s: Seeder, landline_apart: bool = False) -> pl.DataFrame:
    """All truth rows of a world, one per (kind, key, role); an anomaly wins over the rest."""
    rows = s.truth + decoys(s, landline_apart)
    frame = pl.DataFrame(rows, schema=TRUTH_SCHEMA)
    rank = pl.col("role").replace_strict({"anomaly": 0, "consequence": 1, "decoy": 2}, return_dtype=pl.Int8)
    frame = (frame.with_columns(rank.alias("_rank")).sort("_rank", "kind", "key", "order_id", "detail")
             .unique(subset=["kind", "key"], keep="first", maintain_order=True).drop("_rank"))
    return frame.with_columns(pl.lit(world).alias("world")).select("world", *TRUTH_SCHEMA).sort("kind", "role", "key")
