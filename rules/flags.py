"""Turn the engine's decisions into flag records: one per rule and subject, with evidence.

Line-grain rules may fire on several lines of one order; the order gets one flag, at the
most severe level, whose evidence is the worst line plus how many lines fired.  Evidence is
built by polars (a JSON object per row); only the reason is made in Python: which sentence and
its figures (``reason_id``, ``reason_args``: rules/reasons/) and that sentence in the default
language (``reason``), so every reader can later get it in their own.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from typing import Any

import polars as pl

from contracts.schema import FLAG_SCHEMA
from rules import reasons
from rules.model import LEVEL_ORDER, REPORT, Rule

MISSING = "—"
#: the language of the stored ``reason`` text (files, mails); readers get theirs from reason_id/args
STORED_LANGUAGE = "zh"


def _field(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


def compile_reason(template: str) -> tuple[list[str], Callable[[dict[str, Any]], str]]:
    """The fields a reason template reads, and a function rendering it from a row.

    A missing or null value prints as "—"; a value its format spec doesn't fit prints plainly.
    """
    parts = [(lit, name, spec or "") for lit, name, spec, _ in string.Formatter().parse(template)]
    names = sorted({name for _, name, _ in parts if name})

    def render(row: dict[str, Any]) -> str:
        return "".join(lit + (_field(row.get(name), spec) if name else "") for lit, name, spec in parts)

    return names, render


def render_reason(template: str, values: dict[str, Any]) -> str:
    return compile_reason(template)[1](values)


def _evidence(rule: Rule, rows: pl.DataFrame, fields: list[str]) -> pl.Expr:
    """One JSON object per row: feature values (floats to 4 places), the level condition that
    fired and all the rule's conditions."""
    cols = [pl.col(f).round(4) if rows.schema[f].is_float() else pl.col(f) for f in fields]
    cols = [c.dt.to_string("%Y-%m-%d %H:%M:%S") if rows.schema[f] in (pl.Datetime, pl.Date) else c
            for c, f in zip(cols, fields)]
    features = pl.struct(cols).struct.json_encode() if cols else pl.lit("{}")
    level_cond = pl.col("level").replace_strict(
        {k: json.dumps(v, ensure_ascii=False) for k, v in rule.level_text.items()}, return_dtype=pl.String)
    body = features.str.strip_suffix("}")
    return pl.concat_str([
        body, pl.when(body == "{").then(pl.lit("")).otherwise(pl.lit(",")),
        pl.lit('"level_condition":'), level_cond,
        pl.lit(',"conditions":' + json.dumps(rule.level_text, ensure_ascii=False) + "}"),
    ])


def _reasons(rule: Rule, rows: pl.DataFrame) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Per row: the reason's template id, its figures (JSON) and its text in STORED_LANGUAGE.

    A rule's own YAML reason wins; else the detector's reason module chooses per row; a detector
    without one keeps its plain default template (text only).
    """
    if rule.reason:
        text = rule.reason.get(STORED_LANGUAGE) or next(iter(rule.reason.values()))
        names, render = compile_reason(text)
        present = [n for n in {n for t in rule.reason.values() for n in compile_reason(t)[0]} if n in rows.columns]
        ids, args, texts = [], [], []
        for r in rows.select(present).iter_rows(named=True):
            ids.append(reasons.RULE_PREFIX + rule.id)
            args.append(json.dumps({k: reasons.plain(v) for k, v in r.items()}, ensure_ascii=False))
            texts.append(render(r))
        return ids, args, texts
    if reasons.templates(rule.detector):
        ids, args, texts = [], [], []
        for r in rows.iter_rows(named=True):
            chosen = reasons.choose(rule.detector, r["level"], r, rule.params)
            assert chosen is not None
            ids.append(chosen.id)
            args.append(json.dumps(chosen.args, ensure_ascii=False))
            # a report row (late but done) is counted, never read as a sentence in a queue or a mail:
            # its reason stays as data (id + figures) and is rendered only when someone asks
            text = None if r["level"] == REPORT else reasons.render(chosen.id, chosen.args, STORED_LANGUAGE)
            texts.append(text if r["level"] == REPORT else text or "")
        return ids, args, texts
    from detectors import REGISTRY

    names, render = compile_reason(REGISTRY[rule.detector].reason_zh(rule.params))
    present = [n for n in names if n in rows.columns]
    texts = [render(r) for r in rows.select(present).iter_rows(named=True)]
    return [None] * len(texts), [None] * len(texts), texts


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
    context = [c for c in ("sku", "line_no") if c in rows.columns]
    if context:
        lines_fired = rows.group_by("subject").len(name="lines_fired")
        rows = rows.unique(subset="subject", keep="first", maintain_order=True).join(lines_fired, on="subject")
        context.append("lines_fired")
    fields = [f for f in features if f in rows.columns] + context
    ids, args, texts = _reasons(rule, rows)
    return rows.select(
        pl.lit(rule.id).alias("rule_id"), pl.lit(kind).alias("kind"), "level",
        pl.lit(rule.department).alias("department"), "subject",
        *[pl.col(c) if c in rows.columns else pl.lit(None, dtype=FLAG_SCHEMA[c]).alias(c)
          for c in ("order_id", "store_id", "store_name", "occurred_at")],
        pl.lit(rule.title.get("zh", rule.id)).alias("title"),
        pl.Series("reason", texts, dtype=pl.String),
        _evidence(rule, rows, fields).alias("evidence"),
        pl.Series("reason_id", ids, dtype=pl.String),
        pl.Series("reason_args", args, dtype=pl.String),
    ).select([pl.col(c).cast(t) for c, t in FLAG_SCHEMA.items()])
