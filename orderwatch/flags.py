"""Turn the engine's decisions into flag records: one per rule and subject, with evidence.

Line-grain rules may fire on several lines of one order; the order gets one flag, at the
most severe level, whose evidence is the worst line plus how many lines fired.
"""

from __future__ import annotations

import json
import math
import string
from datetime import date, datetime
from typing import Any

import polars as pl

from rules.model import LEVEL_ORDER, Rule

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(), "kind": pl.String(), "level": pl.String(), "department": pl.String(),
    "subject": pl.String(), "order_id": pl.String(), "store_id": pl.String(), "store_name": pl.String(),
    "occurred_at": pl.Datetime("us"), "title": pl.String(), "reason": pl.String(), "evidence": pl.String(),
}


class _Formatter(string.Formatter):
    """str.format that prints a missing or null value as "—" instead of failing."""

    def get_value(self, key, args, kwargs):  # type: ignore[override]
        return kwargs.get(key)

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        try:
            return super().format_field(value, format_spec)
        except (ValueError, TypeError):
            return str(value)


_FMT = _Formatter()


def render_reason(template: str, values: dict[str, Any]) -> str:
    return _FMT.vformat(template, (), values)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 4)
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return v


def build_flags(rule: Rule, kind: str, features: list[str], candidates: pl.DataFrame,
                fired: pl.DataFrame) -> pl.DataFrame:
    """Join decisions (``_row``, ``level``) to candidate rows and render flags for ``rule``."""
    if fired.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    rows = candidates.join(fired, on="_row", how="inner").with_columns(
        pl.col("level").replace_strict(LEVEL_ORDER, return_dtype=pl.Int8).alias("_sev")
    )
    sort_key = [c for c in rule.fields if c in rows.columns and rows.schema[c].is_numeric()][:1]
    rows = rows.sort(["_sev", *sort_key], descending=True, nulls_last=True)
    lines_fired = rows.group_by("subject").len(name="_lines_fired")
    rows = rows.unique(subset="subject", keep="first", maintain_order=True).join(lines_fired, on="subject")
    context = [c for c in ("sku", "line_no") if c in rows.columns]
    records = []
    for r in rows.iter_rows(named=True):
        evidence = {f: _jsonable(r.get(f)) for f in features if f in r}
        evidence.update({c: _jsonable(r[c]) for c in context})
        evidence["level_condition"] = rule.level_text[r["level"]]
        evidence["conditions"] = dict(rule.level_text)
        if context:
            evidence["lines_fired"] = r["_lines_fired"]
        records.append({
            "rule_id": rule.id, "kind": kind, "level": r["level"], "department": rule.department,
            "subject": r["subject"], "order_id": r.get("order_id"), "store_id": r.get("store_id"),
            "store_name": r.get("store_name"), "occurred_at": r.get("occurred_at"),
            "title": rule.title.get("zh", rule.id), "reason": render_reason(rule.reason["zh"], r),
            "evidence": json.dumps(evidence, ensure_ascii=False),
        })
    return pl.DataFrame(records, schema=FLAG_SCHEMA)
