"""The field report on a terminal: what ``scan`` prints after its counts and ``inspect`` prints
alone (with sample values and a ``sources:`` snippet to paste into config.yaml).

The report itself is data (``ingest.report.FileReport``); this module only renders it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingest.report import FileReport
from ingest.labels import LABELS

HOW = {"config": "config", "alias": "alias 别名", "meaning": "meaning 词义", "value": "values 取值",
       "default": "default 默认", "derived": "derived 推导"}


def _short(values: list[str], width: int = 48) -> str:
    text = " | ".join(str(v) for v in values)
    return text if len(text) <= width else text[: width - 1] + "…"


def headline(r: FileReport) -> str:
    parts = [r.format.upper() or "?"]
    if r.encoding:
        parts.append(r.encoding)
    if r.delimiter:
        parts.append(f"{r.delimiter}-separated")
    return f"{Path(r.path).name}: " + ", ".join(parts) + f"; {r.rows:,} rows"


def render(r: FileReport, console: Console, *, samples: bool = False) -> None:
    """One file's report: fields used, dates, unused headers, missing fields, skipped detectors."""
    console.print(f"[b]{headline(r)}[/b]", highlight=False)
    if r.missing_required:
        console.print(f"[red]{r.missing_line()}[/red]", highlight=False, soft_wrap=True)
    t = Table(show_header=True, box=None, pad_edge=False)
    t.add_column("field 字段")
    t.add_column("header 表头")
    t.add_column("by 依据")
    t.add_column("values 样例" if samples else "note 说明")
    for u in r.fields:
        note = r.dates.get(u.field) or u.detail
        extra = _short(u.samples) if samples and u.samples else note
        t.add_row(f"{u.field} {LABELS.get(u.field, '')}", u.header or "—", HOW.get(u.how, u.how), extra or "")
    console.print(t)
    for note in (r.store_note, r.sku_note, *r.notes):
        if note:
            console.print(f"  · {note}", highlight=False, soft_wrap=True)
    if r.states:
        console.print("  · states 状态: " + ", ".join(f"{k} {v:,}" for k, v in r.states.items()), highlight=False)
    if r.unused:
        console.print("  · unused 未用: " + "; ".join(
            f"{h.strip()} ({why})" + (f" e.g. {_short(r.samples.get(h, []), 30)}" if samples and r.samples.get(h) else "")
            for h, why in r.unused.items()), highlight=False, soft_wrap=True)
    if r.missing:
        console.print("  · missing 缺少: " + ", ".join(r.missing), highlight=False, soft_wrap=True)
    if r.skipped_detectors:
        console.print("  · not judged 不判断: " + "; ".join(f"{d} ({why})" for d, why in r.skipped_detectors.items()),
                      highlight=False, soft_wrap=True)
    if r.newest_event:
        clock = (f"backfill 历史导出: newest event {r.newest_event:%Y-%m-%d %H:%M}; time-based rules judge it as of then"
                 if r.backfill else f"newest event {r.newest_event:%Y-%m-%d %H:%M}")
        if r.judged_as_of and not r.backfill:
            clock += f"; judged as of {r.judged_as_of:%Y-%m-%d %H:%M}"
        console.print(f"  · {clock}", highlight=False)


def _source_name(path: str) -> str:
    stem = re.sub(r"[\d_\-\s]+$", "", Path(path).stem) or Path(path).stem
    return re.sub(r"[^\w]+", "_", stem).strip("_").lower() or "export"


def _y(value: str) -> str:
    """A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML)."""
    if re.fullmatch(r"[^\s:#'\"{}\[\],&*!|>%@`?-][^:#'\"{}\[\],]*", value) and value == value.strip():
        return value
    return json.dumps(value, ensure_ascii=False)


def snippet(r: FileReport) -> str:
    """A ``sources:`` entry for config.yaml covering the columns that were ambiguous or not
    recognised: ambiguous ones as the reading chosen (config always wins, so this fixes it),
    with the alternatives in a comment; unrecognised ones and missing required fields as
    comments to fill in.  Columns recognised without doubt are left to recognition.
    """
    glob = re.sub(r"\d+", "*", Path(r.path).stem) + Path(r.path).suffix
    lines = ["sources:", f"  - name: {_source_name(r.path)}", f"    match: {_y(glob)}"]
    cols = []
    for u in r.fields:
        if u.header and u.how != "derived" and u.header in r.ambiguous:
            alts = [c for c in r.candidates.get(u.header, []) if not c.startswith(u.field + " ")]
            note = f"  # chosen by {u.how}" + (f"; also: {'; '.join(alts)}" if alts else "")
            cols.append(f"      {u.field}: {_y(u.header)}{note}")
    for f, near in r.missing_required.items():
        cols.append(f"      # {f}: ???   # required; closest unused headers: {', '.join(near) or 'none'}")
    if r.unused:
        cols.append("      # not recognised: map any that is an order field (field: header)")
        cols += [f"      # ?: {_y(h)}   # {why}" for h, why in r.unused.items()]
    lines += ["    columns:", *cols] if cols else []
    if r.store_note:
        lines += ["    defaults:", f"      store_id: {_y(_source_name(r.path))}   # the whole file is one store"]
    if r.unknown_statuses:
        lines.append("    states:   # status words not understood: map each to a canonical state")
        lines += [f"      {_y(w)}: ???" for w in r.unknown_statuses]
    if any("assumed" in d for d in r.dates.values()):
        lines.append("    # date_format: day_first   # dates were read month-first: no day above 12 proved it")
    recognised = sum(1 for u in r.fields if u.header and u.header not in r.ambiguous)
    lines.append(f"    # {recognised} other column(s) were recognised without doubt (inspect lists them)")
    return "\n".join(lines)
