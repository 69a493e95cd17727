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

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import polars as pl

from .encoding import SAMPLE_BYTES, UTF8, UTF8_BOM, decode_all, detect
from .errors import IngestError

LINE = "_line"
BAD_SCHEMA = {"line": pl.Int64(), "reason": pl.String(), "raw": pl.String()}
SEPARATORS = (",", "\t", ";", "|")
QUOTE = '"'


@dataclass
class RawTable:
    frame: pl.DataFrame
    bad: pl.DataFrame
    format: str
    encoding: str | None = None

    @property
    def headers(self) -> list[str]:
        return [c for c in self.frame.columns if c != LINE]

    @property
    def records(self) -> int:
        return self.frame.height + self.bad.height


def empty_bad() -> pl.DataFrame:
    return pl.DataFrame(schema=BAD_SCHEMA)


def _bad_frame(rows: list[tuple[int, str, str]]) -> pl.DataFrame:
    if not rows:
        return empty_bad()
    return pl.DataFrame(rows, schema=BAD_SCHEMA, orient="row")


# -- typed columns -> text ------------------------------------------------------------------
def _float_to_text(name: str) -> pl.Expr:
    c = pl.col(name)
    integral = c.is_finite() & (c == c.round(0)) & (c.abs() < 2.0**53)
    return (
        pl.when(integral)
        .then(c.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(c.cast(pl.String, strict=False))
        .alias(name)
    )


def _to_text(name: str, dtype: pl.DataType) -> pl.Expr:
    c = pl.col(name)
    if dtype == pl.String:
        return c
    if dtype.is_float():
        return _float_to_text(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            return c.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(name)
        return c.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name)
    if dtype == pl.Date:
        return c.dt.strftime("%Y-%m-%d").alias(name)
    if isinstance(dtype, pl.Struct):
        return c.struct.json_encode().alias(name)
    if isinstance(dtype, (pl.List, pl.Array)):
        # encode {"name": [...]} and cut the value out: vectorised JSON of a list
        enc = pl.struct(c).struct.json_encode()
        prefix = len(json.dumps({name: None})) - len("null}")
        return enc.str.slice(prefix, enc.str.len_chars() - prefix - 1).alias(name)
    return c.cast(pl.String, strict=False).alias(name)


def stringify(df: pl.DataFrame) -> pl.DataFrame:
    """Every column as String, empty -> null; integral floats via Int64 (17850.0 -> "17850")."""
    exprs = [_to_text(n, t) for n, t in df.schema.items() if n != LINE]
    exprs = [pl.when(e != "").then(e).alias(e.meta.output_name()) for e in exprs]
    return df.with_columns(exprs) if exprs else df


def _with_line(df: pl.DataFrame, offset: int) -> pl.DataFrame:
    return df.with_row_index(LINE, offset=offset).with_columns(pl.col(LINE).cast(pl.Int64))


def _drop_blank_rows(df: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in df.columns if c != LINE]
    if not cols or df.height == 0:
        return df
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cols]
    )
    return df.filter(~blank)


# -- CSV ------------------------------------------------------------------------------------
def sniff_separator(header_line: str) -> str:
    """The separator of a header line: the most frequent of , TAB ; | outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {s: unquoted.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])  # ties keep the earlier (comma first)
    return best if counts[best] else ","


def _first_line(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].rstrip("\r")


def _scan_csv(source, sep: str, truncate: bool) -> pl.LazyFrame:
    return pl.scan_csv(
        source,
        separator=sep,
        infer_schema=False,
        empty_string_is_null=True,
        quote_char=QUOTE,
        row_index_name=LINE,
        row_index_offset=2,
        truncate_ragged_lines=truncate,
        raise_if_empty=False,
        encoding="utf8",
        glob=False,
    ).with_columns(pl.col(LINE).cast(pl.Int64))


def _count_lines(source) -> int:
    """Physical lines, quotes ignored (polars' newline-counting fast path)."""
    return (
        pl.scan_csv(source, has_header=False, separator="\x1f", quote_char=None,
                    infer_schema=False, raise_if_empty=False, truncate_ragged_lines=True,
                    glob=False)
        .select(pl.len())
        .collect()
        .item()
    )


def _scan_lines(source) -> pl.LazyFrame:
    return pl.scan_lines(
        source, name="line", row_index_name=LINE, row_index_offset=1, glob=False
    ).with_columns(pl.col(LINE).cast(pl.Int64))


def _field_counts(lines: pl.DataFrame, sep: str) -> pl.Series:
    """Number of fields of each raw line (0 for a blank line); vectorised unless quoted."""
    raw = pl.col("line")
    counts = lines.select(
        pl.when(raw == "")
        .then(0)
        .otherwise(raw.str.count_matches(sep, literal=True) + 1)
        .cast(pl.Int64)
        .alias("n")
    )["n"]
    quoted = lines["line"].str.contains(QUOTE, literal=True)
    if quoted.any():
        idx = quoted.arg_true()
        texts = lines["line"].gather(idx).to_list()
        exact = [len(rec) for rec in csv.reader(texts, delimiter=sep, quotechar=QUOTE)]
        counts = counts.scatter(idx, pl.Series(exact, dtype=pl.Int64))
    return counts


def _fast_csv(source, sep: str) -> RawTable | None:
    """Polars reads the file; returns None when only the Python path can be exact."""
    truncated = False
    try:
        # a quoted newline makes physical lines outnumber records: only the csv-module
        # path numbers those exactly
        df = _scan_csv(source, sep, truncate=False).collect()
        n_lines = _count_lines(source)
    except pl.exceptions.ComputeError as exc:
        if "more fields" not in str(exc):
            raise
        df = _scan_csv(source, sep, truncate=True).collect()
        truncated = True
    headers = [c for c in df.columns if c != LINE]
    if not headers:
        return RawTable(df, empty_bad(), "csv")
    if truncated:
        # every row may be ragged; a quoted newline may hide in a truncated field
        lines = _scan_lines(source).collect()
        if lines.height != df.height + 1:
            return None
        lines = lines.slice(1)
        cand = df[LINE]
    else:
        if n_lines != df.height + 1:
            return None
        # polars pads a short row with nulls: rows whose last field is empty are checked
        # against their raw text
        cand = df.filter(pl.col(headers[-1]).is_null())[LINE]
        if cand.len() == 0:
            return RawTable(df, empty_bad(), "csv")
        lines = _scan_lines(source).filter(pl.col(LINE).is_in(cand.implode())).collect()
    if lines.height != cand.len():  # raw lines do not line up with records: be exact
        return None
    n = len(headers)
    lines = lines.with_columns(_field_counts(lines, sep).alias("n"))
    blank = lines.filter(pl.col("n") == 0)[LINE]
    ragged = lines.filter((pl.col("n") != 0) & (pl.col("n") != n))
    bad = ragged.select(
        pl.col(LINE).alias("line"),
        pl.format("列数不符: 期望 {} 列，实际 {} 列", pl.lit(n), pl.col("n")).alias("reason"),
        pl.col("line").alias("raw"),
    )
    drop = pl.concat([blank, ragged[LINE]])
    if drop.len():
        df = df.filter(~pl.col(LINE).is_in(drop.implode()))
    return RawTable(df, bad.cast(BAD_SCHEMA), "csv")


def _dedupe(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        if h in seen:
            out.append(f"{h}_duplicated_{seen[h]}")
            seen[h] += 1
        else:
            seen[h] = 0
            out.append(h)
    return out


def python_csv(text: str, sep: str) -> RawTable:
    """Exact, slower path: Python's csv module, tracking the physical start line of records."""
    csv.field_size_limit(2**31 - 1)
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    if physical and physical[0].startswith("\ufeff"):
        physical[0] = physical[0][1:]
    reader = csv.reader((ln + "\n" for ln in physical), delimiter=sep, quotechar=QUOTE)
    header: list[str] | None = None
    cols: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[int, str, str]] = []

    def raw_text(start: int, end: int) -> str:
        return "\n".join(ln.rstrip("\r") for ln in physical[start - 1 : end])

    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is not None:
                bad.append((start, f"CSV 格式错误: {exc}", raw_text(start, reader.line_num)))
            continue
        if not rec:
            continue  # blank line: not a record
        if header is None:
            header = _dedupe(rec)
            cols = [[] for _ in header]
            continue
        if len(rec) != len(header):
            reason = f"列数不符: 期望 {len(header)} 列，实际 {len(rec)} 列"
            bad.append((start, reason, raw_text(start, reader.line_num)))
            continue
        for col, value in zip(cols, rec):
            col.append(value)
        lines.append(start)
    if header is None:
        return RawTable(pl.DataFrame(schema={LINE: pl.Int64()}), _bad_frame(bad), "csv")
    data = {LINE: pl.Series(LINE, lines, dtype=pl.Int64)}
    for h, col in zip(header, cols):
        data[h] = pl.Series(h, [v if v != "" else None for v in col], dtype=pl.String)
    return RawTable(pl.DataFrame(data), _bad_frame(bad), "csv")


def read_csv(path: Path) -> RawTable:
    enc = detect(path)
    source: str | bytes
    text: str | None = None
    if enc in (UTF8, UTF8_BOM):
        source = str(path)
        sep = sniff_separator(_first_line(path, UTF8))
    else:
        text, enc = decode_all(path, enc)
        source = text.encode("utf-8")
        sep = sniff_separator(text.split("\n", 1)[0].rstrip("\r"))
    for _attempt in range(2):
        try:
            table = _fast_csv(source, sep)
        except pl.exceptions.NoDataError:
            return RawTable(pl.DataFrame(schema={LINE: pl.Int64()}), empty_bad(), "csv", enc)
        except pl.exceptions.PolarsError as exc:
            msg = str(exc).lower()
            if "utf-8" in msg or "utf8" in msg:
                if text is not None:
                    raise
                # the sample was UTF-8 but a later byte is not: decode it all in Python
                text, enc = decode_all(path, None)
                source = text.encode("utf-8")
                continue
            table = None  # malformed quoting etc.: the csv module is lenient and exact
        if table is None:
            if text is None:
                text, enc = decode_all(path, enc)
            table = python_csv(text, sep)
        table.encoding = enc
        return table
    raise IngestError(f"{path}: 无法读取 CSV")  # pragma: no cover - loop always returns


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
