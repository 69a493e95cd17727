"""What a scan prints and writes: the summary table, the flags file, the quarantine file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from orderwatch.fieldreport import render
from orderwatch.scan import ScanResult
from orderwatch.spreadsheet import write_csv

FLAG_OUT_COLUMNS = ["flag_id", "rule_id", "kind", "level", "department", "order_id", "store_id",
                    "store_name", "occurred_at", "title", "reason", "subject", "evidence", "reason_id", "reason_args"]
QUARANTINE_OUT_COLUMNS = ["source_file", "line", "reason", "raw"]


def write_flags(result: ScanResult, path: str | Path) -> int:
    """One row per flag; ``.jsonl``/``.ndjson`` → JSON lines, anything else → CSV (UTF-8 BOM for Excel)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = result.flags.select([c for c in FLAG_OUT_COLUMNS if c in result.flags.columns])
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        df.write_ndjson(path)
    else:
        write_csv(df, path)
    return df.height


def write_quarantine(result: ScanResult, path: str | Path) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = result.quarantine.select(QUARANTINE_OUT_COLUMNS)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        df.write_ndjson(path)
    else:
        write_csv(df, path)
    return df.height


def _counts(flags: pl.DataFrame, col: str) -> list[tuple[str, int]]:
    if flags.height == 0:
        return []
    return [(str(k), int(n)) for k, n in flags.group_by(col).len().sort("len", descending=True).iter_rows()]


def _late_done(result: ScanResult, console: Console) -> None:
    """One line for the stages finished late: counted in the SLA statistics, not flags."""
    if result.late_done.height == 0:
        return
    parts = ", ".join(f"{rule} {n:,}" for rule, n in _counts(result.late_done, "rule_id"))
    console.print(f"late but done 完成但超时 (SLA statistics only, not queued 仅统计、不进队列): {parts}",
                  soft_wrap=True)


def print_summary(result: ScanResult, departments: dict[str, dict[str, str]], console: Console | None = None) -> None:
    """The end-of-scan summary: lines reconciled per file, what was understood of each file
    (fields, dates, states, unused headers, detectors that could not judge it, its clock), then
    flags by kind, level and department.

    Titles are lines of their own (a table title wraps mid-line when the output is not a terminal),
    and a scan without flags says so instead of printing an empty table.
    """
    console = console or Console()
    console.print(f"[b]扫描 scan #{result.scan_id}[/b]  as of {result.as_of:%Y-%m-%d %H:%M:%S}", soft_wrap=True)
    lines = Table(show_header=True)
    lines.add_column("file / 文件", overflow="fold")
    for c in ("read 读取", "accepted 接受", "quarantined 隔离", "counted 独立计数"):
        lines.add_column(c, justify="right")
    for f in result.files:
        counted = "—" if f.counted is None else f"{f.counted:,}"
        lines.add_row(Path(f.path).name, f"{f.read:,}", f"{f.accepted:,}", f"{f.quarantined:,}",
                      counted if f.reconciled else f"[red]{counted}[/red]")
    lines.add_row("[b]total 合计[/b]", f"[b]{result.read:,}[/b]", f"[b]{result.accepted:,}[/b]",
                  f"[b]{result.quarantined:,}[/b]")
    console.print(lines)
    ok = "[green]OK[/green]" if result.reconciled else "[red bold]MISMATCH 对账失败[/red bold]"
    console.print(f"reconciled 对账: read {result.read:,} = accepted {result.accepted:,} + "
                  f"quarantined {result.quarantined:,}  {ok};  new lines 新增行: {result.new_lines:,}",
                  soft_wrap=True)
    for r in result.reports:
        render(r, console)
    if result.catalog_rows or result.catalog_quarantined:
        console.print(f"catalog 商品目录: {result.catalog_rows:,} SKUs, {result.catalog_quarantined:,} quarantined",
                      soft_wrap=True)
    _late_done(result, console)
    if result.store_master is not None:
        console.print(f"门店档案 {result.store_master.summary()}", soft_wrap=True, highlight=False)
    if result.flags.height == 0:
        console.print("flags 异常标记: none — nothing abnormal in what was read 未发现异常", soft_wrap=True)
        return
    console.print(f"flags 异常标记: {result.flags.height:,} found 发现; {result.flags_created:,} new 新增; "
                  f"{result.flags_raised:,} raised 升级 (already flagged by an earlier scan, now at a higher level "
                  f"已有异常级别提升)", soft_wrap=True)
    flags = Table()
    flags.add_column("by")
    flags.add_column("value")
    flags.add_column("flags", justify="right")
    for col, label in (("kind", "kind 类型"), ("level", "level 级别"), ("department", "department 部门")):
        for key, n in _counts(result.flags, col):
            name = departments.get(key, {}).get("zh", key) if col == "department" else key
            flags.add_row(label, name if col != "department" else f"{name} ({key})", f"{n:,}")
    console.print(flags)
