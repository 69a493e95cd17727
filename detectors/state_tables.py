"""Baselines as state: the compact tables detectors' baselines are computed from, and how a
scan's lines update them without re-reading the raw history.

Three line tables (and the judged store-days of ``detectors.volume_state``), each keyed by store so a batch reads only its stores' rows:

``sku_window``  per store × SKU the last ``sku_lines`` taught lines (``LINE_KEY``,
                ``created_at``, ``quantity``): what ``detectors.baselines.sku_usual`` takes
                the median of.  Kept at three times the rules' ``sku_window``: a batch line's
                pass-two usual needs the outlier marks of up to the last 2 × ``sku_window``
                lines, each mark the window before it (``detectors.volume_state``); a pair may
                lose lines to returns re-exported later and still hold what its window needs.
``store_days``  per store and business day (the ``days`` up to its newest) the additive aggregates of its active lines:
                ``day_qty``, ``day_lines``, ``day_amount`` (``detectors.baselines.store_days``).
                A day whose lines come in several scans adds up; a re-exported line's old
                version is subtracted before its new one is added.
``store_orders`` per store its last ``order_count`` active orders: ``created_at`` (first line),
                ``order_amount`` (the order's own total), ``line_sum`` (its lines' values) and
                ``n_active`` (active lines): ``order_value`` as ``detectors.common.prepare``
                defines it, what ``amount_spike`` takes the median and high quantile of.

Which lines teach is the detectors' own definition (``detectors.common.prepare``: ``active``,
``line_value``, ``day``), applied here to the batch; nothing else is re-derived.

Every function is DataFrame → DataFrame; :func:`build` computes the tables from raw lines
(``orderwatch history rebuild``) and :func:`advance` updates them with one scan's lines: the
property test (tests/test_baseline_state.py) holds the two equal over scans with re-exported
lines, returns and store-days that span scans.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.config import Config
from contracts.schema import LINE_KEY
from detectors import volume_state
from detectors.common import ordered_sum, prepare

PAIR = ["store_id", "sku"]
ORDER = ["source", "store_id", "order_id"]
DAY = ["store_id", "day"]

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "sku_window": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                   "line_no": pl.Int32(), "sku": pl.String(), "created_at": pl.Datetime("us"),
                   "quantity": pl.Float64()},
    "store_days": {"store_id": pl.String(), "day": pl.Date(), "day_qty": pl.Float64(),
                   "day_lines": pl.Int64(), "day_amount": pl.Float64()},
    "store_orders": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                     "created_at": pl.Datetime("us"), "order_amount": pl.Float64(),
                     "line_sum": pl.Float64(), "n_active": pl.Int64()},
}
TABLES = tuple(SCHEMAS)
#: every table the state keeps: the line tables above and the judged store-days
ALL_SCHEMAS: dict[str, dict[str, pl.DataType]] = {**SCHEMAS, **volume_state.SCHEMAS}


@dataclass(frozen=True)
class Bounds:
    """How much each table keeps (``history.state`` in config.yaml)."""
    sku_lines: int = 24      # per store × SKU: 3 × the rules' sku_window (8): marks of the last 16
    order_count: int = 120   # per store: 2 × amount_spike's window (60)
    days: int = 120          # store-days kept back from the newest (history.days)

    @classmethod
    def of(cls, config: Config) -> "Bounds":
        raw = config.get("history.state") or {}
        return cls(sku_lines=int(raw.get("sku_lines", cls.sku_lines)),
                   order_count=int(raw.get("order_count", cls.order_count)),
                   days=int(raw.get("days", config.history_days)))


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[name])


def _cast(df: pl.DataFrame, name: str) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) for c, t in SCHEMAS[name].items()])


def contributions(lines: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Each line with what it gives the state: ``active``, ``line_value``, ``day``, ``_taught``
    (an active line with a quantity: what volume baselines read)."""
    if lines.is_empty():
        lines = lines.clear()
    prepared = prepare(lines.lazy().with_columns(pl.lit(True).alias("_in_batch")), config)
    return prepared.with_columns(
        (pl.col("active") & pl.col("quantity").is_not_null()).alias("_taught")).collect()


def _day_sums(c: pl.DataFrame, sign: int) -> pl.DataFrame:
    taught = c.filter(pl.col("_taught"))
    return taught.group_by(DAY).agg(
        (ordered_sum("quantity") * sign).alias("day_qty"),
        (pl.len().cast(pl.Int64) * sign).alias("day_lines"),
        (ordered_sum("line_value") * sign).alias("day_amount"),
    )


def _order_parts(c: pl.DataFrame, sign: int) -> pl.DataFrame:
    return c.group_by(ORDER).agg(
        pl.col("created_at").min(),
        pl.col("order_amount").drop_nulls().first(),
        (ordered_sum("line_value") * sign).alias("line_sum"),
        (pl.col("active").sum().cast(pl.Int64) * sign).alias("n_active"),
    )


def _bound_windows(rows: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """The last ``sku_lines`` of each pair, in ``detectors.baselines.sku_usual``'s total order
    (ties of time broken by order and line)."""
    ordered = rows.sort([*PAIR, "created_at", "order_id", "line_no", "source"], nulls_last=True)
    # sorted by pair: a pair's rows are one run (rle_id), ~30 % less CPU than grouping by ``over(PAIR)``
    newer = pl.int_range(pl.len()).reverse().over(pl.struct(PAIR).rle_id())
    return ordered.filter(newer < b.sku_lines)


def _bound_orders(rows: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """Each store's last ``order_count`` active orders, and the inactive ones newer than the
    oldest of them (a later export may make them active again)."""
    active = (pl.col("n_active") > 0).cast(pl.Int64)
    newer = (active.cum_sum() - active).over("store_id")     # active orders newer than this one
    return (rows.sort(["store_id", "created_at", "order_id", "source"], descending=True, nulls_last=True)
            .filter(newer < b.order_count)
            .sort(["store_id", "created_at", "order_id", "source"], nulls_last=True))


def _bound_days(rows: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """Each store's days within ``days`` of its newest (per store: a scan that reads some
    stores bounds them exactly as a rebuild over all of them does)."""
    rows = rows.filter(pl.col("day_lines") > 0)
    newest = pl.col("day").max().over("store_id")
    return rows.filter(pl.col("day") > newest - pl.duration(days=b.days)).sort(DAY)


def build(lines: pl.DataFrame, config: Config, b: Bounds | None = None) -> dict[str, pl.DataFrame]:
    """The three tables computed from raw lines (one version of each line: the newest)."""
    return build_from(contributions(lines, config), b or Bounds.of(config))


def build_from(c: pl.DataFrame, b: Bounds) -> dict[str, pl.DataFrame]:
    """:func:`build` of lines' :func:`contributions` (computed once for every table of a bucket)."""
    window = c.filter(pl.col("_taught")).select(list(SCHEMAS["sku_window"]))
    return {
        "sku_window": _cast(_bound_windows(window, b), "sku_window"),
        "store_days": _cast(_bound_days(_cast(_day_sums(c, 1), "store_days"), b), "store_days"),
        "store_orders": _cast(_bound_orders(_cast(_order_parts(c, 1), "store_orders"), b), "store_orders"),
    }


def advance(state: dict[str, pl.DataFrame], new: pl.DataFrame, old: pl.DataFrame, config: Config,
            b: Bounds | None = None) -> dict[str, pl.DataFrame]:
    """The tables after one scan: ``new`` are its lines history did not hold in this content,
    ``old`` the stored versions they replace (same ``LINE_KEY``; empty for new lines).

    ``state`` holds the rows of (at least) the stores in ``new``; the result replaces them.
    """
    return advance_from(state, contributions(new, config), contributions(old, config), b or Bounds.of(config))


def advance_from(state: dict[str, pl.DataFrame], cn: pl.DataFrame, co: pl.DataFrame,
                 b: Bounds) -> dict[str, pl.DataFrame]:
    """:func:`advance` of the new lines' and old versions' :func:`contributions`."""
    keys = cn.select([pl.col(k).cast(SCHEMAS["sku_window"][k]) for k in LINE_KEY]).unique()
    taught = _cast(cn.filter(pl.col("_taught")), "sku_window")
    kept = state["sku_window"].join(keys, on=list(LINE_KEY), how="anti", nulls_equal=True)
    # only pairs that gained a line can exceed their bound: the others are not re-sorted
    grown = taught.select(PAIR).unique()
    window = pl.concat([kept.join(grown, on=PAIR, how="semi", nulls_equal=True), taught])
    still = kept.join(grown, on=PAIR, how="anti", nulls_equal=True)
    days = (pl.concat([state["store_days"], _cast(_day_sums(cn, 1), "store_days"),
                       _cast(_day_sums(co, -1), "store_days")])
            .group_by(DAY).agg(pl.col("day_qty", "day_lines", "day_amount").sum()))
    parts = pl.concat([_cast(_order_parts(co, -1), "store_orders").with_columns(
                           pl.lit(None, pl.Datetime("us")).alias("created_at"),
                           pl.lit(None, pl.Float64).alias("order_amount")),
                       state["store_orders"], _cast(_order_parts(cn, 1), "store_orders")])
    orders = parts.group_by(ORDER, maintain_order=True).agg(
        pl.col("created_at").min(),
        pl.col("order_amount").drop_nulls().last(),     # the newest version's total
        pl.col("line_sum").sum(), pl.col("n_active").sum())
    return {
        "sku_window": pl.concat([still, _cast(_bound_windows(window, b), "sku_window")]),
        "store_days": _cast(_bound_days(_cast(days, "store_days"), b), "store_days"),
        "store_orders": _cast(_bound_orders(_cast(orders, "store_orders"), b), "store_orders"),
    }


def order_values(orders: pl.DataFrame) -> pl.DataFrame:
    """``store_orders`` as the orders amount baselines read: active orders with ``order_value``
    (the order's own total, else its lines' values), oldest first per store."""
    return (orders.filter(pl.col("n_active") > 0)
            .with_columns(pl.coalesce("order_amount", "line_sum").alias("order_value"))
            .sort(["store_id", "created_at", "order_id"]))


__all__ = ["ALL_SCHEMAS", "Bounds", "SCHEMAS", "TABLES", "advance", "advance_from", "build", "build_from", "contributions", "empty", "order_values"]
