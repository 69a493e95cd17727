"""Excel: every sheet that holds order lines, its header found below any title rows, merged
cells filled, formulas by their cached value (a formula without one quarantines its row).

Real exports put a title ("2026年9月订单明细") and an export date above the header, merge an
order number down over its lines, and sometimes ship a summary or notes sheet beside the data;
reading only the first sheet with row 1 as the header loses or garbles all of that.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import fastexcel
import polars as pl

from .caps import ReadLimits
from .table import LINE, RawTable, _bad_frame, _drop_blank_rows, empty_bad
from .xlsx_meta import SheetMeta, inspect

#: how far down a header may sit below title rows
HEADER_SEARCH_ROWS = 30
#: a sheet looks like order lines when its header names at least this many canonical fields
MIN_RECOGNISED = 2

Recogniser = Callable[[list[str]], int]


def _cells(df: pl.DataFrame, row: int) -> list[str]:
    return [str(v).strip() for v in df.row(row) if v is not None and str(v).strip()]


def find_header(df: pl.DataFrame, recognise: Recogniser | None) -> tuple[int, int]:
    """(row index of the header, how many canonical fields it names) among the first rows."""
    n = min(df.height, HEADER_SEARCH_ROWS)
    if n == 0:
        return 0, 0
    filled = [len(_cells(df, i)) for i in range(n)]
    if recognise is not None:
        scores = [recognise(_cells(df, i)) if filled[i] >= 2 else 0 for i in range(n)]
        best = max(range(n), key=lambda i: (scores[i], -i))
        if scores[best] >= MIN_RECOGNISED:
            return best, scores[best]
    widest = max(filled)
    # a title row has one or two cells; the header is the first row about as wide as the data
    for i in range(n):
        if filled[i] and filled[i] >= max(2, 0.6 * widest) or filled[i] == widest:
            return i, 0
    return 0, 0


def _fill_merged(df: pl.DataFrame, meta: SheetMeta | None, row0: int, col0: int) -> pl.DataFrame:
    """Each merged range gets its top-left value in every cell (sheet → frame coordinates)."""
    if meta is None or not meta.merged:
        return df
    cols = {c: df[c].to_list() for c in df.columns}
    names = df.columns
    for r1, c1, r2, c2 in meta.merged:
        top, left = r1 - row0, c1 - col0
        if not (0 <= top < df.height and 0 <= left < len(names)):
            continue
        value = cols[names[left]][top]
        for c in range(max(left, 0), min(c2 - col0 + 1, len(names))):
            col = cols[names[c]]
            for r in range(max(top, 0), min(r2 - row0 + 1, df.height)):
                col[r] = value
    return pl.DataFrame({c: pl.Series(c, v, dtype=pl.String) for c, v in cols.items()})


def _headers(values: list[object]) -> list[str]:
    out, seen = [], {}
    for i, v in enumerate(values):
        name = str(v).strip() if v is not None and str(v).strip() else f"__UNNAMED__{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_duplicated_{seen[name] - 1}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _sheet_table(raw: pl.DataFrame, meta: SheetMeta | None, row0: int, col0: int,
                 recognise: Recogniser | None) -> tuple[RawTable, int]:
    """One sheet's rows (sheet row numbers in ``_line``) and how many order fields it names."""
    counted = 0
    if raw.height == 0 or raw.width == 0:
        return RawTable(pl.DataFrame(schema={LINE: pl.Int64()}), empty_bad(), "xlsx", counted=0), 0
    h, score = find_header(raw, recognise)
    filled = _fill_merged(raw, meta, row0, col0)
    names = _headers(list(filled.row(h)))
    body = filled.slice(h + 1).rename(dict(zip(filled.columns, names)))
    body = body.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).add(row0 + h + 1).alias(LINE))
    # counted before header naming, column pruning and formula checks: rows with any value
    original = filled.slice(h + 1).with_columns(pl.lit(0, dtype=pl.Int64).alias(LINE))
    counted = _drop_blank_rows(original).height
    keep = [c for c in names if not (c.startswith("__UNNAMED__") and body[c].null_count() == body.height)]
    body = _drop_blank_rows(body.select(LINE, *keep))
    bad = empty_bad()
    if meta is not None and meta.uncached:
        rows = {r: cells for r, cells in meta.uncached.items() if r > row0 + h}
        if rows:
            hit = body.filter(pl.col(LINE).is_in(list(rows)))
            bad = _bad_frame([
                (line, f"公式没有缓存值: {', '.join(rows[line])}（请在 Excel 中重新计算并保存后再导出）",
                 str({k: v for k, v in r.items() if k != LINE and v is not None}))
                for line, r in zip(hit[LINE].to_list(), hit.iter_rows(named=True))])
            body = body.filter(~pl.col(LINE).is_in(list(rows)))
    return RawTable(body, bad, "xlsx", counted=counted), score


def read_excel_sheets(path: Path, limits: ReadLimits | None = None, sheet: str | None = None,
                      recognise: Recogniser | None = None) -> list[tuple[str, RawTable]]:
    """(sheet name, table) for every sheet that looks like order lines, or the named one.

    With no sheet naming enough canonical fields, the first non-empty sheet is returned (its
    missing columns are then reported like any file's).
    """
    metas = inspect(path, limits) if path.suffix.lower() in (".xlsx", ".xlsm") else {}
    reader = fastexcel.read_excel(path)
    names = reader.sheet_names
    if sheet is not None:
        if sheet not in names:
            from .errors import IngestError
            raise IngestError(f"{path}: 没有名为 {sheet!r} 的工作表 (有: {', '.join(names)})")
        names = [sheet]
    found: list[tuple[str, RawTable, int]] = []
    for name in names:
        loaded = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        cols = loaded.available_columns()
        col0 = (cols[0].absolute_index + 1) if cols else 1
        raw = loaded.to_polars()
        raw = raw.rename({c: f"c{i}" for i, c in enumerate(raw.columns)})
        table, score = _sheet_table(raw, metas.get(name), 1, col0, recognise)
        found.append((name, table, score))
    chosen = [(n, t) for n, t, s in found if s >= MIN_RECOGNISED] if sheet is None else \
        [(n, t) for n, t, _ in found]
    if not chosen:
        chosen = [next(((n, t) for n, t, _ in found if t.records), (found[0][0], found[0][1]))] if found else []
    return chosen
