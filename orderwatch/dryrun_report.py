"""What ``orderwatch rules test`` prints and writes: the change, its effect per rule and level,
by department and store, the precision reviewers' verdicts let us estimate, the added flags.

Titles are lines of their own (as in the scan summary) so the output reads the same in a pipe.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from orderwatch import dryrun_compare as cmp
from orderwatch.dryrun import DryRun
from orderwatch.spreadsheet import write_csv

CHANGE_OUT_COLUMNS = ["change", "rule_id", "level_now", "level_new", "department", "store_id", "store_name",
                      "order_id", "occurred_at", "subject", "title", "reason", "evidence", "status", "resolution"]


def write_changes(d: pl.DataFrame, path: str | Path) -> int:
    """The flags the change adds, removes or moves between levels, with their reasons:
    ``.jsonl``/``.ndjson`` → JSON lines, anything else → CSV (UTF-8 BOM for Excel)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = d.filter(pl.col("change") != "unchanged").select(CHANGE_OUT_COLUMNS)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        df.write_ndjson(path)
    else:
        write_csv(df, path)
    return df.height


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _table(title: str, columns: list[str], rows: list[list[str]], console: Console) -> None:
    console.print(f"[b]{title}[/b]", soft_wrap=True)
    if not rows:
        console.print("  none 无", soft_wrap=True)
        return
    t = Table(show_header=True)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i < 2 else "right", overflow="fold")
    for r in rows:
        t.add_row(*r)
    console.print(t)


def _changes(run: DryRun, console: Console) -> None:
    if not run.changes:
        console.print("changes 改动: none — the rules tested are the live rules 与生效规则相同", soft_wrap=True)
    for c in run.changes:
        if c.change != "changed":
            word = "new rule 新规则" if c.change == "new" else "rule removed 规则删除"
            console.print(f"  {c.rule_id}: {word}", soft_wrap=True, highlight=False)
        for name, before, after in c.fields:
            console.print(f"  {c.rule_id}: {name}: {before or '(none)'} → {after or '(none)'}", soft_wrap=True,
                          highlight=False, markup=False)


def print_dry_run(run: DryRun, departments: dict[str, dict[str, str]], console: Console | None = None, *,
                  top: int = 10, list_added: int = 20) -> pl.DataFrame:
    """Print the dry run; returns its :func:`~orderwatch.dryrun_compare.diff` frame."""
    console = console or Console()
    d = cmp.diff(run)
    console.print(f"[b]dry run 试运行[/b] {run.since} … {run.until}: {run.lines:,} order lines of {run.stores:,} "
                  f"stores judged in {run.seconds:.1f} s; nothing was written 未写入任何结果", soft_wrap=True)
    _changes(run, console)
    for rid, why in run.not_judged.items():
        console.print(f"  not judged 未判断: {rid}: {why}", soft_wrap=True, highlight=False, markup=False)
    levels = cmp.by_level(run, d)
    moved = set(levels.filter((pl.col("added") > 0) | (pl.col("removed") > 0)).get_column("rule_id").to_list())
    # a rule the change leaves alone takes one line (all levels); one it moves, a line per level
    _table("per rule and level 按规则和级别", ["rule 规则", "level 级别", "now 现在", "with change 改动后", "added 新增",
                                         "removed 减少", "unchanged 不变"],
           [[r, lvl, *(f"{v:,}" for v in rest)] for r, lvl, *rest in levels.iter_rows()
            if lvl == cmp.ALL or (r in moved and any(rest))], console)
    depts = cmp.by_department(d)
    _table("by department 按部门", ["department 部门", "", "now 现在", "with change 改动后", "added 新增",
                                 "removed 减少", "unchanged 不变"],
           [[departments.get(k, {}).get("zh", k), k, *(f"{v:,}" for v in rest)] for k, *rest in depts.iter_rows()],
           console)
    stores = cmp.top_stores(d, top)
    _table(f"top stores (most changed) 变化最多的门店 (top {top})", ["store 门店", "name 名称", "now 现在",
                                                                 "with change 改动后", "added 新增", "removed 减少",
                                                                 "unchanged 不变"],
           [[s, n or "", *(f"{v:,}" for v in rest)] for s, n, *rest in stores.iter_rows()], console)
    prec = cmp.precision(d).filter(pl.col("resolved") > 0)
    _table("precision from reviewers' verdicts 按复核结论估计的准确率",
           ["rule 规则", "level 级别", "resolved 已复核", "confirmed 确认", "false positive 误报", "precision now 现在",
            "removed: false positive 减少中误报", "removed: confirmed 减少中确认", "kept: confirmed 保留中确认",
            "precision with change 改动后"],
           [[r["rule_id"], r["level"], f"{r['resolved']:,}", f"{r['true']:,}", f"{r['false']:,}",
             _pct(r["precision_now"]), f"{r['removed_false']:,} of {r['removed_resolved']:,}",
             f"{r['removed_true']:,}", f"{r['kept_true']:,} of {r['kept_resolved']:,}",
             _pct(r["precision_with_change"])] for r in prec.iter_rows(named=True)], console)
    if prec.height:
        console.print("  (added flags have no verdicts yet: precision with change is estimated on the kept flags "
                      "新增的异常尚无复核结论，改动后的准确率按保留的异常估计)", soft_wrap=True)
    added = cmp.changed_flags(d, "added")
    _table(f"flags added 新增的异常 ({min(list_added, added.height):,} of {added.height:,})",
           ["rule 规则", "level 级别", "store 门店", "order 订单", "occurred 发生", "reason 原因"],
           [[r["rule_id"], f"{r['level_now'] + ' → ' if r['level_now'] else ''}{r['level_new']}", r["store_id"] or "",
             r["order_id"] or "", f"{r['occurred_at']:%Y-%m-%d %H:%M}" if r["occurred_at"] else "", r["reason"] or ""]
            for r in added.head(list_added).iter_rows(named=True)], console)
    return d


__all__ = ["CHANGE_OUT_COLUMNS", "print_dry_run", "write_changes"]
