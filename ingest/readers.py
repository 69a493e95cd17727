"""Per-format readers: one file -> a table of ALL-STRING columns plus the record's line number.

Every reader returns a :class:`RawTable`:

* ``frame``: one column per header (original header text, String) plus ``_line`` (Int64),
  the physical position of the record in the file: CSV/JSON-lines line where the record
  starts (header = line 1); Excel sheet row (the header may sit below title rows); JSON
  array element index + 2; Parquet row index + 2.
* ``bad``: records rejected while reading (ragged CSV rows, undecodable lines, malformed JSON
  lines, formulas without a cached value) as ``line, reason, raw``.
  ``frame.height + bad.height`` is the number of records read.
* ``counted``: the number of records counted another way (the CSV dialect's count of
  ``ingest.recount``, non-empty JSON lines, array elements, sheet rows, Parquet metadata);
  reconciliation fails loudly when it differs from the records read.

Blank lines / empty sheet rows are not records.  Values are never interpreted here beyond
turning typed cells into text (identifiers such as ``17850.0`` become ``"17850"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import polars as pl

from .caps import ReadLimits, TooLarge
from .csv_reader import python_csv, read_csv
from .encoding import decode_rows, detect
from .errors import IngestError
from .excel_reader import Recogniser, read_excel_sheets
from .recount import normalise_newlines
from .table import (
    LINE,
    RawTable,
    _bad_frame,
    _with_line,
    empty_bad,
    stringify,
)

__all__ = ["LINE", "RawTable", "python_csv", "read_csv", "read_table", "read_tables"]


# -- JSON -----------------------------------------------------------------------------------
def _scalar_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


#: deeper JSON than this is not an order line (and would exhaust the parser's stack)
MAX_JSON_DEPTH = 64


def _depth_ok(text: str) -> bool:
    """Cheap upper bound of nesting depth: brackets opened before any closes."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_JSON_DEPTH:
                    return False
        elif ch in "]}":
            depth -= 1
    return True


def _load_one(text: str, check_depth: bool = True) -> tuple[object | None, str | None]:
    """(value, None) or (None, reason) for one JSON text; never raises.

    ``check_depth``: refuse lines nested deeper than MAX_JSON_DEPTH (a character loop: for
    single lines, not whole files, where the parser's own recursion limit answers)."""
    if check_depth and not _depth_ok(text):
        return None, f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON 嵌套过深"
    except ValueError as exc:
        return None, f"JSON 格式错误: {exc}"


def _records_table(items: list[tuple[int, object]], bad: list[tuple[int, str, str]], fmt: str,
                   raw_of: Callable[[object], str]) -> RawTable:
    records: list[dict] = []
    line_nos: list[int] = []
    for no, obj in items:
        if not isinstance(obj, dict):
            bad.append((no, "JSON 记录不是对象 {...}", raw_of(obj)))
            continue
        records.append({str(k): _scalar_text(v) for k, v in obj.items()})
        line_nos.append(no)
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    data = {LINE: pl.Series(LINE, line_nos, dtype=pl.Int64)}
    for k in keys:
        data[k] = pl.Series(k, [r.get(k) for r in records], dtype=pl.String)
    return RawTable(pl.DataFrame(data), _bad_frame(sorted(bad)), fmt)


def _python_ndjson(lines: list[tuple[int, str]]) -> RawTable:
    items: list[tuple[int, object]] = []
    bad: list[tuple[int, str, str]] = []
    for no, text in lines:
        obj, problem = _load_one(text)
        if problem:
            bad.append((no, problem, text))
        else:
            items.append((no, obj))
    return _records_table(items, bad, "jsonl", lambda o: json.dumps(o, ensure_ascii=False)[:2000])


def _decoded_text(path: Path) -> tuple[str, str, list]:
    enc = detect(path)
    dec = decode_rows(path.read_bytes(), str(path), enc)
    return normalise_newlines(dec.text), dec.encoding, dec.bad


def _ndjson_text(text: str, enc: str, undecodable: list) -> RawTable:
    data = text.encode("utf-8")
    lines = (
        pl.scan_lines(data, name="text", row_index_name=LINE, row_index_offset=1)
        .filter(pl.col("text").str.strip_chars() != "")
        .collect()
        .with_columns(pl.col(LINE).cast(pl.Int64))
    )
    table: RawTable | None = None
    if lines.height and lines["text"].str.len_bytes().max() < 1_000_000:
        try:
            df = pl.read_ndjson(data, infer_schema_length=None)
            if df.height == lines.height:
                table = RawTable(stringify(df).with_columns(lines[LINE]).select(LINE, *df.columns),
                                 empty_bad(), "jsonl")
        except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - find bad lines one by one
            table = None
    if table is None:
        table = _python_ndjson(list(zip(lines[LINE].to_list(), lines["text"].to_list())))
    if undecodable:
        extra = _bad_frame([(b.line, b.reason(enc), b.raw) for b in undecodable])
        table.bad = pl.concat([table.bad, extra]).sort("line")
    table.encoding = enc
    table.counted = lines.height + len(undecodable)
    return table


def read_ndjson(path: Path) -> RawTable:
    return _ndjson_text(*_decoded_text(path))


def read_json(path: Path) -> RawTable:
    """A JSON array of objects, one JSON object (one record), or JSON lines saved as .json."""
    text, enc, undecodable = _decoded_text(path)
    body = text.lstrip()
    head = body[:1]
    if head == "{":
        whole, problem = _load_one(body, check_depth=False) if not undecodable else (None, "")
        if isinstance(whole, dict):  # one (maybe pretty-printed) object: one record
            table = _records_table([(1, whole)], [], "json", str)
            table.encoding, table.counted = enc, 1
            return table
        if problem and "嵌套" in problem:
            raise IngestError(f"{path}: {problem}")
        return _ndjson_text(text, enc, undecodable)  # JSON lines saved as .json
    if head != "[":
        raise IngestError(f"{path}: JSON 文件应为对象数组 [{{...}}, ...]、一个对象 {{...}} 或每行一个对象")
    if undecodable:
        raise IngestError(f"{path}: 第 {undecodable[0].line} 行无法解码 ({undecodable[0].reason(enc)})，"
                          f"JSON 数组无法按行隔离")
    data, problem = _load_one(body, check_depth=False)   # the element count, made without polars
    if problem or not isinstance(data, list):
        raise IngestError(f"{path}: {problem or 'JSON 顶层不是数组'}")
    try:
        df = pl.read_json(text.encode("utf-8"), infer_schema_length=None)
        if df.height == len(data) and df.width:
            table = RawTable(_with_line(stringify(df), 2), empty_bad(), "json", enc)
            table.counted = len(data)
            return table
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - mixed elements: one by one
        pass
    table = _records_table([(i + 2, x) for i, x in enumerate(data)], [], "json",
                           lambda o: json.dumps(o, ensure_ascii=False)[:2000])
    table.encoding, table.counted = enc, len(data)
    return table


# -- Parquet --------------------------------------------------------------------------------
def read_parquet(path: Path) -> RawTable:
    df = pl.read_parquet(path)
    return RawTable(_with_line(stringify(df), 2), empty_bad(), "parquet")


def read_parquet_counted(path: Path) -> RawTable:
    table = read_parquet(path)
    table.counted = pl.scan_parquet(path).select(pl.len()).collect().item()
    return table


TEXT_READERS: dict[str, tuple[str, Callable[[Path], RawTable]]] = {
    ".csv": ("CSV", read_csv),
    ".tsv": ("CSV", read_csv),
    ".txt": ("CSV", read_csv),
    ".json": ("JSON", read_json),
    ".jsonl": ("JSON lines", read_ndjson),
    ".ndjson": ("JSON lines", read_ndjson),
    ".parquet": ("Parquet", read_parquet_counted),
    ".pq": ("Parquet", read_parquet_counted),
}
EXCEL = (".xlsx", ".xlsm", ".xls")
KNOWN = (*TEXT_READERS, *EXCEL)


def _check(p: Path) -> str:
    if not p.exists():
        raise IngestError(f"{p}: 文件不存在")
    if not p.is_file():
        raise IngestError(f"{p}: 不是文件")
    ext = p.suffix.lower()
    if ext not in KNOWN:
        known = " ".join(sorted(KNOWN))
        raise IngestError(f"{p}: 不支持的文件格式 {ext or '(无扩展名)'}，支持: {known}")
    return ext


def read_tables(path: str | Path, limits: ReadLimits | None = None, *, sheet: str | None = None,
                recognise: Recogniser | None = None) -> list[tuple[str, RawTable]]:
    """(label, table) per part of the file: one for text formats, one per order sheet of a
    workbook (label ``book.xlsx[Sheet]`` when there are several).  IngestError (naming the
    file) if it cannot be read at all; :class:`ingest.caps.TooLarge` past a cap."""
    p = Path(path)
    ext = _check(p)
    kind = "Excel" if ext in EXCEL else TEXT_READERS[ext][0]
    try:
        if ext in EXCEL:
            sheets = read_excel_sheets(p, limits, sheet, recognise)
            for _name, t in sheets if limits else ():
                limits.check_rows(t.records)
                limits.check_columns(len(t.headers))
            if len(sheets) == 1:
                return [(str(p), sheets[0][1])]
            return [(f"{p}[{name}]", t) for name, t in sheets]
        reader = TEXT_READERS[ext][1]
        if limits and reader is read_parquet_counted:  # from the metadata, before inflating
            lf = pl.scan_parquet(p)
            limits.check_columns(len(lf.collect_schema()))
            limits.check_rows(lf.select(pl.len()).collect().item())
        table = read_csv(p, limits) if reader is read_csv else reader(p)
        if limits and reader is not read_csv:
            limits.check_rows(table.records)
            limits.check_columns(len(table.headers))
        return [(str(p), table)]
    except TooLarge as exc:
        raise exc if str(exc).startswith(str(p)) else TooLarge(f"{p}: {exc}", exc.field) from None
    except IngestError as exc:
        raise exc if str(exc).startswith(str(p)) else IngestError(f"{p}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise IngestError(f"{p}: 无法读取 {kind} 文件: {type(exc).__name__}: {detail}") from None


def read_table(path: str | Path, limits: ReadLimits | None = None) -> RawTable:
    """The first (or only) table of a file — the catalog reader's entry point."""
    return read_tables(path, limits)[0][1]
