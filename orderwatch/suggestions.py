"""Threshold suggestions from the store: each rule's resolved flags with their evidence, fitted
by :mod:`rules.suggest`; printed by ``orderwatch rules suggest``, shown on the rule page, and
written as a copy of the rules directory for the dry run (never over the live files).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from sqlalchemy import Engine, select

from contracts.config import Config
from rules.edit import set_levels
from rules.loader import read_rule_files
from rules.model import Rule
from rules.suggest import FALSE_RESOLUTION, TRUE_RESOLUTIONS, Suggestion, fit
from rules.working import rule_files
from store import Store
from store.models import Flag

_SKIP = {"level_condition", "conditions"}


def evidence_frame(rows: Iterable[tuple[str | None, Any]]) -> pl.DataFrame:
    """(resolution, evidence dict) rows → one column per feature (numbers as Float64, the rest
    as text) and ``resolution``."""
    rows = list(rows)
    keys = list(dict.fromkeys(k for _, ev in rows if isinstance(ev, dict) for k in ev if k not in _SKIP))
    data: dict[str, list[Any]] = {"resolution": [r for r, _ in rows]}
    schema: dict[str, pl.DataType] = {"resolution": pl.String()}
    for k in keys:
        vals = [ev.get(k) if isinstance(ev, dict) else None for _, ev in rows]
        numeric = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in vals)
        data[k] = [None if v is None else (float(v) if numeric else str(v)) for v in vals]
        schema[k] = pl.Float64() if numeric else pl.String()
    return pl.DataFrame(data, schema=schema)


def resolved_flags(engine: Engine, rule_id: str) -> pl.DataFrame:
    """The rule's flags reviewers resolved (confirmed, corrected, false positive), as features."""
    t = Flag.__table__
    stmt = select(t.c.resolution, t.c.evidence).where(
        t.c.rule_id == rule_id, t.c.resolution.in_([*TRUE_RESOLUTIONS, FALSE_RESOLUTION]))
    with engine.connect() as conn:
        return evidence_frame((r, ev) for r, ev in conn.execute(stmt))


def suggest_rules(engine: Engine, rules: Sequence[Rule], *, min_resolved: int, target: float) -> list[Suggestion]:
    return [fit(r, resolved_flags(engine, r.id), min_resolved=min_resolved, target=target)
            for r in rules if r.enabled]


def suggest_all(config: Config, rules: Sequence[Rule], *, db_url: str | None = None, min_resolved: int = 30,
                target: float = 0.9) -> list[Suggestion]:
    """A suggestion (or why there is none) for every enabled rule, from the configured store."""
    with Store.open(db_url or config.database_url) as store:
        return suggest_rules(store.engine, rules, min_resolved=min_resolved, target=target)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


STATUS_TEXT = {
    "suggested": "suggestion 建议",
    "meets_target": "meets the target already 已达到目标",
    "unreachable": "no threshold reaches the target 无阈值可达到目标",
    "too_few": "too few resolved flags 已复核异常太少",
    "no_thresholds": "no numeric thresholds 无数值阈值",
}


def print_suggestions(found: Sequence[Suggestion], console: Console) -> None:
    """Each rule: its verdict counts, then per level before → after with the counts behind it."""
    for s in found:
        console.print(f"[b]{s.rule_id}[/b]: {STATUS_TEXT[s.status]} — {s.resolved:,} resolved 已复核 "
                      f"({s.true:,} confirmed 确认, {s.false:,} false positive 误报; needs {s.min_resolved:,}, "
                      f"target precision 目标准确率 {s.target:.0%})", soft_wrap=True, highlight=False)
        for f in s.levels:
            mark = "→" if f.after != f.before else "="
            console.print(f"  {f.level}: {f.before}", soft_wrap=True, markup=False, highlight=False)
            if f.after != f.before:
                console.print(f"  {' ' * len(f.level)}  {mark} {f.after}", soft_wrap=True, markup=False,
                              highlight=False)
            console.print(f"  {' ' * len(f.level)}  keeps 保留 {f.true_after:,} of {f.true_before:,} confirmed, "
                          f"{f.false_after:,} of {f.false_before:,} false positives; precision 准确率 "
                          f"{_pct(f.precision_before)} → {_pct(f.precision_after)}", soft_wrap=True, highlight=False)
        if s.costly:
            console.print("  note 注意: it loses most confirmed flags — this rule's features hardly separate what "
                          "reviewers confirmed from what they rejected 此建议会丢失大部分已确认的异常", soft_wrap=True,
                          highlight=False)
        if s.status == "suggested":
            console.print(f"  in all 合计: {s.removed_false:,} false positives fewer, {s.lost_true:,} confirmed lost "
                          f"(not applied: try it with `orderwatch rules suggest --out-dir DIR` then "
                          f"`orderwatch rules test DIR`)", soft_wrap=True, highlight=False, markup=False)


def write_suggested(config: Config, found: Sequence[Suggestion], out_dir: Path,
                    rules: Sequence[Rule] | None = None) -> list[str]:
    """Copy the live rules directory to ``out_dir`` with the suggested conditions written in;
    returns the files changed.  The live directory is never written."""
    src = config.rules_dir
    if out_dir.resolve() == src.resolve():
        raise ValueError("--out-dir must not be the live rules directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in rule_files(src).values():
        shutil.copy(p, out_dir / p.name)
    by_id = {r.id: r for r in (rules or read_rule_files(src, config)[0])}
    changed: list[str] = []
    for s in found:
        if not s.changed or s.rule_id not in by_id:
            continue
        name = by_id[s.rule_id].file.name
        target = out_dir / name
        target.write_text(set_levels(target.read_text(encoding="utf-8"), s.rule_id, s.changed), encoding="utf-8")
        changed.append(name)
    return sorted(set(changed))


__all__ = ["evidence_frame", "print_suggestions", "resolved_flags", "suggest_all", "suggest_rules", "write_suggested"]
