"""The seeding workbench: the world's frames, what has been touched, and the truth so far.

Every anomaly family (``seed_lines``, ``seed_orders``) picks its victims here among orders
of established stores on ordinary days, never twice the same order or store-day, so one
seeded problem is never hidden behind another.  Each seeded anomaly is written down as a
truth row, with the flags it may legitimately cause besides its own (``consequence``):
those are neither true nor false positives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from .spec import WorldSpec

TRUTH_SCHEMA = {"kind": pl.String, "key": pl.String, "order_id": pl.String, "store_id": pl.String,
                "store_name": pl.String, "day": pl.Date, "role": pl.String, "detail": pl.String}
STORE_DAY_KINDS = ("store_day_surge",)


def truth_key(kind: str, order_id: str | None, store_id: str, day) -> str:
    """Orders and lines are judged per order; store-day volume per store and day."""
    return f"{store_id}|{day:%Y-%m-%d}" if kind in STORE_DAY_KINDS else str(order_id)


@dataclass
class Seeder:
    spec: WorldSpec
    orders: pl.DataFrame
    lines: pl.DataFrame
    catalog: pl.DataFrame
    assort: pl.DataFrame
    as_of: datetime
    rng: np.random.Generator
    truth: list[dict] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    taken_days: set[tuple[str, object]] = field(default_factory=set)
    stores: pl.DataFrame | None = None                      # the world's stores (for the store master)
    limits: dict[str, float] = field(default_factory=dict)  # store_id -> credit limit (bench.worlds.credit)

    def __post_init__(self) -> None:
        o = self.orders.sort("created_at", "order_id")
        self.lines = self.lines.sort("order_id", "line_no")
        normal = (pl.col("doc_type") == "order") & ~pl.col("state").is_in(["cancelled", "closed"])
        first = o.group_by("store_id").agg(pl.col("day").min().alias("_first"))
        self.orders = o.join(first, on="store_id", how="left", maintain_order="left").with_columns(
            pl.when(normal).then(pl.int_range(pl.len()).over("store_id", normal)).alias("prior"),
            (pl.col("day") - pl.col("_first")).dt.total_days().alias("age"),
        ).drop("_first")

    # -- choosing -----------------------------------------------------------------------
    def eligible(self, min_prior: int = 8, min_age: int = 14, extra: pl.Expr | None = None) -> pl.DataFrame:
        """Ordinary orders of established stores, not yet touched, not on a promotion day."""
        c = pl.col
        cond = ((c("doc_type") == "order") & ~c("state").is_in(["cancelled", "closed"])
                & c("kind").is_in(["main", "consumer"]) & ~c("promo")
                & (c("prior") >= min_prior) & (c("age") >= min_age)
                & ~c("order_id").is_in(list(self.taken)))
        if extra is not None:
            cond = cond & extra
        pool = self.orders.filter(cond)
        if self.taken_days:
            days = pl.DataFrame([{"store_id": s, "day": d} for s, d in self.taken_days])
            pool = pool.join(days, on=["store_id", "day"], how="anti")
        return pool

    def sample(self, pool: pl.DataFrame, n: int) -> pl.DataFrame:
        """``n`` orders of ``pool`` on distinct store-days, marked as taken."""
        pool = pool.sort("order_id").sample(fraction=1.0, shuffle=True, seed=int(self.rng.integers(0, 2**31)))
        pool = pool.unique(subset=["store_id", "day"], keep="first", maintain_order=True).head(n)
        self.taken.update(pool["order_id"].to_list())
        self.taken_days.update(zip(pool["store_id"].to_list(), pool["day"].to_list()))
        return pool

    def usual(self) -> dict[tuple[str, str], float]:
        return {(s, k): q for s, k, q in self.assort.select("store_id", "sku", "usual_qty").iter_rows()}

    # -- writing down -------------------------------------------------------------------
    def record(self, kind: str, row: dict, detail: str, role: str = "anomaly") -> None:
        self.truth.append({"kind": kind, "key": truth_key(kind, row["order_id"], row["store_id"], row["day"]),
                           "order_id": row["order_id"], "store_id": row["store_id"],
                           "store_name": row.get("store_name"), "day": row["day"], "role": role,
                           "detail": detail})

    def consequences(self, kinds: tuple[str, ...], row: dict, why: str) -> None:
        for k in kinds:
            self.record(k, row, f"consequence of {why}", role="consequence")

    # -- editing ------------------------------------------------------------------------
    def set_lines(self, mask: pl.Expr, **values: pl.Expr) -> None:
        self.lines = self.lines.with_columns(
            [pl.when(mask).then(v).otherwise(pl.col(k)).alias(k) for k, v in values.items()])

    def set_orders(self, ids: list[str], **values: object) -> None:
        hit = pl.col("order_id").is_in(ids)
        self.orders = self.orders.with_columns(
            [pl.when(hit).then(v if isinstance(v, pl.Expr) else pl.lit(v)).otherwise(pl.col(k)).alias(k)
             for k, v in values.items()])

    def add_copies(self, orders: pl.DataFrame, sources: list[str],
                   edit: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> None:
        """Append ``orders`` (rows that already carry their new numbers) with the lines of
        ``sources`` (``edit`` may change those lines), and mark them taken."""
        ids = orders["order_id"].to_list()
        lines = (self.lines.join(pl.DataFrame({"order_id": sources, "_new": ids}), on="order_id")
                 .with_columns(pl.col("_new").alias("order_id")).drop("_new"))
        self.lines = pl.concat([self.lines, edit(lines) if edit else lines]).sort("order_id", "line_no")
        blank = [pl.lit(None, dtype=self.orders.schema[c]).alias(c) for c in ("prior", "age")]
        self.orders = pl.concat([self.orders, orders.with_columns(blank).select(self.orders.columns)])
        self.taken.update(ids)

    def truth_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.truth, schema=TRUTH_SCHEMA)
