"""Rendering many reasons at once: per template, each figure formatted once per distinct value.

Why: a scan can raise hundreds of thousands of flags and their sentences come from a handful of
templates whose figures repeat (the same day, the same quantity, the same ratio).  Rendering
each row through :func:`rules.reasons.render` parses the template and formats every figure
again; here the rows are grouped by template, the template's parts are taken apart once, each
figure column is formatted once per distinct value, and the sentence is joined from the
pieces.  The text is the same as :func:`rules.reasons.render` gives row by row (tested over the
demo's flags and a bench world's), which stays the one path for pages (markup) and for the
findings another flag explains (``also``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import polars as pl

from i18n.vocabulary import FEATURE_VALUES
from rules import reasons
from rules.reasons import sentence

_PLAIN = (int, float, str, bool)
#: formats that change a text figure (``reasons._Formatter._field``): every other writes it as it is
_SHAPED = frozenset({"title", "fields", "kinds", "day", *FEATURE_VALUES})


def _formatted(values: list[Any], spec: str, fmt: Any) -> list[str | None]:
    """Each value as the formatter writes it with ``spec``; None where it is missing."""
    plain_text = spec not in _SHAPED and isinstance(fmt, reasons._Formatter) and not fmt.markup
    if plain_text and all(type(v) is str or v is None for v in values):
        # identifiers (order ids, SKUs, stores): a text figure is written as it is, whatever its
        # format (``_Formatter._field``), and a loose scan's are all different: no call per value
        return [None if v is None or not v.strip() else v for v in values]
    seen: dict[tuple[type, Any], str | None] = {}
    out: list[str | None] = []
    for v in values:
        t = type(v)
        # a list of plain items (kinds, fields) repeats across a scan's flags as much as a
        # number does: each distinct one is listed once (babel's list pattern per call)
        key = (t, v) if t in _PLAIN else _list_key(v) if t is list else None
        if key is not None:
            if key in seen:
                out.append(seen[key])
                continue
            text = seen[key] = None if sentence.missing(v) else fmt.format_field(v, spec)
        else:                        # None, or a mapping (a title), or a list of anything else
            text = None if sentence.missing(v) else fmt.format_field(v, spec)
        out.append(text)
    return out


def _list_key(items: list[Any]) -> tuple | None:
    """A hashable key of a list of plain items, their types in it (1, 1.0 and True differ)."""
    if not all(type(i) in _PLAIN for i in items):
        return None
    return (list, tuple((type(i), i) for i in items))


def _sentences(text: str, rows: list[dict[str, Any]], fmt: Any) -> list[str | None]:
    """``text`` filled for each row (None where a required figure is missing), as
    ``sentence.fill`` would: a part without all its figures is left out when optional, and
    makes the sentence impossible when not; runs of spaces after text become one."""
    columns: dict[tuple[str, str], str] = {}
    data: dict[str, pl.Series] = {}
    parts = []
    for optional, part in sentence.parts(text):
        pieces: list[pl.Expr] = []
        for lit, name, spec in sentence.pieces(part):
            if lit:
                pieces.append(pl.lit(lit))
            if name is None:
                continue
            col = columns.get((name, spec))
            if col is None:
                col = columns[(name, spec)] = f"_f{len(columns)}"
                data[col] = pl.Series(col, _formatted([r.get(name) for r in rows], spec, fmt), dtype=pl.String)
            pieces.append(pl.col(col))
        if not pieces:
            continue
        joined = pl.concat_str(pieces)                       # null when a figure is missing
        parts.append(joined.fill_null("") if optional else joined)
    frame = pl.DataFrame(data, height=len(rows)) if data else pl.DataFrame({"_": [0] * len(rows)})
    whole = pl.concat_str(parts) if parts else pl.lit("")
    said = frame.select(whole.str.replace_all(r"(\S) {2,}", "${1} ").str.strip_chars().alias("s"))
    return said.get_column("s").to_list()


def render_many(items: Sequence[tuple[str | None, dict[str, Any] | None]], lang: str,
                rule_templates: dict[str, str] | None = None) -> list[str | None]:
    """``[reasons.render(id, args, lang, rule_templates) for id, args in items]``, batched."""
    out: list[str | None] = [None] * len(items)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (rid, args) in enumerate(items):
        if not rid:
            continue
        if args and args.get(reasons.ALSO):       # other findings' sentences follow: row by row
            out[i] = reasons.render(rid, args, lang, rule_templates)
        else:
            groups[rid].append(i)
    for rid, idx in groups.items():
        rows = [items[i][1] or {} for i in idx]
        if rid.startswith(reasons.RULE_PREFIX):
            if not rule_templates:
                continue
            text = rule_templates.get(lang) or rule_templates.get("zh") or next(iter(rule_templates.values()))
            fmt: Any = _RuleFormatter()
        else:
            msg = reasons.template(rid)
            if msg is None:
                continue
            fmt = reasons.formatter(lang)
            text = fmt.gettext(msg)
        for i, said in zip(idx, _sentences(text, rows, fmt)):
            out[i] = said
    return out


class _RuleFormatter:
    """A rule author's own template: Python format specs (``sentence.python_field``)."""

    @staticmethod
    def format_field(value: Any, spec: str) -> str:
        return sentence.python_field(value, spec)


__all__ = ["render_many"]
