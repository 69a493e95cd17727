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

from .encoding import SAMPLE_BYTES, UTF8, UTF8_BOM, BadLine, decode_rows, detect
from .errors import IngestError
from .caps import ReadLimits
from .recount import LineStats, count_records, line_stats, normalise_newlines
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
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def _first_line_of(source: str | bytes, text: str | None) -> str:
    """The header line (or as much of it as the sample holds), for the column cap."""
    if text is not None:
        return text.lstrip("\n").split("\n", 1)[0]
    return _first_line(Path(source), UTF8)  # type: ignore[arg-type]


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


def _fast_csv(source, sep: str, stats: LineStats) -> RawTable | None:
    """Polars reads the file; returns None when only the Python path can be exact."""
    truncated = False
    n_lines = stats.total
    if stats.irregular:
        return None  # quotes the regex cannot settle: the csv module numbers those exactly
    try:
        # a quoted newline makes physical lines outnumber records: only the csv-module
        # path numbers those exactly
        df = _scan_csv(source, sep, truncate=False).collect()
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
        if lines.height != df.height + 1 or n_lines != df.height + 1:
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


SENTINEL = "\x1e"


def _unclosed(lines: list[str], sep: str) -> bool:
    """A record the csv module ended at end of file: was it still inside a quote?

    Read again with one sentinel line after it: a closed record leaves the sentinel a record
    of its own, an open quote swallows it."""
    recs = list(csv.reader([ln + "\n" for ln in lines] + [SENTINEL + "\n"], delimiter=sep, quotechar=QUOTE))
    return not recs or recs[-1] != [SENTINEL]


def _swallows(physical: list[str], start: int, end: int, sep: str, fields: int) -> bool:
    """A quoted span whose inside holds a line that is a whole record by itself (no quote,
    as many separators as the header)."""
    full = fields - 1
    inside = any(QUOTE not in physical[no - 1] and physical[no - 1].count(sep) >= full
                 for no in range(start + 1, end))
    return inside or physical[end - 1].split(QUOTE, 1)[0].count(sep) >= full


def python_csv(text: str, sep: str) -> RawTable:
    """Exact, slower path: Python's csv module, tracking the physical lines of each record.

    ``text`` has LF line endings.  A record spanning lines that is broken (a quote that never
    closes, or continuation lines that are records themselves) is split back into its physical
    lines, each quarantined with its own number (see ``ingest.recount`` for the rule).
    """
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
        return "\n".join(physical[start - 1 : end])

    def split(start: int, end: int, reason: str, rest: str) -> None:
        for no in range(start, end + 1):
            if physical[no - 1] != "":
                bad.append((no, reason if no == start else rest, physical[no - 1]))

    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is not None:
                split(start, reader.line_num, f"CSV 格式错误: {exc}",
                      f"属于第 {start} 行起格式错误的记录")
            continue
        end = reader.line_num
        if not rec:
            continue  # blank line: not a record
        open_quote = end > start and end == len(physical) and _unclosed(physical[start - 1:end], sep)
        if header is None:
            if open_quote:
                raise IngestError(f"第 {start} 行表头的引号没有闭合，文件无法按 CSV 读取")
            header = _dedupe(rec)
            cols = [[] for _ in header]
            continue
        if open_quote:
            split(start, end, f"引号没有闭合: 第 {start} 行起的字段一直延续到文件末尾",
                  f"位于第 {start} 行起没有闭合的引号内，未作为订单读取")
            continue
        if end > start and _swallows(physical, start, end, sep, len(header)):
            split(start, end, f"引号跨越第 {start}–{end} 行，其中的行本身就像完整的记录: "
                              f"疑似多余的引号，这些行均未读取",
                  f"位于第 {start} 行起的跨行引号内，本身像一条完整的记录")
            continue
        if len(rec) != len(header):
            reason = f"列数不符: 期望 {len(header)} 列，实际 {len(rec)} 列"
            bad.append((start, reason, raw_text(start, end)))
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


def _decoded(path: Path, guess: str | None) -> tuple[str, str, list[BadLine]]:
    dec = decode_rows(path.read_bytes(), str(path), guess)
    return normalise_newlines(dec.text), dec.encoding, dec.bad


def read_csv(path: Path, limits: ReadLimits | None = None) -> RawTable:
    """Read a CSV; ``counted`` is the record count of ``ingest.recount``, made independently."""
    enc = detect(path)
    source: str | bytes
    text: str | None = None
    undecodable: list[BadLine] = []
    if enc in (UTF8, UTF8_BOM):
        source = str(path)
        sep = sniff_separator(_first_line(path, UTF8))
    else:
        text, enc, undecodable = _decoded(path, enc)
        source = text.encode("utf-8")
        sep = sniff_separator(text.lstrip("\n").split("\n", 1)[0])
    if limits:
        limits.check_csv_header(_first_line_of(source, text), sep)
    stats: LineStats | None = None
    for _attempt in range(2):
        try:
            stats = line_stats(source, sep)
            if stats.lone_cr and text is None:
                text, enc, undecodable = _decoded(path, enc)
                source = text.encode("utf-8")
                stats = line_stats(source, sep)
            if limits:
                limits.check_rows(stats.nonblank - 1)
            counted = count_records(source, sep, stats)
            table = _fast_csv(source, sep, stats)
        except pl.exceptions.NoDataError:
            return RawTable(pl.DataFrame(schema={LINE: pl.Int64()}), empty_bad(), "csv", enc, counted=0)
        except pl.exceptions.PolarsError as exc:
            msg = str(exc).lower()
            if "utf-8" in msg or "utf8" in msg:
                if text is not None:
                    raise
                # the sample was UTF-8 but a later byte is not: decode line by line in Python
                text, enc, undecodable = _decoded(path, None)
                source = text.encode("utf-8")
                continue
            counted = count_records(source, sep)
            table = None  # malformed quoting etc.: the csv module is lenient and exact
        if table is None or table.records != counted:
            if text is None:
                text, enc, undecodable = _decoded(path, enc)
            table = python_csv(text, sep)
        if undecodable:
            extra = _bad_frame([(b.line, b.reason(enc), b.raw) for b in undecodable])
            table.bad = pl.concat([table.bad, extra]).sort("line")
        table.encoding = enc
        table.counted = counted + len(undecodable)
        table.has_nul = stats.has_nul if stats is not None else None
        return table
    raise IngestError(f"{path}: 无法读取 CSV")  # pragma: no cover - loop always returns
