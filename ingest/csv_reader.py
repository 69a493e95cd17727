"""CSV: a fast polars path, and Python's csv module when records are ragged or span lines.

The fast path reads with polars and counts physical lines; when they disagree with the records
(quoted newlines) or a record has the wrong number of fields, the file is re-read with the csv
module, which knows the line each record starts on.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from .encoding import SAMPLE_BYTES, UTF8, UTF8_BOM, decode_all, detect
from .errors import IngestError
from .table import BAD_SCHEMA, LINE, RawTable, _bad_frame, empty_bad

SEPARATORS = (",", "\t", ";", "|")
QUOTE = '"'

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
