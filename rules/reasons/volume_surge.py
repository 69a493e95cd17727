"""Reasons of ``volume_surge``: a store's day against its own same weekdays (or its recent
days), by the measure that stood out — the day in usual lines, or each line's size against its
usual — and a line against the usual quantity of that product ("an extra zero" only when the
quantity has that shape).  The ``day.warn``/``day.critical``/``day.promo`` sentences are kept
for flags stored before the weekday baseline."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_
from rules.reasons import near_power_of_ten

TEMPLATES = {
    "line.extra_zero": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                          "{basis:baseline} of {usual_qty} — it looks like a zero too many was typed."),
    "line.critical": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                        "{basis:baseline} of {usual_qty} — far beyond a normal order; check with the store "
                        "before it is picked."),
    "line.warn": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                    "{basis:baseline} of {usual_qty}."),
    "day.weekday": N_("Store {store_id} ordered {day_qty} units in {day_lines} lines on {day:day}, a "
                      "{weekday:weekday}: {qty_index:ratio} usual lines' worth, {adj_ratio:ratio} times the "
                      "median of its last {same_weekdays:int} {weekday:weekdays}[[, net of a platform-wide "
                      "{platform_factor:ratio} times that day]]."),
    "day.recent": N_("Store {store_id} ordered {day_qty} units in {day_lines} lines on {day:day}: "
                     "{qty_index:ratio} usual lines' worth, {adj_ratio:ratio} times its usual day over its "
                     "last {history_days:int} ordering days[[, net of a platform-wide {platform_factor:ratio} "
                     "times that day]]."),
    "day.weekday_lines": N_("Store {store_id} ordered {day_lines} lines on {day:day}, a {weekday:weekday}, "
                            "each about {line_index:ratio} times its usual quantity of the product: "
                            "{adj_ratio:ratio} times the median of its last {same_weekdays:int} "
                            "{weekday:weekdays}[[, net of a platform-wide {platform_factor:ratio} times that day]]."),
    "day.recent_lines": N_("Store {store_id} ordered {day_lines} lines on {day:day}, each about "
                           "{line_index:ratio} times its usual quantity of the product: {adj_ratio:ratio} "
                           "times its usual over its last {history_days:int} ordering days[[, net of a "
                           "platform-wide {platform_factor:ratio} times that day]]."),
    "day.critical": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                       "{qty_ratio:ratio} times its usual day of {baseline_qty} — far above its own rhythm."),
    "day.warn": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                   "{qty_ratio:ratio} times its usual day of {baseline_qty}."),
    "day.promo": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                    "{qty_ratio:ratio} times its usual day of {baseline_qty}; all stores ordered "
                    "{platform_factor:ratio} times their usual that day, so net of that it is "
                    "{adj_ratio:ratio} times."),
}


#: a day sentence whose figures are missing falls back to the one that needs fewer
FALLBACKS = {"day.weekday": "day.recent", "day.weekday_lines": "day.recent_lines",
             "day.recent_lines": "day.recent", "day.recent": "day.warn"}


def _day(row: dict[str, Any], level: str) -> tuple[str, dict[str, Any]]:
    keys = ("store_id", "day_qty", "day_lines", "qty_index", "line_index", "adj_ratio", "same_weekdays",
            "history_days", "weekday", "qty_ratio", "baseline_qty")
    args = {k: row.get(k) for k in keys}
    args["day"] = row.get("occurred_at")
    factor = row.get("platform_factor")
    if factor is not None and factor >= 1.2:     # a promotion-like day: say what was netted out
        args["platform_factor"] = factor
    lines = "_lines" if row.get("measure") == "line_index" else ""
    weekly = (row.get("same_weekdays") or 0) > 0
    return f"day.{'weekday' if weekly else 'recent'}{lines}", args


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if params.get("scope") == "day":
        return _day(row, level)
    args = {k: row.get(k) for k in ("order_id", "sku", "quantity", "qty_ratio", "usual_qty")}
    args["basis"] = row.get("baseline")
    if near_power_of_ten(row.get("qty_ratio")) or (row.get("zero_shape") == 1 and (row.get("qty_ratio") or 0) >= 5):
        return "line.extra_zero", args
    return ("line.critical" if level == "critical" else "line.warn"), args


_DAY_KEYS = ("store_id", "day_qty", "day_lines", "qty_index", "line_index", "adj_ratio", "same_weekdays",
             "history_days", "weekday", "qty_ratio", "baseline_qty")


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    if params.get("scope") == "day":
        args = {k: c(k) for k in _DAY_KEYS}
        args["day"] = c("occurred_at")
        args["platform_factor"] = c("platform_factor")
        present = {"platform_factor": c.or0("platform_factor", ">=", 1.2) & ~c.null("platform_factor")}
        weekly = pl.when(c.or0("same_weekdays", ">", 0)).then(pl.lit("day.weekday")).otherwise(pl.lit("day.recent"))
        lines = pl.when(c.eq("measure", "line_index")).then(pl.lit("_lines")).otherwise(pl.lit(""))
        return pl.concat_str([weekly, lines]), args, present
    args = {k: c(k) for k in ("order_id", "sku", "quantity", "qty_ratio", "usual_qty")}
    args["basis"] = c("baseline")
    zero = c.near_power_of_ten("qty_ratio") | (c.eq("zero_shape", 1) & c.or0("qty_ratio", ">=", 5))
    key = (pl.when(zero).then(pl.lit("line.extra_zero"))
           .when(pl.col("level") == "critical").then(pl.lit("line.critical")).otherwise(pl.lit("line.warn")))
    return key, args, {}
