"""flag_cluster: a store with several kinds of trouble within a day — a correlation over flags.

Input is the recent flags (``DetectContext.flags``), not order lines: for each flag, what its
store's flags of the ``window_hours`` before it (by business time) add up to.  What counts is
built so the cluster does not echo what the queue already holds:

- distinct orders, not flags (an order with three findings is one order in trouble), and
  distinct kinds (fifty orders missing the same address part are one problem, already queued
  fifty times);
- only warnings and above: information (a store correcting its own order) is not trouble,
  nor is a flag a reviewer resolved as a false positive;
- never time-based flags alone: picking or delivery running late is the warehouse's clock,
  not something the store did; such orders count only beside one the store's own orders
  raised, and their kinds never count (several kinds means several kinds of the store's own);
- a consequence inhibited by its cause (``rules.inhibit``) is part of its cause's flag, not a
  flag of its own, so it adds no kind either;
- a kind on (nearly) every order of the store's day is one standing condition (its address
  master, or what its export carries), not several incidents: it is named (``common_kinds``)
  but not counted;
- what a store's day holds is measured against the store's size: ``store_orders`` (its orders
  in the window) and ``flagged_share``, so three flagged orders of a store placing two hundred
  a day are not the trouble three of its five would be.

The store gets one flag per day, the day's largest cluster as evidence; its own kind is never
counted, so clusters don't feed themselves.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector

FEATURES = {
    "orders_in_window": "窗口内有异常的订单数（去重）",
    "kinds_in_window": "窗口内门店自身的异常类型数（不含时限类）",
    "critical_orders": "窗口内有严重异常的订单数",
    "window_hours": "窗口（小时）",
    "kinds": "异常类型",
    "store_orders": "窗口内门店的订单数",
    "flagged_share": "有异常的订单占门店订单的比例",
    "common_kinds": "当天几乎每单都有、不计入的异常类型",
}
PARAMS: dict[str, Any] = {"window_hours": 24}
COUNTED_LEVELS = ("warn", "critical")
#: a kind on this share of a store's orders of a day (of at least this many) is one standing condition
COMMON_SHARE, COMMON_MIN_ORDERS = 0.8, 3
EMPTY = {c: pl.Null for c in ("subject", "store_id", "store_name", "order_id", "occurred_at", *FEATURES)}


def _time_based() -> list[str]:
    from detectors import REGISTRY

    return [name for name, det in REGISTRY.items() if det.time_based]


def _counted(flags: pl.LazyFrame) -> pl.LazyFrame:
    """The flags a cluster may count: warn and above, not false positives, not clusters."""
    names = flags.collect_schema().names()
    keep = (pl.col("kind") != "flag_cluster") & pl.col("level").is_in(COUNTED_LEVELS) \
        & pl.col("store_id").is_not_null() & pl.col("occurred_at").is_not_null()
    if "resolution" in names:
        keep = keep & (pl.col("resolution") != "false_positive").fill_null(True)
    # a store-level flag (a day's surge) stands for itself: one subject per kind and day
    subject = pl.coalesce(pl.col("order_id"), pl.concat_str([pl.col("kind"), pl.lit("@"),
                                                             pl.col("occurred_at").dt.date().cast(pl.String)]))
    return flags.filter(keep).with_columns(subject.alias("_what"),
                                           pl.col("kind").is_in(_time_based()).alias("_timed"))


def _store_orders(ctx: DetectContext) -> pl.LazyFrame | None:
    """The stores' orders (store_id, occurred_at), or None when the context has none."""
    orders = ctx.orders
    if orders is None or not {"store_id", "created_at"} <= set(orders.collect_schema().names()):
        return None
    return orders.select("store_id", pl.col("created_at").alias("occurred_at")).drop_nulls()


def _common(flags: pl.LazyFrame, orders: pl.LazyFrame | None) -> pl.LazyFrame:
    """Flags with ``_common``: their kind flags at least COMMON_SHARE of the store's orders that
    day (at least COMMON_MIN_ORDERS of them) — a standing condition of the store or of what its
    export carries (every order lacking the same address part), one finding, not several."""
    if orders is None:
        return flags.with_columns(pl.lit(False).alias("_common"))
    day = pl.col("occurred_at").dt.date().alias("_day")
    per_day = orders.group_by("store_id", day).agg(pl.len().alias("_day_orders"))
    per_kind = flags.group_by("store_id", day, "kind").agg(pl.col("_what").n_unique().alias("_kind_orders"))
    common = (per_kind.join(per_day, on=["store_id", "_day"], how="inner")
              .filter((pl.col("_day_orders") >= COMMON_MIN_ORDERS)
                      & (pl.col("_kind_orders") >= COMMON_SHARE * pl.col("_day_orders")))
              .select("store_id", "_day", "kind", pl.lit(True).alias("_common")))
    return (flags.with_columns(day).join(common, on=["store_id", "_day", "kind"], how="left")
            .with_columns(pl.col("_common").fill_null(False)).drop("_day"))


def _orders_in_window(flags: pl.LazyFrame, orders: pl.LazyFrame | None, hours: int) -> pl.LazyFrame:
    """(store_id, occurred_at) of each flag -> the store's orders in the window ending then."""
    at = flags.select("store_id", "occurred_at").unique()
    if orders is None:
        return at.with_columns(pl.lit(None, pl.Int64).alias("store_orders"))
    both = pl.concat([orders.with_columns(pl.lit(1, pl.Int32).alias("_o")),
                      at.with_columns(pl.lit(0, pl.Int32).alias("_o"))]).sort("store_id", "occurred_at", "_o",
                                                                              descending=[False, False, True])
    counted = both.rolling(index_column="occurred_at", period=f"{hours}h", group_by="store_id").agg(
        pl.col("_o").sum().alias("store_orders"))
    return counted.group_by("store_id", "occurred_at").agg(pl.col("store_orders").max().cast(pl.Int64))


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    if ctx.flags is None:
        return pl.LazyFrame(schema=EMPTY)
    hours = int(p["window_hours"])
    orders = _store_orders(ctx)
    flags = _common(_counted(ctx.flags), orders).sort("store_id", "occurred_at")
    trouble = ~pl.col("_timed") & ~pl.col("_common")        # kinds that say something about this store
    windows = flags.rolling(index_column="occurred_at", period=f"{hours}h", group_by="store_id").agg(
        pl.col("_what").filter(~pl.col("_common")).n_unique().alias("orders_in_window"),
        pl.col("kind").filter(trouble).n_unique().alias("kinds_in_window"),
        pl.col("_what").filter((pl.col("level") == "critical") & ~pl.col("_common")).n_unique()
        .alias("critical_orders"),
        trouble.sum().alias("_untimed"),
        pl.col("kind").filter(trouble).unique().sort().str.join("、").alias("kinds"),
        pl.col("kind").filter(pl.col("_common")).unique().sort().str.join("、").alias("common_kinds"),
        pl.col("store_name").drop_nulls().last().alias("store_name"),
        pl.col("order_id").last().alias("order_id"),
    )
    return (
        windows.filter(pl.col("_untimed") > 0)
        .join(_orders_in_window(flags, orders, hours), on=["store_id", "occurred_at"], how="left")
        .sort("orders_in_window", "kinds_in_window", "occurred_at", descending=[True, True, True])
        .unique(subset=["store_id", pl.col("occurred_at").dt.date()], keep="first")
        .select(
            pl.concat_str([pl.lit("store_cluster:"), pl.col("store_id"), pl.lit(":"),
                           pl.col("occurred_at").dt.date().cast(pl.String)]).alias("subject"),
            "store_id", "store_name", "order_id", "occurred_at",
            pl.col("orders_in_window").cast(pl.Int64), pl.col("kinds_in_window").cast(pl.Int64),
            pl.col("critical_orders").cast(pl.Int64), pl.lit(hours).alias("window_hours"), "kinds",
            "store_orders",
            (pl.col("orders_in_window") / pl.col("store_orders")).alias("flagged_share"),
            pl.when(pl.col("common_kinds") != "").then(pl.col("common_kinds")).alias("common_kinds"),
        )
    )


DETECTOR = Detector(
    name="flag_cluster",
    title_zh="门店短时间内多种异常",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "store_day",
    compute=_compute,
    reason_zh=lambda p: ("门店{store_id}在{window_hours}小时内有{orders_in_window}个订单出现异常"
                         "（{kinds_in_window}种：{kinds}），请拓展部关注门店运营"),
    input="flags",
)
