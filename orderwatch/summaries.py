"""Periodic summaries as Excel workbooks: the weekly order and flag summary (Mondays) and the
monthly analysis (by the 5th), written under ``jobs.reports.dir``; both with the SLA
statistics of every stage (环节时效: flagged while waiting, finished late).

Orders come from the history (every accepted line), flags from the database.  Re-running a
period rewrites its file: the name says the period, so nothing piles up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import select

from contracts.config import Config, history_dir_for
from contracts.workbook import safe_workbook
from store import History, Store
from store.models import Flag


@dataclass
class Period:
    kind: str      # weekly | monthly
    start: date    # first day
    end: date      # day after the last

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            y, w, _ = self.start.isocalendar()
            return f"{y}-W{w:02d}"
        return f"{self.start:%Y-%m}"


def last_week(today: date) -> Period:
    """The Monday–Sunday week before ``today``'s week."""
    monday = today - timedelta(days=today.weekday())
    return Period("weekly", monday - timedelta(days=7), monday)


def last_month(today: date) -> Period:
    first = today.replace(day=1)
    prev = (first - timedelta(days=1)).replace(day=1)
    return Period("monthly", prev, first)


def _flags(store: Store, p: Period) -> pl.DataFrame:
    t = Flag.__table__
    cols = ["id", "rule_id", "kind", "level", "department", "status", "resolution", "store_id", "store_name",
            "order_id", "occurred_at", "created_at", "resolved_at", "reason"]
    lo, hi = datetime.combine(p.start, datetime.min.time()), datetime.combine(p.end, datetime.min.time())
    with store.engine.connect() as conn:
        rows = conn.execute(select(*[t.c[c] for c in cols]).where(t.c.occurred_at >= lo, t.c.occurred_at < hi)).all()
    schema = {c: pl.String for c in cols} | {"id": pl.Int64, "occurred_at": pl.Datetime("us"),
                                             "created_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us")}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _stages(store: Store, config: Config, p: Period) -> pl.DataFrame:
    """The SLA statistics of the period's orders, per stage rule: flagged while waiting, still
    open, finished late (the rules' ``report`` level, counted here and never queued)."""
    from detectors import REGISTRY
    from rules.loader import load_rules_cached
    from store.sla_reports import stage_stats

    rules = {r.id: r for r in load_rules_cached(config, include_disabled=True)
             if r.detector in REGISTRY and REGISTRY[r.detector].time_based}
    lo, hi = datetime.combine(p.start, datetime.min.time()), datetime.combine(p.end, datetime.min.time())
    with store.engine.connect() as conn:
        stats = stage_stats(conn, sorted(rules), lo, hi)
    title = {rid: r.title.get("zh", rid) for rid, r in rules.items()}
    return stats.select(
        pl.col("rule_id").alias("规则"), pl.col("rule_id").replace_strict(title, default=None).alias("环节"),
        pl.col("department").replace_strict({k: config.department_name(k) for k in config.departments},
                                            default=pl.col("department")).alias("部门"),
        pl.col("flagged").alias("等待超时（已标记）"), pl.col("still_open").alias("其中未关闭"),
        pl.col("late_done").alias("完成但超时（仅统计）"), pl.col("mean_hours_late").round(1).alias("平均超时小时"),
        pl.col("max_hours_late").round(1).alias("最长超时小时"))


def _orders(config: Config, url: str, p: Period) -> pl.DataFrame:
    lo, hi = datetime.combine(p.start, datetime.min.time()), datetime.combine(p.end, datetime.min.time())
    return (History(history_dir_for(url, config)).scan(since=lo).filter(pl.col("created_at") < hi)
            .with_columns(pl.coalesce(pl.col("line_amount"), pl.col("quantity") * pl.col("unit_price")).alias("_amt"))
            .collect())


def _sheets(p: Period, orders: pl.DataFrame, flags: pl.DataFrame) -> dict[str, pl.DataFrame]:
    by_day = (orders.group_by(pl.col("created_at").dt.date().alias("日期"))
              .agg(pl.col("order_id").n_unique().alias("订单数"), pl.len().alias("行数"),
                   pl.col("quantity").sum().alias("数量"), pl.col("_amt").sum().round(2).alias("金额"))
              .sort("日期"))
    by_store = (orders.group_by(pl.col("store_id").alias("门店"))
                .agg(pl.col("store_name").drop_nulls().last().alias("门店名称"),
                     pl.col("order_id").n_unique().alias("订单数"), pl.col("quantity").sum().alias("数量"),
                     pl.col("_amt").sum().round(2).alias("金额"))
                .sort("金额", descending=True))
    flag_counts = (flags.group_by(pl.col("kind").alias("类型"), pl.col("level").alias("级别"),
                                  pl.col("department").alias("部门"))
                   .agg(pl.len().alias("异常数"),
                        pl.col("status").is_in(["open", "acknowledged"]).sum().alias("未关闭"))
                   .sort("异常数", descending=True))
    out = {"订单按日": by_day, "订单按门店": by_store, "异常汇总": flag_counts}
    if p.kind == "weekly":
        out["异常明细"] = flags.select(
            pl.col("id").alias("编号"), pl.col("rule_id").alias("规则"), pl.col("level").alias("级别"),
            pl.col("department").alias("部门"), pl.col("store_id").alias("门店"), pl.col("order_id").alias("订单"),
            pl.col("status").alias("状态"), pl.col("reason").alias("原因"))
        return out
    hours = ((pl.col("resolved_at") - pl.col("created_at")).dt.total_seconds() / 3600.0)
    out["部门处理"] = (flags.group_by(pl.col("department").alias("部门")).agg(
        pl.len().alias("异常数"), pl.col("resolution").is_not_null().sum().alias("已解决"),
        (pl.col("resolution") == "false_positive").sum().alias("误报"),
        hours.median().round(1).alias("处理时长中位数(小时)")).sort("部门"))
    out["规则误报率"] = (flags.group_by(pl.col("rule_id").alias("规则")).agg(
        pl.len().alias("命中"), pl.col("resolution").is_not_null().sum().alias("已解决"),
        (pl.col("resolution") == "false_positive").sum().alias("误报"))
        .with_columns(pl.when(pl.col("已解决") > 0).then((pl.col("误报") / pl.col("已解决")).round(3))
                      .alias("误报率")).sort("命中", descending=True))
    out["门店排行"] = (flags.group_by(pl.col("store_id").alias("门店")).agg(
        pl.len().alias("异常数"), (pl.col("level") == "critical").sum().alias("严重"))
        .sort("异常数", descending=True).head(50))
    return out


def write_summary(config: Config, p: Period, *, db_url: str | None = None, out_dir: Path | None = None) -> Path:
    """Write the period's workbook and return its path."""
    url = db_url or config.database_url
    folder = out_dir or Path(str(config.get("jobs.reports.dir", "{instance_dir}/reports"))
                             .replace("{instance_dir}", str(config.instance_dir)))
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.open(url)
    try:
        flags = _flags(store, p)
        stages = _stages(store, config, p)
    finally:
        store.close()
    sheets = _sheets(p, _orders(config, url, p), flags)
    sheets["环节时效"] = stages
    path = folder / f"orderwatch_{p.kind}_{p.label}.xlsx"
    tmp = folder / f".{path.name}.tmp"
    wb = safe_workbook(tmp)
    wb.set_properties({"title": f"orderwatch {p.kind} {p.label}"})
    for name, frame in sheets.items():
        (frame if frame.width else pl.DataFrame({"—": []})).write_excel(wb, worksheet=name, autofit=True)
    wb.close()
    tmp.replace(path)
    return path
