"""Per-format readers: one file -> a table of ALL-STRING columns plus the record's line number.

Every reader returns a :class:`RawTable`:

* ``frame``: one column per header (original header text, String) plus ``_line`` (Int64),
  the physical position of the record in the file: CSV/JSON-lines line where the record
  starts (header = line 1); Excel sheet row (header row 1); JSON array element index + 1;
  Parquet row index + 2.
* ``bad``: records rejected while reading (ragged CSV rows, malformed JSON lines) as
  ``line, reason, raw``.  ``frame.height + bad.height`` is the number of records read.

Blank lines / empty sheet rows are not records.  Values are never interpreted here beyond
turning typed cells into text (identifiers such as ``17850.0`` become ``"17850"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import polars as pl

from .csv_reader import python_csv, read_csv
from .encoding import decode_all, detect
from .errors import IngestError
from .table import (
    LINE,
    RawTable,
    _bad_frame,
    _drop_blank_rows,
    _with_line,
    empty_bad,
    stringify,
)

__all__ = ["LINE", "RawTable", "python_csv", "read_csv", "read_table"]


# -- Excel ----------------------------------------------------------------------------------
def read_excel(path: Path) -> RawTable:
    df = pl.read_excel(
        path,
        engine="calamine",
        infer_schema_length=0,
        drop_empty_rows=False,
        drop_empty_cols=False,
        raise_if_empty=False,
    )
    # nameless all-empty columns (formatting only) are not columns
    keep = [
        c
        for c in df.columns
        if not (c.startswith("__UNNAMED__") and df[c].null_count() == df.height)
    ]
    df = stringify(df.select(keep))
    df = _drop_blank_rows(_with_line(df, 2))
    return RawTable(df, empty_bad(), "xlsx")


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


def _python_ndjson(lines: list[tuple[int, str]]) -> RawTable:
    records: list[dict] = []
    line_nos: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for no, text in lines:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            bad.append((no, f"JSON 格式错误: {exc}", text))
            continue
        if not isinstance(obj, dict):
            bad.append((no, "JSON 行不是对象", text))
            continue
        records.append({str(k): _scalar_text(v) for k, v in obj.items()})
        line_nos.append(no)
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    data = {LINE: pl.Series(LINE, line_nos, dtype=pl.Int64)}
    for k in keys:
        data[k] = pl.Series(k, [r.get(k) for r in records], dtype=pl.String)
    return RawTable(pl.DataFrame(data), _bad_frame(bad), "jsonl")


def read_ndjson(path: Path) -> RawTable:
    enc = detect(path)
    text, enc = decode_all(path, enc)
    data = text.encode("utf-8")
    lines = (
        pl.scan_lines(data, name="text", row_index_name=LINE, row_index_offset=1)
        .filter(pl.col("text").str.strip_chars() != "")
        .collect()
        .with_columns(pl.col(LINE).cast(pl.Int64))
    )
    if lines.height == 0:
        return RawTable(pl.DataFrame(schema={LINE: pl.Int64()}), empty_bad(), "jsonl", enc)
    try:
        df = pl.read_ndjson(data, infer_schema_length=None)
        if df.height != lines.height:
            raise ValueError("line count mismatch")
        table = RawTable(stringify(df).with_columns(lines[LINE]).select(
            LINE, *df.columns), empty_bad(), "jsonl")
    except Exception:  # noqa: BLE001 - malformed lines: find them one by one
        table = _python_ndjson(list(zip(lines[LINE].to_list(), lines["text"].to_list())))
    table.encoding = enc
    return table


def read_json(path: Path) -> RawTable:
    enc = detect(path)
    text, enc = decode_all(path, enc)
    head = text.lstrip()[:1]
    if head == "{":  # JSON lines saved as .json
        return read_ndjson(path)
    if head != "[":
        raise IngestError(f"{path}: JSON 文件应为对象数组 [{{...}}, ...] 或每行一个对象")
    df = pl.read_json(text.encode("utf-8"), infer_schema_length=None)
    df = _with_line(stringify(df), 2)
    return RawTable(df, empty_bad(), "json", enc)


# -- Parquet --------------------------------------------------------------------------------
def read_parquet(path: Path) -> RawTable:
    df = pl.read_parquet(path)
    return RawTable(_with_line(stringify(df), 2), empty_bad(), "parquet")


READERS: dict[str, tuple[str, Callable[[Path], RawTable]]] = {
    ".csv": ("CSV", read_csv),
    ".tsv": ("CSV", read_csv),
    ".txt": ("CSV", read_csv),
    ".xlsx": ("Excel", read_excel),
    ".xlsm": ("Excel", read_excel),
    ".xls": ("Excel", read_excel),
    ".json": ("JSON", read_json),
    ".jsonl": ("JSON lines", read_ndjson),
    ".ndjson": ("JSON lines", read_ndjson),
    ".parquet": ("Parquet", read_parquet),
    ".pq": ("Parquet", read_parquet),
}


def read_table(path: str | Path) -> RawTable:
    """Read any supported file; IngestError (naming the file) if it cannot be read at all."""
    p = Path(path)
    if not p.exists():
        raise IngestError(f"{p}: 文件不存在")
    if not p.is_file():
        raise IngestError(f"{p}: 不是文件")
    ext = p.suffix.lower()
    if ext not in READERS:
        known = " ".join(sorted(READERS))
        raise IngestError(f"{p}: 不支持的文件格式 {ext or '(无扩展名)'}，支持: {known}")
    kind, reader = READERS[ext]
    try:
        return reader(p)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise IngestError(f"{p}: 无法读取 {kind} 文件: {type(exc).__name__}: {detail}") from None
