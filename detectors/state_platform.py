"""Baselines as state for the detectors other than volume: platform references, what each
source carries, and each store's open cash-on-delivery orders.

Five tables, with the contract of ``detectors.state_tables`` (:func:`build` from raw lines,
:func:`advance` with one scan's new lines and the stored versions they replace):

``platform_orders`` the platform's newest ``platform_orders`` active orders (every store), as
                   ``store_orders`` keeps a store's: what ``amount_spike``'s cohort figures (the
                   platform's median and high quantile order amount) are taken over.  Read whole.
``sku_prices``     per SKU the newest ``sku_prices`` priced active lines (every store): what
                   ``price_deviation``'s platform median price is taken over.  Read whole.
``sku_quantities`` per SKU the newest ``sku_quantities`` taught lines (active, with a quantity;
                   every store): what ``line_qty_outlier``'s platform usual of the SKU (and the
                   platform's usual line) are taken over (``detectors.line_refs``).  Read whole.
``source_fields``  per source and canonical field (and ``state:<s>``, and ``*`` for any line)
                   the newest time a line carried it (``detectors.needs.presence``), and
                   ``cod_settles``: the newest cash-on-delivery line showing a settlement
                   (``credit_limit``: a source that never shows one cannot say what is open).
``cod_orders``     per store its standing cash-on-delivery orders still open at its newest one
                   (``credit_limit``'s exposure): value, creation, settlement.  Keyed by store.

Why bounded windows and not everything in ``history.days``: a median over a quarter of every
store's orders cannot be updated without re-reading them.  The detectors' own definitions are
bounded the same way (``amount_spike.platform_orders``, ``price_deviation.platform_lines``,
``volume_surge.platform_lines``), so
raw and state computations are one definition; each table keeps twice what the rules read, so a
window survives half of it being withdrawn by later re-exports.

Where it is not exact (stated, tested where it matters): a field only ever carried by lines that a
later export re-sends without it stays present; a cash-on-delivery order whose lines are
re-exported in part is judged by the re-exported ones; a batch older than its store's newest
cash-on-delivery order may miss orders closed before that one.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.config import Config
from contracts.schema import CANONICAL, LINE_KEY, UNWOUND_STATES
from detectors.common import OKEY
from detectors.common import ordered_sum
from detectors.state_tables import ORDER, contributions

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "platform_orders": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                        "created_at": pl.Datetime("us"), "order_amount": pl.Float64(),
                        "line_sum": pl.Float64(), "n_active": pl.Int64()},
    "sku_prices": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                   "line_no": pl.Int32(), "sku": pl.String(), "created_at": pl.Datetime("us"),
                   "unit_price": pl.Float64()},
    "sku_quantities": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                       "line_no": pl.Int32(), "sku": pl.String(), "created_at": pl.Datetime("us"),
                       "quantity": pl.Float64()},
    "source_fields": {"source": pl.String(), "field": pl.String(), "last_seen": pl.Datetime("us")},
    "cod_orders": {"source": pl.String(), "store_id": pl.String(), "order_id": pl.String(),
                   "created_at": pl.Datetime("us"), "order_value": pl.Float64(),
                   "settled_at": pl.Datetime("us"), "settled_state": pl.Boolean()},
}
TABLES = tuple(SCHEMAS)
#: the tables keyed by store (read for a batch's stores); the others are read whole
STORE_TABLES = ("cod_orders",)
#: fields presence ignores (``detectors.needs._IGNORED``), and the pseudo-fields kept here
PRESENCE_IGNORED = ("source", "line_no", "state")
ANY_LINE, COD_SETTLES = "*", "cod_settles"
SETTLED_STATES = ("delivered", "completed")


@dataclass(frozen=True)
class Bounds:
    """How much each table keeps (``history.state`` in config.yaml): twice what rules read."""
    platform_orders: int = 100_000   # 2 × amount_spike.platform_orders (50,000)
    sku_prices: int = 400            # 2 × price_deviation.platform_lines (200), per SKU
    cod_days: int = 60               # 2 × credit_limit.exposure_days (30): an order counts no longer
    sku_quantities: int = 400        # 2 × volume_surge.platform_lines (200), per SKU

    @classmethod
    def of(cls, config: Config) -> "Bounds":
        raw = config.get("history.state") or {}
        return cls(platform_orders=int(raw.get("platform_orders", cls.platform_orders)),
                   sku_prices=int(raw.get("sku_prices", cls.sku_prices)),
                   cod_days=int(raw.get("cod_days", cls.cod_days)),
                   sku_quantities=int(raw.get("sku_quantities", cls.sku_quantities)))


def _cast(df: pl.DataFrame, name: str) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) for c, t in SCHEMAS[name].items()])


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[name])


# -- the newest-first orders and lines the platform references are taken over ------------------
NEWEST_ORDERS = ["created_at", "order_id", "source", "store_id"]
NEWEST_LINES = ["created_at", "order_id", "line_no", "source", "store_id"]


def newest_orders(orders: pl.LazyFrame | pl.DataFrame, n: int) -> pl.LazyFrame:
    """The newest ``n`` of ``orders`` (a total order: ties of time broken by order, source, store)."""
    return orders.lazy().top_k(n, by=NEWEST_ORDERS)


def _order_parts(c: pl.DataFrame, sign: int) -> pl.DataFrame:
    """Per order (``store_orders``' columns) its lines' part, ``sign`` -1 to withdraw them;
    grouped on the order's hash (``detectors.common.OKEY``), several times faster than on its keys."""
    return c.lazy().group_by(OKEY).agg(
        pl.col(*ORDER).first(),
        pl.col("created_at").min(),
        pl.col("order_amount").drop_nulls().first(),
        (ordered_sum("line_value") * sign).alias("line_sum"),
        (pl.col("active").sum().cast(pl.Int64) * sign).alias("n_active"),
    ).drop(OKEY).collect()


def _bound_platform_orders(rows: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """The newest ``platform_orders`` active orders, and inactive ones newer than the oldest of them."""
    active = (pl.col("n_active") > 0).cast(pl.Int64)
    newer = active.cum_sum() - active
    return (rows.sort(NEWEST_ORDERS, descending=True, nulls_last=True)
            .filter(newer < b.platform_orders).sort(NEWEST_ORDERS, nulls_last=True))


def _priced(c: pl.DataFrame) -> pl.DataFrame:
    """The lines price references read: active, with a unit price (``price_deviation``)."""
    return (c.lazy().select(*SCHEMAS["sku_prices"], "active")
            .filter(pl.col("active") & (pl.col("unit_price") >= 0)).drop("active").collect())


def _bound_per_sku(rows: pl.DataFrame, n: int) -> pl.DataFrame:
    """Each SKU's newest ``n`` lines, and lines as new as the last of them (ties of time all
    kept: the set does not depend on the order lines were read in)."""
    # kept: a line no older than its SKU's n-th newest time (ties counted) — rank("min") <= n —
    # found per SKU by a top-k and a join instead of a rank over the SKU and a sort (~4x less CPU);
    # the rows keep their order (every reader takes its newest lines by a total order, not by position)
    cut = rows.lazy().group_by("sku").agg(pl.col("created_at").top_k(n).min().alias("_cut"))
    return (rows.lazy().join(cut, on="sku", how="left", nulls_equal=True, maintain_order="left")
            .filter(pl.col("created_at") >= pl.col("_cut")).drop("_cut").collect())


def _taught(c: pl.DataFrame) -> pl.DataFrame:
    """The lines quantity references read: active, with a quantity (``state_tables``' ``_taught``)."""
    return c.lazy().filter(pl.col("_taught")).select(*SCHEMAS["sku_quantities"]).collect()


# -- what a source carries ---------------------------------------------------------------------
def _fields_seen(c: pl.DataFrame) -> pl.DataFrame:
    """(source, field, last_seen): the newest time a line of the source carried each field."""
    if c.is_empty():
        return empty("source_fields")
    cols = [f for f in CANONICAL if f in c.columns and f not in PRESENCE_IGNORED]
    at = pl.col("created_at")
    per = c.lazy().select("source", *cols).group_by("source").agg(     # lazily: several times faster
        at.max().alias(ANY_LINE), *[pl.when(pl.col(f).is_not_null()).then(at).max().alias(f) for f in cols])
    fields = per.collect().unpivot(index="source", variable_name="field", value_name="last_seen")
    states = (c.lazy().select("source", "state", "created_at").filter(pl.col("state").is_not_null())
              .group_by("source", pl.concat_str(pl.lit("state:"), pl.col("state")).alias("field"))
              .agg(at.max().alias("last_seen")).collect())
    settles = (c.lazy().select("source", "created_at", pl.col("is_cod") & settles_shown())
               .filter(pl.col("is_cod")).group_by("source").agg(at.max().alias("last_seen"))
               .with_columns(pl.lit(COD_SETTLES).alias("field")).collect())
    out = pl.concat([_cast(fields, "source_fields"), _cast(states, "source_fields"), _cast(settles, "source_fields")])
    return out.filter(pl.col("last_seen").is_not_null())


def _merge_fields(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return (pl.concat(frames).group_by("source", "field").agg(pl.col("last_seen").max())
            .sort("source", "field", nulls_last=True))


# -- cash-on-delivery orders -------------------------------------------------------------------
def settles_shown() -> pl.Expr:
    """A line showing that its order was settled: a delivery, completion or payment time, or a
    delivered or completed state (``credit_limit``: a source none of whose cash-on-delivery
    lines ever shows one cannot say which orders are still open)."""
    return (pl.coalesce("delivered_at", "completed_at", "paid_at").is_not_null()
            | pl.col("state").is_in(SETTLED_STATES).fill_null(False))


def _standing(c: pl.DataFrame) -> pl.DataFrame:
    """One row per active cash-on-delivery order not unwound (``credit_limit._standing``)."""
    cod = c.lazy().filter(pl.col("is_cod"))
    return (cod.group_by(OKEY).agg(     # on the order's hash: several times faster than on its keys
        pl.col(*ORDER).first(),
        pl.col("created_at").min(),
        pl.col("order_value").first(),
        pl.col("active").sum().alias("_n"),
        pl.coalesce("delivered_at", "completed_at", "paid_at").min().alias("settled_at"),
        pl.col("state").is_in(SETTLED_STATES).any().alias("settled_state"),
        pl.col("state").is_in(UNWOUND_STATES).fill_null(False).all().alias("_unwound"))
        .filter((pl.col("_n") > 0) & ~pl.col("_unwound")).drop(OKEY, "_n", "_unwound").collect())


def _open_cod(rows: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """The orders still open at their store's newest one: an order closed before it never
    counts again for a batch of that time or later (``credit_limit._exposure``)."""
    end = pl.min_horizontal(
        pl.when(pl.col("settled_at").is_not_null()).then(pl.col("settled_at"))
        .when(pl.col("settled_state")).then(pl.col("created_at")),
        pl.col("created_at") + pl.duration(days=b.cod_days))
    return (rows.filter(end > pl.col("created_at").max().over("store_id"))
            .sort("store_id", "created_at", "order_id", "source", nulls_last=True))


# -- build and advance -------------------------------------------------------------------------
def built_part(c: pl.DataFrame, b: Bounds) -> dict[str, pl.DataFrame]:
    """The five tables of some stores' contributions (``state_tables.contributions``), each
    platform table already bounded: the bound of the union of such parts (:func:`merge_built`)
    is the bound of all stores together (an order lies in one store; a line newer than a SKU's
    ``sku_prices`` newest of its part is newer than them all)."""
    return {
        "platform_orders": _cast(_bound_platform_orders(_cast(_order_parts(c, 1), "platform_orders"), b),
                                 "platform_orders"),
        "sku_prices": _cast(_bound_per_sku(_cast(_priced(c), "sku_prices"), b.sku_prices), "sku_prices"),
        "sku_quantities": _cast(_bound_per_sku(_cast(_taught(c), "sku_quantities"), b.sku_quantities),
                                "sku_quantities"),
        "source_fields": _merge_fields([_fields_seen(c)]),
        "cod_orders": _cast(_open_cod(_cast(_standing(c), "cod_orders"), b), "cod_orders"),
    }


def merge_built(parts: list[dict[str, pl.DataFrame]], b: Bounds) -> dict[str, pl.DataFrame]:
    """The platform tables of several disjoint store sets' :func:`built_part` (a bucketed build)."""
    def union(t: str) -> pl.DataFrame:
        return pl.concat([p[t] for p in parts]) if parts else empty(t)
    return {
        "platform_orders": _bound_platform_orders(union("platform_orders"), b),
        "sku_prices": _cast(_bound_per_sku(union("sku_prices"), b.sku_prices), "sku_prices"),
        "sku_quantities": _cast(_bound_per_sku(union("sku_quantities"), b.sku_quantities), "sku_quantities"),
        "source_fields": _merge_fields([union("source_fields")]),
    }


def build(lines: pl.DataFrame, config: Config, b: Bounds | None = None) -> dict[str, pl.DataFrame]:
    """The five tables computed from raw lines (one version of each line: the newest)."""
    return built_part(contributions(lines, config), b or Bounds.of(config))


def advance_platform(state: dict[str, pl.DataFrame], cn: pl.DataFrame, co: pl.DataFrame,
                     b: Bounds) -> dict[str, pl.DataFrame]:
    """The four platform tables after one scan (``cn``, ``co``: the contributions of its new
    and changed lines and of the stored versions they replace); ``state``: the tables whole."""
    keys = cn.select([pl.col(k).cast(SCHEMAS["sku_prices"][k]) for k in LINE_KEY]).unique()
    prices = pl.concat([state["sku_prices"].join(keys, on=list(LINE_KEY), how="anti", nulls_equal=True),
                        _cast(_priced(cn), "sku_prices")])
    quantities = pl.concat([state["sku_quantities"].join(keys, on=list(LINE_KEY), how="anti", nulls_equal=True),
                            _cast(_taught(cn), "sku_quantities")])
    parts = pl.concat([_cast(_order_parts(co, -1), "platform_orders").with_columns(
                           pl.lit(None, pl.Datetime("us")).alias("created_at"),
                           pl.lit(None, pl.Float64).alias("order_amount")),
                       state["platform_orders"], _cast(_order_parts(cn, 1), "platform_orders")])
    orders = parts.group_by(ORDER, maintain_order=True).agg(
        pl.col("created_at").min(), pl.col("order_amount").drop_nulls().last(),
        pl.col("line_sum").sum(), pl.col("n_active").sum())
    return {
        "platform_orders": _cast(_bound_platform_orders(_cast(orders, "platform_orders"), b), "platform_orders"),
        "sku_prices": _cast(_bound_per_sku(prices, b.sku_prices), "sku_prices"),
        "sku_quantities": _cast(_bound_per_sku(quantities, b.sku_quantities), "sku_quantities"),
        "source_fields": _merge_fields([state["source_fields"], _fields_seen(cn)]),
    }


def advance_cod(cod: pl.DataFrame, cn: pl.DataFrame, b: Bounds) -> pl.DataFrame:
    """``cod_orders`` of some stores after one scan: an order's standing is judged again from its
    re-sent lines (an order is exported whole); ``cod``: those stores' stored rows."""
    touched = cn.select([pl.col(k).cast(SCHEMAS["cod_orders"][k]) for k in ORDER]).unique()
    rows = pl.concat([cod.join(touched, on=ORDER, how="anti", nulls_equal=True), _cast(_standing(cn), "cod_orders")])
    return _cast(_open_cod(rows, b), "cod_orders")


def advance(state: dict[str, pl.DataFrame], new: pl.DataFrame, old: pl.DataFrame, config: Config,
            b: Bounds | None = None) -> dict[str, pl.DataFrame]:
    """The tables after one scan (``new``: its new and changed lines; ``old``: the stored
    versions they replace).  ``state``: the whole platform tables and ``cod_orders`` of (at
    least) the stores in ``new``."""
    b = b or Bounds.of(config)
    cn, co = contributions(new, config), contributions(old, config)
    return {**advance_platform(state, cn, co, b), "cod_orders": advance_cod(state["cod_orders"], cn, b)}


__all__ = ["ANY_LINE", "Bounds", "COD_SETTLES", "SCHEMAS", "SETTLED_STATES", "settles_shown", "STORE_TABLES", "TABLES",
           "advance", "advance_cod", "advance_platform", "build", "built_part", "empty", "merge_built",
           "newest_orders"]
