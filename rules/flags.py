"""Turn the engine's decisions into flag records: one per rule and subject, with evidence.

Line-grain rules may fire on several lines of one order; the order gets one flag, at the
most severe level, whose evidence is the worst line plus how many lines fired.  Evidence is
built by polars (a JSON object per row); only the reason is made in Python: which sentence and
its figures (``reason_id``, ``reason_args``: rules/reasons/) and that sentence in the default
language (``reason``), so every reader can later get it in their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl

from contracts.schema import FLAG_SCHEMA
from rules import reasons
from rules.reasons import sentence
from rules.reasons.batch import render_many
from rules.reasons.vector import choose_all
from rules.model import LEVEL_ORDER, REPORT, Rule

#: ``json.dumps(..., ensure_ascii=False)`` without building an encoder per flag (same text)
_to_json = json.JSONEncoder(ensure_ascii=False).encode
#: the language of the stored ``reason`` text (files, mails); readers get theirs from reason_id/args
STORED_LANGUAGE = "zh"


def compile_reason(template: str) -> tuple[list[str], Callable[[dict[str, Any]], str]]:
    """The fields a rule's own reason template reads, and a function rendering it from a row.

    Rendering goes through ``rules.reasons.sentence``: a ``[[ … ]]`` part without its figures
    is left out; a required figure missing raises ``sentence.Incomplete`` (never a dash).
    """
    names = sentence.names(template)

    def render(row: dict[str, Any]) -> str:
        return sentence.fill(template, row, sentence.python_field)

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
    without one keeps its plain default template.  A row whose figures a template cannot carry
    gets the rule's title said about its order (``reasons.by_title``), never a dash.
    """
    ids: list[str | None] = []
    args: list[str | None] = []
    texts: list[str | None] = []
    # sentences are rendered together at the end (rules.reasons.batch): position -> (id, figures)
    pending: dict[int, tuple[str, dict[str, Any]]] = {}

    def add(reason: reasons.Reason, rendered: bool = True) -> None:
        if rendered:
            pending[len(texts)] = (reason.id, reason.args)
        ids.append(reason.id)
        args.append(_to_json(reason.args))
        texts.append(None)

    def done() -> tuple[list[str | None], list[str | None], list[str | None]]:
        said = render_many(list(pending.values()), STORED_LANGUAGE, rule.reason)
        for i, text in zip(pending, said):
            texts[i] = text or ""
        return ids, args, texts

    if rule.reason:
        wanted = [n for n in {n for t in rule.reason.values() for n in sentence.names(t)} if n in rows.columns]
        context = [c for c in ("order_id", "store_id") if c in rows.columns and c not in wanted]
        for r in rows.select(*wanted, *context).iter_rows(named=True):
            figures = {k: reasons.plain(v) for k, v in r.items() if k in wanted}
            if all(not sentence.lacking(t, figures) for t in rule.reason.values()):
                add(reasons.Reason(reasons.RULE_PREFIX + rule.id, figures))
            else:
                add(reasons.by_title(r, rule.title))
        return done()
    chosen_all = choose_all(rule.detector, rows, rule.params, rule.title) if reasons.templates(rule.detector) else None
    if chosen_all is not None:     # the detector's choice as expressions (rules.reasons.vector)
        ids, args, figures = chosen_all
        texts = [None] * len(ids)
        # a report row (late but done) is counted, never read as a sentence in a queue or a mail:
        # its reason stays as data (id + figures) and is rendered only when someone asks
        for i, level in enumerate(rows.get_column("level").to_list()):
            if level != REPORT:
                pending[i] = (ids[i], figures[i])
        return done()
    if reasons.templates(rule.detector):
        for r in rows.iter_rows(named=True):
            chosen = reasons.choose(rule.detector, r["level"], r, rule.params, rule.title)
            assert chosen is not None
            # a report row (late but done) is counted, never read as a sentence in a queue or a mail:
            # its reason stays as data (id + figures) and is rendered only when someone asks
            add(chosen, rendered=r["level"] != REPORT)
        return done()
    from detectors import REGISTRY

    names, render = compile_reason(REGISTRY[rule.detector].reason_zh(rule.params))
    present = [n for n in names if n in rows.columns]
    context = [c for c in ("order_id", "store_id") if c in rows.columns and c not in present]
    for r in rows.select(*present, *context).iter_rows(named=True):
        try:
            texts.append(render(r))
            ids.append(None)
            args.append(None)
        except sentence.Incomplete:
            add(reasons.by_title(r, rule.title))
    return done()


def build_flags(rule: Rule, kind: str, features: list[str], candidates: pl.DataFrame,
                fired: pl.DataFrame) -> pl.DataFrame:
    """Join decisions (``_row``, ``level``) to candidate rows and render flags for ``rule``."""
    if fired.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    # ties (same level, same first figure) go to the order's first line (line number, then SKU):
    # the candidates' row order is the detectors' and may change between runs, the line must not
    rows = candidates.join(fired, on="_row", how="inner", maintain_order="left").with_columns(
        pl.col("level").replace_strict(LEVEL_ORDER, return_dtype=pl.Int8).alias("_sev")
    )
    sort_key = [c for c in rule.fields if c in rows.columns and rows.schema[c].is_numeric()][:1]
    ties = [c for c in ("line_no", "sku") if c in rows.columns]
    rows = rows.sort(["_sev", *sort_key, *ties], descending=[True] * (1 + len(sort_key)) + [False] * len(ties),
                     nulls_last=True, maintain_order=True)
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
