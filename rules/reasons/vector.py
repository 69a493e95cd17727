"""Choosing reasons set-wise: each detector's sentence choice as polars expressions.

Why: a loose rule or a backlog's first scan raises hundreds of thousands of flags, and choosing
each one's sentence in Python (``rules.reasons.choose``: a dict per row, the fallbacks tried
per row) cost more than storing them.  A reason module that defines ``exprs(c, params)`` says
the same choice as expressions over the feature columns — the template key, the figures in the
order the sentence's JSON keeps them, and for a figure that only some rows carry, when it is
there — and :func:`choose_all` settles the fallbacks for every row at once (a template whose
required figures are missing gives way to its ``FALLBACKS``, then to the rule's title, exactly
as :func:`rules.reasons.settle`).  The Python ``choose`` stays the reference: the tests compare
both on varied frames, figure by figure and key by key.

Python's truthiness is spelled out where polars differs: ``(x or 0) > t`` (a missing figure
counts as 0, NaN is never greater), ``x == 1`` (missing is not equal), ``round`` half to even.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl

from rules import reasons
from rules.reasons import sentence

_to_json = json.JSONEncoder(ensure_ascii=False).encode
_OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class Cols:
    """Column access with ``row.get`` semantics: a column the frame lacks reads as missing."""

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema

    def __call__(self, name: str) -> pl.Expr:
        return pl.col(name) if name in self.schema else pl.lit(None)

    def has(self, name: str) -> bool:
        return name in self.schema

    def _float(self, name: str) -> bool:
        return name in self.schema and self.schema[name].is_float()

    def or0(self, name: str, op: str, bound: float) -> pl.Expr:
        """``(row.get(name) or 0) <op> bound``: missing counts as 0; NaN compares false."""
        if name not in self.schema:
            return pl.lit(_OPS[op](0, bound))
        x = pl.col(name)
        test = _OPS[op](x, bound)
        if self._float(name):
            test = test & x.is_not_nan()
        return pl.when(x.is_null()).then(pl.lit(_OPS[op](0, bound))).otherwise(test)

    def eq(self, name: str, value: Any) -> pl.Expr:
        """``row.get(name) == value`` (a missing figure equals nothing)."""
        return (pl.col(name) == value).fill_null(False) if name in self.schema else pl.lit(False)

    def null(self, name: str) -> pl.Expr:
        """``row.get(name) is None`` (NaN is not None)."""
        return pl.col(name).is_null() if name in self.schema else pl.lit(True)

    def near_power_of_ten(self, name: str, tolerance: float = 0.15) -> pl.Expr:
        """:func:`rules.reasons.near_power_of_ten` of the column."""
        if name not in self.schema:
            return pl.lit(False)
        r = pl.col(name).cast(pl.Float64)
        k = r.log10().round(0, mode="half_to_even")
        shaped = (k >= 1) & ((r / pl.lit(10.0).pow(k) - 1).abs() <= tolerance)
        return ((r > 0) & r.is_finite() & shaped).fill_null(False)


def _plain(e: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``reasons.plain`` of a float figure: NaN and infinities become missing."""
    return pl.when(e.is_finite()).then(e).otherwise(None) if dtype.is_float() else e


def _missing(name: str, dtype: pl.DataType) -> pl.Expr:
    """``sentence.missing`` of a figure column (after ``_plain``)."""
    x = pl.col(name)
    out = x.is_null()
    if dtype == pl.String:
        out = out | (x.str.strip_chars() == "")
    elif isinstance(dtype, pl.List):
        out = out | (x.list.len() == 0)
    return out


def _settle(frame: pl.DataFrame, templates: dict[str, str], fallbacks: dict[str, str]) -> pl.Series:
    """The key every row ends at: its own, else its fallbacks in turn; None when none fits."""
    schema = frame.schema
    lack: dict[str, pl.Expr] = {}
    for k, text in templates.items():
        need = sentence.required(text)
        if any(n not in schema for n in need):
            lack[k] = pl.lit(True)
        else:
            lack[k] = pl.any_horizontal([_missing(n, schema[n]) for n in need]) if need else pl.lit(False)
    f = frame
    for _ in range(len(templates) + 1):
        f = f.with_columns(_u=_lacks(lack))
        if not f.get_column("_u").any():
            break
        f = f.with_columns(_key=pl.when(pl.col("_u")).then(
            pl.col("_key").replace_strict(fallbacks, default=None, return_dtype=pl.String)).otherwise(pl.col("_key")))
    else:                # a cycle of fallbacks: the rule's title
        f = f.with_columns(_key=pl.when(_lacks(lack)).then(None).otherwise(pl.col("_key")))
    return f.get_column("_key")


def _lacks(lack: dict[str, pl.Expr]) -> pl.Expr:
    """True where the row's key is no template, or lacks a figure its template requires."""
    k = pl.col("_key")
    expr = pl.lit(True)    # an unknown key (or none) is settled by the rule's title
    for name, missing in reversed(lack.items()):
        expr = pl.when(k == name).then(missing).otherwise(expr)
    return pl.when(k.is_null()).then(pl.lit(False)).otherwise(expr)


def choose_all(detector: str, rows: pl.DataFrame, params: dict[str, Any],
               title: dict[str, str] | None) -> tuple[list[str], list[str], list[dict[str, Any]]] | None:
    """Per row: the reason id, its figures as JSON and as a dict (for rendering), as
    ``reasons.choose`` gives them; None when the detector's module has no ``exprs``."""
    mod = reasons._module(detector)
    if mod is None or not hasattr(mod, "exprs"):
        return None
    key, args, present = mod.exprs(Cols(rows.schema), params)
    picked = rows.select(key.alias("_key"), *[e.alias(n) for n, e in args.items()],
                         *[e.fill_null(False).alias(f"_has_{n}") for n, e in present.items()])
    figures = picked.select("_key", *[_plain(pl.col(n), picked.schema[n]).alias(n) for n in args],
                            *[f"_has_{n}" for n in present])
    key_s = _settle(figures.drop([f"_has_{n}" for n in present]), mod.TEMPLATES, getattr(mod, "FALLBACKS", {}))
    values = figures.select(list(args))
    for n, dtype in values.schema.items():          # dates as reasons.plain writes them
        if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
            values = values.with_columns(pl.Series(n, [v.isoformat() if isinstance(v, date) else v
                                                       for v in values.get_column(n).to_list()], dtype=pl.String))
    dicts = values.to_dicts()
    for n in present:
        for d, there in zip(dicts, figures.get_column(f"_has_{n}").to_list()):
            if not there:
                del d[n]
    ids: list[str] = []
    texts: list[str] = []
    keys = key_s.to_list()
    context = None
    for i, (k, d) in enumerate(zip(keys, dicts)):
        if k is None:            # no template of the detector fits: the rule's title about the order
            if context is None:
                context = rows.select([c for c in ("order_id", "store_id") if c in rows.columns]).to_dicts()
            r = reasons.by_title(context[i], title, detector)
            ids.append(r.id)
            dicts[i] = r.args
        else:
            ids.append(f"{detector}.{k}")
        texts.append(_to_json(dicts[i]))
    return ids, texts, dicts


__all__ = ["Cols", "choose_all"]
