"""credit_limit: a cash-on-delivery order, or the store's open cash-on-delivery exposure, above
the store's credit limit.

Why a limit per store and not one cap: nobody has paid for a cash-on-delivery order yet, so
what is at risk is credit the platform extends to that store — agreed with it and written in
the store master (``stores.file``: 门店档案).  A platform-wide cap (``payment.cod_cap``) is a site
setting, off by default, used for stores the master gives no limit.  Without either the
detector has nothing to judge by and says so (``detectors.needs``: ``credit_limits``).

Only orders still open are judged (one delivered, completed or paid owes nothing any more).
The exposure at an order is what the store owes on cash-on-delivery orders still open at that
moment, this one included: each order counts from its creation until it is settled (delivered,
completed or paid) or ``exposure_days`` have passed (an export that never says "delivered" must
not pile up debt forever); cancelled, closed, returned and refunded orders never count.  An
export that shows no settlement at all (no such state or time in its source) cannot tell what
is still open: the exposure is left unknown there and only the order itself is judged.

In state mode (``ctx.state``) the store's earlier orders still open come from the state's
``cod_orders`` (its standing cash-on-delivery orders open at its newest one) and whether a source
shows settlements from ``source_fields``' ``cod_settles`` (``detectors.state_platform``); the
orders of ``ctx.lines`` replace their stored rows.  Exact for a batch no older than its store's
newest stored cash-on-delivery order, while ``exposure_days`` is within ``history.state.cod_days``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from contracts.schema import UNWOUND_STATES
from detectors.base import DetectContext, Detector, Parts, any_by
from detectors.common import OKEY, ORDER_KEY, order_subject
from detectors.state_platform import COD_SETTLES, SETTLED_STATES, Bounds, settles_shown

FEATURES = {
    "order_amount": "订单金额",
    "credit_limit": "门店信用额度",
    "limit_source": "额度来源（门店档案 / 全平台上限）",
    "over_limit": "订单金额超出额度的部分",
    "cod_exposure": "货到付款未结清金额（含本单）",
    "open_cod_orders": "未结清的货到付款订单数（含本单）",
    "exposure_over": "未结清金额超出额度的部分",
    "over_by": "超出额度的部分（订单或未结清金额，取较大者）",
}
PARAMS: dict[str, Any] = {"exposure_days": 30}


def _check(p: dict[str, Any], config: Any) -> list[tuple[str, str]]:
    kept = Bounds.of(config).cod_days
    if int(p["exposure_days"]) > kept:
        return [("exposure_days", f"must be at most history.state.cod_days ({kept}): the state keeps "
                                  "open cash-on-delivery orders that long")]
    return []
EMPTY = {"subject": pl.String, "store_id": pl.String, "store_name": pl.String, "order_id": pl.String,
         "occurred_at": pl.Datetime("us"), "order_amount": pl.Float64, "credit_limit": pl.Float64,
         "limit_source": pl.String, "over_limit": pl.Float64, "cod_exposure": pl.Float64,
         "open_cod_orders": pl.Int64, "exposure_over": pl.Float64, "over_by": pl.Float64}


def _limits(ctx: DetectContext) -> pl.LazyFrame | None:
    """store_id -> (credit_limit, limit_source); None when there is no limit at all."""
    if ctx.limits is None and ctx.cod_cap is None:
        return None
    if ctx.limits is None:
        return pl.LazyFrame(schema={"store_id": pl.String, "_store_limit": pl.Float64})
    return ctx.limits.select("store_id", pl.col("credit_limit").alias("_store_limit"))


def _cod_orders(ctx: DetectContext) -> pl.LazyFrame:
    """One row per cash-on-delivery order that still stands: value, times, settlement."""
    # a source that never shows a settlement cannot say what is still open (over every store)
    tracks = ctx.platform("source_tracks", Parts(_tracks, any_by("source", "_tracks")))
    return _with_stored(ctx, _standing(ctx)).join(tracks, on="source", how="left", nulls_equal=True)


def _tracks(c: DetectContext) -> pl.LazyFrame:
    """source -> whether any of its cash-on-delivery lines shows a settlement (in state mode the
    stored history's ``cod_settles`` counts too)."""
    seen = c.lines.filter(pl.col("is_cod")).select("source", settles_shown().alias("_tracks"))
    if c.state is not None:
        stored = (c.past_state("source_fields", at="last_seen").filter(pl.col("field") == COD_SETTLES)
                  .select("source", pl.lit(True).alias("_tracks")))
        seen = pl.concat([seen, stored])
    return seen.group_by("source").agg(pl.col("_tracks").any())


def _with_stored(ctx: DetectContext, standing: pl.LazyFrame) -> pl.LazyFrame:
    """In state mode, ``standing`` and the stored open orders of ``cod_orders`` inside the
    history window that ``ctx.lines`` does not hold (its version replaces theirs)."""
    if ctx.state is None:
        return standing
    past = (ctx.past_state("cod_orders").join(ctx.orders.select(ORDER_KEY), on=ORDER_KEY, how="anti", nulls_equal=True)
            .select(pl.struct(ORDER_KEY).hash().alias(OKEY), *ORDER_KEY, "created_at", "order_value",
                    pl.col("settled_at").alias("_settled_at"), pl.col("settled_state").alias("_settled_state"),
                    pl.lit(False).alias("_in_batch")))
    return pl.concat([standing, past], how="diagonal_relaxed")


def _standing(ctx: DetectContext) -> pl.LazyFrame:
    """One row per active cash-on-delivery order not unwound, with its settlement."""
    per_order = (ctx.lines.filter(pl.col("is_cod"))
                 .group_by(OKEY).agg(
                     pl.coalesce("delivered_at", "completed_at", "paid_at").min().alias("_settled_at"),
                     pl.col("state").is_in(SETTLED_STATES).any().alias("_settled_state"),
                     pl.col("state").is_in(UNWOUND_STATES).fill_null(False).all().alias("_unwound")))
    return (ctx.orders.filter(pl.col("is_cod") & (pl.col("n_active") > 0))
            .join(per_order, on=OKEY, how="inner").filter(~pl.col("_unwound")))


def _exposure(orders: pl.LazyFrame, days: int) -> pl.LazyFrame:
    """Per open order: the store's open cash-on-delivery amount and orders at its creation
    (itself included).

    Events: +value when an order is created, -value when it is settled or ages out; a running
    sum per store, read at each creation (settlements at the same moment counted first, and
    every order created at that moment: the figure does not depend on the order rows are read in).  An
    order settled at an unknown time (a delivered state, no time) never counts.
    """
    ends = pl.min_horizontal(
        pl.when(pl.col("_settled_at").is_not_null()).then(pl.col("_settled_at"))
        .when(pl.col("_settled_state")).then(pl.col("created_at")),
        pl.col("created_at") + timedelta(days=days))
    base = (orders.filter(pl.col("_tracks"))
            .select(OKEY, "store_id", "created_at", pl.col("order_value").fill_null(0).alias("_v"), ends.alias("_end"))
            .filter(pl.col("_end") > pl.col("created_at")))
    opened = base.select(OKEY, "store_id", pl.col("created_at").alias("_t"), pl.lit(1, pl.Int8).alias("_o"),
                         "_v", pl.lit(1).alias("_n"))
    closed = base.select(OKEY, "store_id", pl.col("_end").alias("_t"), pl.lit(0, pl.Int8).alias("_o"),
                         -pl.col("_v"), pl.lit(-1).alias("_n"))
    # orders of one store created at the same moment all count at it (whichever is read first)
    moment = ["store_id", "_t", "_o"]
    events = (pl.concat([opened, closed]).sort(moment)
              .with_columns(pl.col("_v").cum_sum().over("store_id").alias("cod_exposure"),
                            pl.col("_n").cum_sum().over("store_id").alias("open_cod_orders"))
              .with_columns(pl.col("cod_exposure", "open_cod_orders").last().over(moment)))
    return events.filter(pl.col("_o") == 1).select(OKEY, "cod_exposure", "open_cod_orders")


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    limits = _limits(ctx)
    if limits is None:
        return pl.LazyFrame(schema=EMPTY)
    orders = _cod_orders(ctx)
    exposure = _exposure(orders, int(p["exposure_days"]))
    cap = pl.lit(ctx.cod_cap, dtype=pl.Float64)
    # an order already delivered, completed or paid owes nothing: only open ones are judged
    open_now = pl.col("_settled_at").is_null() & ~pl.col("_settled_state")
    judged = (orders.filter(pl.col("_in_batch") & open_now)
              .join(limits, on="store_id", how="left")
              .join(exposure, on=OKEY, how="left")
              .with_columns(pl.coalesce("_store_limit", cap).alias("credit_limit"),
                            pl.when(pl.col("_store_limit").is_not_null()).then(pl.lit("store"))
                            .when(cap.is_not_null()).then(pl.lit("platform")).alias("limit_source"),
                            pl.col("order_value").alias("order_amount"))
              .filter(pl.col("credit_limit").is_not_null()))
    over = pl.col("order_amount") - pl.col("credit_limit")
    exposure_over = pl.col("cod_exposure") - pl.col("credit_limit")
    return judged.select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("created_at").alias("occurred_at"), "order_amount", "credit_limit", "limit_source",
        over.alias("over_limit"), "cod_exposure", pl.col("open_cod_orders").cast(pl.Int64),
        exposure_over.alias("exposure_over"),
        pl.max_horizontal(over, exposure_over).alias("over_by"),
    )


DETECTOR = Detector(
    name="credit_limit",
    title_zh="货到付款超过信用额度",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: "门店{store_id}的货到付款订单{order_id}金额{order_amount:,.2f}，信用额度{credit_limit:,.2f}",
    needs=lambda p: (("order_amount", "line_amount", "unit_price"), "payment_method", "credit_limits"),
    check=_check,
    from_state=lambda p, state: "cod_orders" in state,
)
