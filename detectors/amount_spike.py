"""amount_spike: an order's amount far above the store's own history.

The store's usual is robust statistics of its previous ``window`` active orders (at least
``min_history`` of them): their median (``baseline_amount``), their ``high_quantile``
(``store_high``: what the store orders on a big day, so a store whose orders vary a lot is not
flagged for its usual big ones), and the median absolute deviation as the spread
(``amount_z``).  A store with less history is judged against its cohort, the platform: the
median order amount of the platform's newest ``platform_orders`` active orders (every store's,
history and batch: ``platform_amount``) and its ``high_quantile`` (``platform_high``), so a first
order of a fortune is not waved through while a new store's stocking order (a few times a
normal one) is.  The cohort is the newest orders and not the whole history window so that it
can be kept as state (``detectors.state_platform``): a median over every order of a quarter
cannot be updated without re-reading them.

In state mode (``ctx.state``) a store's past orders come from ``store_orders`` and the cohort's
from ``platform_orders``; the orders of ``ctx.lines`` (the batch and its store-days) replace
their stored rows.  Exact while a store keeps its 60 orders before the batch in the state.

No money amount is absolute here or in the rules: an amount is material when it is large
against the platform's own orders (``platform_ratio``), whatever the currency or scale of the
business.  What a cash-on-delivery order may reach is a limit per store
(``detectors.credit_limit``), not here.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.config import Config
from detectors.base import DetectContext, Detector, Parts
from detectors.common import order_subject
from detectors.state_platform import newest_orders
from detectors.state_tables import order_values

FEATURES = {
    "order_amount": "订单金额",
    "baseline_amount": "门店历史订单金额中位数",
    "amount_ratio": "订单金额 / 门店基线",
    "store_high": "门店历史订单金额高位数（high_quantile 分位）",
    "high_ratio": "订单金额 / 门店历史高位数",
    "amount_z": "稳健 z 分数（中位数与 MAD）",
    "history_orders": "基线所用历史订单数",
    "platform_amount": "全平台订单金额中位数",
    "platform_ratio": "订单金额 / 全平台中位数",
    "platform_high": "全平台订单金额高位数（high_quantile 分位）",
    "platform_high_ratio": "订单金额 / 全平台高位数",
    "comparison": "与基线比较的文字说明",
}
PARAMS: dict[str, Any] = {"window": 60, "min_history": 5, "high_quantile": 0.95, "platform_orders": 50_000}
ORDER = ["source", "store_id", "order_id"]


def _check(p: dict[str, Any], config: Config) -> list[tuple[str, str]]:
    q = float(p["high_quantile"])
    out = [] if 0.5 <= q < 1.0 else [("high_quantile", "must be at least 0.5 and below 1 (0.95: the store's big days)")]
    if int(p["min_history"]) < 2:
        out.append(("min_history", "must be at least 2: a median of one order is no usual"))
    if int(p["window"]) < int(p["min_history"]):
        out.append(("window", "must be at least min_history"))
    if int(p["platform_orders"]) < int(p["min_history"]):
        out.append(("platform_orders", "must be at least min_history: the cohort is that many orders"))
    return out


def _with_state(ctx: DetectContext, current: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """``current`` (orders of ``ctx.lines``) and, in state mode, the stored orders of ``table``
    inside the history window that ``ctx.lines`` does not hold (its version replaces theirs)."""
    if ctx.state is None:
        return current
    past = (order_values(ctx.past_state(table).collect()).lazy()
            .join(ctx.orders.select(ORDER), on=ORDER, how="anti", nulls_equal=True)
            .select(*ORDER, "created_at", "order_value", pl.lit(False).alias("_in_batch")))
    return pl.concat([past, current], how="diagonal_relaxed")


def _cohort(n: int, q: float) -> Parts:
    """The platform's median and ``q`` quantile order amount over its newest ``n`` active orders
    (the newest ``n`` of every store group's newest ``n``)."""
    def part(c: DetectContext) -> pl.LazyFrame:
        current = c.orders.filter(pl.col("n_active") > 0).select(*ORDER, "created_at", "order_value")
        return newest_orders(_with_state(c, current, "platform_orders"), n).select(*ORDER, "created_at", "order_value")

    def merge(parts: pl.LazyFrame) -> pl.LazyFrame:
        return newest_orders(parts, n).select(
            pl.col("order_value").median().alias("platform_amount"),
            pl.col("order_value").quantile(q, interpolation="linear").alias("platform_high"))
    return Parts(part, merge)


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    w, min_h, q = int(p["window"]), int(p["min_history"]), float(p["high_quantile"])
    prev = pl.col("_prev")
    current = ctx.orders.filter(pl.col("n_active") > 0).select(*ORDER, "store_name", "created_at", "order_value",
                                                                "_in_batch")
    orders = (
        _with_state(ctx, current, "store_orders")
        .with_columns(pl.col("order_value").alias("order_amount"))
        .sort("store_id", "created_at", "order_id")
        .with_columns(pl.col("order_amount").shift(1).over("store_id").alias("_prev"))
        .with_columns(
            prev.rolling_median(w, min_samples=min_h).over("store_id").alias("baseline_amount"),
            prev.rolling_quantile(q, window_size=w, min_samples=min_h, interpolation="linear")
            .over("store_id").alias("store_high"),
            pl.int_range(pl.len()).over("store_id").clip(upper_bound=w).alias("history_orders"),
        )
        .with_columns((prev - pl.col("baseline_amount")).abs()
                      .rolling_median(w, min_samples=min_h).over("store_id").alias("_mad"))
        # the cohort of a store without history: every store's newest orders (over all partitions)
        .join(ctx.platform("order_amount", _cohort(int(p["platform_orders"]), q)), how="cross")
    )
    # the spread never below a tenth of the usual: a store ordering the same amount every day
    # has a MAD of zero, and a few percent more is no anomaly
    scale = pl.max_horizontal(1.4826 * pl.col("_mad"), 0.1 * pl.col("baseline_amount"))
    store_part = pl.format("是门店历史中位数{}的{}倍、历史高位数{}的{}倍", pl.col("baseline_amount").round(2),
                           (pl.col("order_amount") / pl.col("baseline_amount")).round(1),
                           pl.col("store_high").round(2), (pl.col("order_amount") / pl.col("store_high")).round(1))
    platform_part = pl.format("全平台订单金额中位数{}的{}倍", pl.col("platform_amount").round(2),
                              (pl.col("order_amount") / pl.col("platform_amount")).round(1))
    comparison = (
        pl.when(pl.col("baseline_amount").is_not_null())
        .then(pl.concat_str([store_part, platform_part], separator="，"))
        .otherwise(pl.concat_str([pl.lit("门店历史不足"), platform_part], separator="，"))
    )
    return orders.filter(pl.col("_in_batch")).select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("created_at").alias("occurred_at"),
        "order_amount", "baseline_amount",
        (pl.col("order_amount") / pl.col("baseline_amount")).alias("amount_ratio"),
        "store_high",
        (pl.col("order_amount") / pl.col("store_high")).alias("high_ratio"),
        ((pl.col("order_amount") - pl.col("baseline_amount")) / scale).alias("amount_z"),
        "history_orders", "platform_amount",
        (pl.col("order_amount") / pl.col("platform_amount")).alias("platform_ratio"),
        "platform_high",
        (pl.col("order_amount") / pl.col("platform_high")).alias("platform_high_ratio"),
        comparison.alias("comparison"),
    )


DETECTOR = Detector(
    name="amount_spike",
    title_zh="订单金额异常",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: "门店{store_id}订单{order_id}金额{order_amount:,.2f}，{comparison}",
    needs=lambda p: (("order_amount", "line_amount", "unit_price"),),
    check=_check,
    from_state=lambda p, state: "store_orders" in state,
)
