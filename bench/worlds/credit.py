"""Credit limits: the store master (门店档案) a world's platform keeps, and stores over their limit.

A platform agrees a cash-on-delivery credit limit with each store that pays that way, well
above what the store normally owes: 1.5-3 times the most it ever had open (rounded up to a
thousand), so normal trading never reaches it.  Seeded (``credit_limit``): a store whose limit
is set below what it owes at one of its still-open cash-on-delivery orders — and above what it
owes at any other open order — so that order, and only it, takes the store over.  What a store
owes at an order: the value of its cash-on-delivery orders created by then and not yet
delivered (nor cancelled), this one included, each for at most 30 days — as the export shows it
(a delivered state without a delivery time: never owed; times at the export's resolution).  Seeded anomalies of
other kinds that take their store over its limit are written down as consequences.

The master is written in each system's own words (``MASTERS``): a distributor's 客户档案 in GBK,
a chain's 门店档案.xlsx, a Shopify B2B company list, a 聚水潭-style 店铺资料.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from .seed_base import Seeder

EXPOSURE_DAYS = 30


@dataclass(frozen=True)
class Master:
    file_name: str
    fmt: str                              # csv | xlsx
    encoding: str
    columns: tuple[tuple[str, str], ...]  # (header, field of the stores frame)


MASTERS: dict[str, Master] = {
    "grasp_sales": Master("客户档案.csv", "csv", "gbk", (
        ("客户编号", "store_id"), ("客户名称", "store_name"), ("所属片区", "province"), ("信用额度", "credit_limit"),
        ("联系人", "consignee"), ("联系电话", "phone"))),
    "requisition_xlsx": Master("门店档案.xlsx", "xlsx", "utf-8", (
        ("门店编码", "store_id"), ("门店名称", "store_name"), ("大区", "province"), ("赊销额度(元)", "credit_limit"),
        ("店长", "consignee"), ("店长电话", "phone"))),
    "shopify_orders": Master("companies_export.csv", "csv", "utf-8", (
        ("Company Name", "store_name"), ("Main Contact Email", "store_id"), ("Region", "province"),
        ("Credit Limit (USD)", "credit_limit"), ("Main Contact", "consignee"), ("Phone", "phone"))),
    "jst_lines": Master("店铺资料.csv", "csv", "utf-8", (
        ("店铺", "store_id"), ("区域", "province"), ("授信额度", "credit_limit"), ("店长", "consignee"),
        ("店长手机", "phone"))),
}


def _values(s: Seeder) -> pl.DataFrame:
    return (s.lines.group_by("order_id")
            .agg((pl.col("quantity").fill_null(0.0) * pl.col("unit_price")).sum().alias("_v")))


def exposure(s: Seeder) -> pl.DataFrame:
    """Per cash-on-delivery order: its value, whether it is still open at the export, and what
    its store owes at its creation (itself included).  An export that never shows an order
    delivered cannot tell what is still owed: there every order looks open and owes itself."""
    o = (s.orders.filter((pl.col("payment_method") == "cod") & (pl.col("doc_type") == "order")
                         & ~pl.col("state").is_in(["cancelled", "closed"]))
         .join(_values(s), on="order_id", how="left")
         .with_columns((pl.col("_v").fill_null(0.0) + pl.col("postage").fill_null(0.0)).alias("value"),
                       pl.min_horizontal(_settled(s), pl.col("created_at") + timedelta(days=EXPOSURE_DAYS)).alias("_end"),
                       pl.col("done_at").is_null().alias("open")))
    # times as the export prints them: a delivery and an order in the same printed minute are a
    # tie, and a tie counts the delivery first (as the detector reads the file)
    from .dialects import DIALECTS

    step = "1s" if "%S" in DIALECTS[s.spec.dialect].time_format else "1m"
    events = pl.concat([
        o.select("order_id", "store_id", pl.col("created_at").dt.truncate(step).alias("_t"),
                 pl.lit(1, pl.Int8).alias("_o"), pl.col("value").alias("_d")),
        o.select("order_id", "store_id", pl.col("_end").dt.truncate(step).alias("_t"), pl.lit(0, pl.Int8).alias("_o"),
                 (-pl.col("value")).alias("_d")),
    ]).sort("store_id", "_t", "_o").with_columns(pl.col("_d").cum_sum().over("store_id").alias("owed"))
    at = events.filter(pl.col("_o") == 1).select("order_id", "owed")
    out = o.select("order_id", "store_id", "store_name", "day", "value", "open").join(at, on="order_id")
    if shows_settlement(s):
        return out
    # nothing in the file says an order was delivered: every order looks open, and owes itself
    return out.with_columns(pl.col("value").alias("owed"), pl.lit(True).alias("open"))


def _settled(s: Seeder) -> pl.Expr:
    """When an order stops being owed as the export shows it: its delivery time; where the
    export has a delivered state but no delivery time, a delivered order was never owed as far
    as anyone reading the file can tell; an open order, after the export."""
    after = pl.lit(s.as_of + timedelta(days=1))
    if s.spec.delivery:
        return pl.col("done_at").fill_null(after)
    return pl.when(pl.col("done_at").is_not_null()).then(pl.col("created_at")).otherwise(after)


def shows_settlement(s: Seeder) -> bool:
    """Whether the export says an order was delivered (a delivery time or a delivered state)."""
    from .dialects import DIALECTS

    return s.spec.delivery or "delivered" in DIALECTS[s.spec.dialect].states


def _round_up(x: float) -> float:
    return float(math.ceil(x / 1000.0) * 1000.0)


def seed(s: Seeder, n: int) -> None:
    """Stores over their limit at one open order each (see the module docstring)."""
    ex = exposure(s)
    typical = ex.group_by("store_id").agg(pl.col("value").median().alias("_median"))
    open_ = ex.filter(pl.col("open")).join(typical, on="store_id")
    top = (open_.sort("owed", descending=True).group_by("store_id", maintain_order=True)
           .agg(pl.col("order_id").first(), pl.col("owed").first().alias("_top"),
                pl.col("owed").slice(1).max().fill_null(0.0).alias("_next"), pl.col("_median").first()))
    floor = pl.max_horizontal("_next", "_median")
    cands = top.filter(pl.col("_top") >= 1.2 * floor)
    pool = s.eligible(min_prior=3, min_age=0).join(cands.select("order_id", "_top", "_next", "_median"),
                                                   on="order_id")
    picked = s.sample(pool, n)
    for r in picked.iter_rows(named=True):
        low, high = 1.05 * max(r["_next"], r["_median"]), r["_top"] / 1.1
        limit = math.floor(low + float(s.rng.uniform(0.0, 1.0)) * max(high - low, 0.0))
        s.limits[r["store_id"]] = float(max(limit, 1))
        s.record("credit_limit", r, f"owes {r['_top']:,.0f} with this order against a limit of {limit:,.0f}")


def limits(s: Seeder) -> dict[str, float]:
    """Every cash-on-delivery store's limit (seeded ones kept); other seeded anomalies that take
    their store over it are consequences."""
    ex = exposure(s)
    anomalies = {t["order_id"] for t in s.truth if t["role"] == "anomaly"}
    normal = ex.filter(~pl.col("order_id").is_in(list(anomalies)))
    most = dict(normal.group_by("store_id").agg(pl.col("owed").max()).iter_rows())
    out = dict(s.limits)
    for sid in sorted(set(most) - set(out)):
        out[sid] = _round_up(most[sid] * float(s.rng.uniform(1.5, 3.0)))
    credit = {t["order_id"] for t in s.truth if t["kind"] == "credit_limit"}
    over = ex.filter(pl.col("open") & pl.col("order_id").is_in(list(anomalies - credit)))
    for r in over.iter_rows(named=True):
        if r["owed"] > out.get(r["store_id"], math.inf):
            s.record("credit_limit", r, "takes its store over its credit limit", role="consequence")
    return out


def write_master(dialect: str, stores: pl.DataFrame, limit: dict[str, float], out: Path, write) -> Path | None:  # noqa: ANN001
    """The store master in the system's own headers (``write``: writers.write_table)."""
    m = MASTERS.get(dialect)
    if m is None:
        return None
    frame = stores.with_columns(
        pl.col("store_id").replace_strict(limit, default=None, return_dtype=pl.Float64).alias("credit_limit"))
    path = out / m.file_name
    write(frame.select([pl.col(f).alias(h) for h, f in m.columns]), path, m.fmt, m.encoding)
    return path
