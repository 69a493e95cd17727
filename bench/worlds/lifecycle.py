"""What happens to an order after it is placed, up to the moment of the export (``as_of``).

The warehouse keeps its promises on normal days, so that "overdue" is unambiguous: review
within 20 minutes, picking within the SLA (fresh goods within 1.8 h, others within 3.6 h),
hand-over to the carrier within 1.8 h of picking, delivery within 40 h; a marketplace ships
within 3.8 h of payment.  A few orders are late but done (decoys: counted in SLA statistics,
never a flag).  Everything after ``as_of`` is not in the export yet; the state is the last
event before it.  Cancellations, refunds and return documents come from here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from . import places
from .catalog import round_to_step
from .spec import WorldSpec

H = 3_600_000_000  # one hour in microseconds
ONLINE = ("transfer", "wechat", "prepaid", "alipay", "card")


def _hours(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return (rng.uniform(lo, hi, n) * H).astype("int64").astype("timedelta64[us]")


def _contacts(spec: WorldSpec, orders: pl.DataFrame, stores: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Who receives the goods: the store itself, or (marketplace) the buyer's own address."""
    cols = ["consignee", "phone", "province", "city", "district", "address", "postcode", "country"]
    base = orders.join(stores.select("store_id", "store_name", "payment", *cols), on="store_id", how="left",
                       maintain_order="left")
    if not spec.buyers:
        return base.rename({"payment": "payment_method"})
    buyers = orders.get_column("buyer_id").unique(maintain_order=True)
    geo = places.addresses(rng, buyers.len())
    book = pl.DataFrame({"buyer_id": buyers, "consignee": places.person_names(rng, buyers.len()),
                         "phone": places.mobiles(rng, buyers.len()),
                         **{k: geo[k] for k in ("province", "city", "district", "address")}})
    book = book.with_columns(pl.lit(None, dtype=pl.String).alias("postcode"), pl.lit(None, dtype=pl.String).alias("country"))
    return (base.drop(cols).join(book, on="buyer_id", how="left", maintain_order="left")
            .rename({"payment": "payment_method"}))


def _fresh_orders(lines: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    return (lines.join(catalog.select("sku", "fresh"), on="sku", how="left")
            .group_by("order_id").agg(pl.col("fresh").fill_null(False).any()))


def fulfil(spec: WorldSpec, orders: pl.DataFrame, lines: pl.DataFrame, stores: pl.DataFrame,
           catalog: pl.DataFrame, as_of: datetime, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Times, states and payments of every order; cancellations; returns."""
    o = (_contacts(spec, orders, stores, rng).join(_fresh_orders(lines, catalog), on="order_id", how="left")
         .sort("created_at", "order_id"))
    n = o.height
    created = o["created_at"].to_numpy().astype("datetime64[us]")
    asof = np.datetime64(as_of, "us")
    nat = np.datetime64("NaT", "us")
    online = np.isin(o["payment_method"].to_numpy(), ONLINE)
    fresh = o["fresh"].fill_null(False).to_numpy()
    if spec.buyers:
        paid = np.where(rng.random(n) < 0.97, created + _hours(rng, 0.01, 0.5, n), nat)
        start, confirmed = paid, np.full(n, nat)
    else:
        confirmed = created + _hours(rng, 1 / 60, 1 / 3, n)
        paid = np.where(online, created + _hours(rng, 0.0, 0.25, n), nat)
        start = confirmed
    limit = 3.8 if spec.buyers else 3.6
    delay = np.where(fresh, _hours(rng, 0.2, 1.8, n), _hours(rng, 0.3, limit, n))
    late = (rng.random(n) < spec.late_pick_rate) & ~np.isnat(start)
    late_delay = _hours(rng, 4.5, 10.0, n)
    late &= start + late_delay + np.timedelta64(H // 2, "us") <= asof
    delay = np.where(late, late_delay, delay)
    if spec.buyers:
        picked, shipped = np.full(n, nat), start + delay
        done = shipped + _hours(rng, 72, 216, n)                      # buyer confirms receipt
    else:
        picked = start + delay
        shipped = picked + _hours(rng, 0.2, 1.8, n)
        transit = _hours(rng, 6, 40, n)
        slow = (rng.random(n) < spec.late_delivery_rate) & (shipped + _hours(rng, 110, 110, n) <= asof)
        transit = np.where(slow, _hours(rng, 75, 110, n), transit)
        done = shipped + transit
    cancel = rng.random(n) < spec.cancel_rate
    refund = spec.buyers & (rng.random(n) < 0.015) & ~cancel & ~np.isnat(paid)
    refund |= spec.buyers & cancel & ~np.isnat(paid)           # closed after payment: refunded
    cancel |= spec.buyers & np.isnat(paid) & (created + np.timedelta64(24 * H, "us") <= asof)
    for arr in (picked, shipped, done):
        arr[cancel | refund] = nat
    o = o.with_columns(
        pl.Series("confirmed_at", confirmed), pl.Series("paid_at", paid), pl.Series("picked_at", picked),
        pl.Series("shipped_at", shipped), pl.Series("done_at", done),
        pl.Series("cancelled", cancel), pl.Series("refunded", refund),
    ).with_columns([pl.when(pl.col(c) <= as_of).then(pl.col(c)).alias(c)
                    for c in ("confirmed_at", "paid_at", "picked_at", "shipped_at", "done_at")])
    o = _states(spec, o, as_of)
    if spec.cancel_blank_qty:
        blank = o.filter(pl.col("state") == "cancelled").get_column("order_id")
        lines = lines.with_columns(pl.when(pl.col("order_id").is_in(blank.implode())).then(None)
                                   .otherwise(pl.col("quantity")).alias("quantity"))
    return _returns(spec, o, lines, catalog, as_of, rng)


def _states(spec: WorldSpec, o: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The state each order is in at ``as_of`` (the last event that happened)."""
    c = pl.col
    if spec.buyers:
        state = (pl.when(c("refunded") | c("cancelled")).then(pl.lit("closed"))
                 .when(c("done_at").is_not_null()).then(pl.lit("completed"))
                 .when(c("shipped_at").is_not_null()).then(pl.lit("shipped"))
                 .when(c("paid_at").is_not_null()).then(pl.lit("paid"))
                 .otherwise(pl.lit("pending_payment")))
        ratio = pl.when(c("paid_at").is_not_null()).then(1.0).otherwise(0.0)
        postage = pl.Series(np.where(np.arange(o.height) % 10 < 7, 0.0, 8.0))
        return o.with_columns(state.alias("state"), ratio.alias("paid_ratio"), pl.lit(0.0).alias("paid_delta"),
                              postage.alias("postage"), pl.lit("order").alias("doc_type"))
    state = (pl.when(c("cancelled")).then(pl.lit("cancelled"))
             .when(c("done_at").is_not_null()).then(pl.lit("delivered"))
             .when(c("shipped_at").is_not_null()).then(pl.lit("shipped"))
             .when(c("picked_at").is_not_null()).then(pl.lit("picked"))
             .when(c("confirmed_at").is_not_null()).then(pl.lit("confirmed"))
             .otherwise(pl.lit("pending_review")))
    ratio = pl.when(c("paid_at").is_not_null() & ~c("cancelled")).then(1.0).otherwise(None)
    return o.with_columns(state.alias("state"), ratio.cast(pl.Float64).alias("paid_ratio"),
                          pl.lit(0.0).alias("paid_delta"), pl.lit(0.0).alias("postage"),
                          pl.lit("order").alias("doc_type"))


def _returns(spec: WorldSpec, o: pl.DataFrame, lines: pl.DataFrame, catalog: pl.DataFrame,
             as_of: datetime, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return documents: part of one line of a delivered order comes back days later."""
    if spec.return_rate <= 0:
        return o, lines
    done = o.filter(pl.col("state") == "delivered").sort("order_id")
    lines = lines.sort("order_id", "line_no")
    pick = done.sample(fraction=spec.return_rate, seed=int(rng.integers(0, 2**31)))
    back = pick["done_at"].to_numpy().astype("datetime64[us]") + _hours(rng, 4, 96, pick.height)
    keep = back <= np.datetime64(as_of - timedelta(hours=1), "us")
    pick, back = pick.filter(pl.Series(keep)), back[keep]
    src = lines.join(pick.select("order_id"), on="order_id", how="semi").group_by("order_id").first()
    src = pick.select("order_id").join(src, on="order_id", how="left", maintain_order="left")
    step = src.join(catalog.select("sku", "order_step", "min_order_qty"), on="sku", how="left", maintain_order="left")
    qty = -round_to_step(src["quantity"].fill_null(1.0).to_numpy() * rng.uniform(0.1, 0.4, src.height),
                         step["order_step"].to_numpy(), step["order_step"].to_numpy())
    prefix = {"requisition_xlsx": "TH", "jst_lines": "9", "grasp_sales": "XST-"}.get(spec.dialect, "R")
    rid = [f"{prefix}{i}" if prefix != "9" else f"{9000000 + k}" for k, i in enumerate(pick["order_id"])]
    ret = pick.with_columns(
        pl.Series("order_id", rid), pl.Series("created_at", back).dt.truncate("1s"),
        pl.Series("day", back.astype("datetime64[D]")), pl.lit("return").alias("kind"),
        pl.lit("return").alias("doc_type"), pl.lit("returned").alias("state"),
        *[pl.lit(None, dtype=pl.Datetime("us")).alias(c) for c in ("paid_at", "picked_at", "shipped_at", "done_at")],
        pl.lit(None, dtype=pl.Float64).alias("paid_ratio"),
    ).with_columns((pl.col("created_at") + pl.duration(minutes=10)).alias("confirmed_at"))
    rlines = src.with_columns(pl.Series("order_id", rid), pl.lit(1, dtype=pl.Int32).alias("line_no"),
                              pl.Series("quantity", qty))
    return pl.concat([o, ret.select(o.columns)]), pl.concat([lines, rlines.select(lines.columns)])
