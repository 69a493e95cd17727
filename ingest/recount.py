"""Count a CSV file's records without the parser, so reconciliation can catch a parser that lies.

The count follows the dialect, written down once here and implemented separately from the
readers (which use polars or Python's csv module):

* a physical line ends at ``\\r\\n``, ``\\n`` or a lone ``\\r``; an empty line outside quotes is
  not a record;
* a quote opens a quoted field only at the start of a field; inside it ``""`` is a quote and
  the next ``"`` closes it; a quoted field may run across lines;
* a record that spans lines counts once if its quotes close and no line inside the quote
  (the lines between, and the last line up to its first quote) looks like a record by itself
  (no quote, as many separators as the header has); otherwise (a quote that never closes, rows
  swallowed by a stray quote) every non-empty physical line it spans is a record of its own — each is quarantined with its own line number,
  so one stray quote can never hide the rows after it inside one rejected value.

Most lines hold no quote or only well-formed quoted fields: a vectorised regex settles those,
and only the other lines go through the character loop.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import polars as pl

from .errors import IngestError

QUOTE = '"'


def _esc(sep: str) -> str:
    """The separator for a regex (Rust syntax: tab as \\t, punctuation escaped)."""
    return "\\t" if sep == "\t" else re.escape(sep)


def _well_formed(sep: str) -> str:
    """Regex of a line made only of complete fields (quoted ones closed on the same line)."""
    s = _esc(sep)
    field = f'(?:"(?:[^"]|"")*"[^"{s}]*|[^"{s}]*)'
    return f"^{field}(?:{s}{field})*$"


@dataclass
class LineStats:
    total: int        # physical lines (a final terminator does not start another line)
    nonblank: int
    lone_cr: bool     # some line ends with a lone CR: the file must be normalised first
    irregular: int    # lines whose quotes the regex cannot settle
    has_nul: bool = True


def line_stats(source: str | bytes, sep: str) -> LineStats:
    """Streaming passes over the lines of a UTF-8 source (path or bytes); the regex runs only
    over lines that hold a quote (none, in most exports)."""
    line = pl.col("l")
    lines = pl.scan_lines(source, name="l", glob=False)
    row = (
        lines.select(
            pl.len().alias("total"),
            (line != "").sum().alias("nonblank"),
            line.str.contains("\r", literal=True).any().alias("lone_cr"),
            line.str.contains(QUOTE, literal=True).sum().alias("quoted"),
            line.str.contains("\x00", literal=True).any().alias("nul"),
        )
        .collect()
        .row(0, named=True)
    )
    irregular = 0
    if row["quoted"]:
        irregular = (lines.filter(line.str.contains(QUOTE, literal=True))
                     .select((~line.str.contains(_well_formed(sep))).sum()).collect().item())
    return LineStats(int(row["total"]), int(row["nonblank"] or 0), bool(row["lone_cr"]), int(irregular or 0),
                     bool(row["nul"]))


def _walk(text: str, sep: str, in_quote: bool, at_start: bool) -> tuple[bool, bool, int]:
    """Quote state after ``text``: (in_quote, at_field_start, separators outside quotes)."""
    seps = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if in_quote:
            if c == QUOTE:
                if i + 1 < n and text[i + 1] == QUOTE:
                    i += 2
                    continue
                in_quote = False
            i += 1
            continue
        if c == sep:
            seps += 1
            at_start = True
        elif c == QUOTE and at_start:
            in_quote, at_start = True, False
        else:
            at_start = False
        i += 1
    return in_quote, at_start, seps


@dataclass
class Span:
    """A record that spans lines: first and last line (1-based), fields, whether it closed."""

    start: int
    end: int
    fields: int
    closed: bool
    closing_seps: int = 0   # separators on the last line before its first quote


def multiline_records(quoted: list[tuple[int, str]], sep: str, total: int) -> list[Span]:
    """Records spanning lines, from the lines holding a quote (number, text) in file order."""
    out: list[Span] = []
    pattern = re.compile(_well_formed(sep))
    k = 0
    while k < len(quoted):
        no, text = quoted[k]
        k += 1
        if pattern.match(text):
            continue
        in_q, at_start, seps = _walk(text, sep, False, True)
        if not in_q:
            continue
        start = no
        while in_q and k < len(quoted):
            no, text = quoted[k]
            k += 1
            in_q, at_start, more = _walk(text, sep, True, at_start)
            seps += more
        closing = text.split(QUOTE, 1)[0].count(sep) if not in_q and no != start else 0
        out.append(Span(start, no if not in_q else total, seps + 1, not in_q, closing))
    return out


def count_records(source: str | bytes, sep: str, stats: LineStats | None = None) -> int:
    """Data records (the header excluded) the dialect implies for a normalised UTF-8 source."""
    stats = stats or line_stats(source, sep)
    if stats.nonblank == 0:
        return 0
    lines = pl.scan_lines(source, name="l", glob=False).with_row_index("no", offset=1)
    head = lines.head(1000).filter(pl.col("l") != "").select("no", "l").head(1).collect()
    if head.height == 0:  # a thousand blank lines before the header
        head = lines.filter(pl.col("l") != "").select("no", "l").head(1).collect()
    first = head.row(0)
    header_no, header = int(first[0]), first[1]
    spans: list[Span] = []
    if stats.irregular:
        quoted = (lines.filter(pl.col("l").str.contains(QUOTE, literal=True))
                  .select(pl.col("no").cast(pl.Int64), "l").collect().rows())
        spans = multiline_records(quoted, sep, stats.total)
    blanks: list[int] = []
    short: list[int] = []
    header_fields = _walk(header, sep, False, True)[2] + 1
    if spans:
        blanks = lines.filter(pl.col("l") == "").select(pl.col("no").cast(pl.Int64)).collect()["no"].to_list()
        seps = pl.col("l").str.count_matches(sep, literal=True)
        full = max(spans[0].fields if spans[0].start == header_no else header_fields, 1) - 1
        short = (lines.filter((seps < full) | pl.col("l").str.contains(QUOTE, literal=True))
                 .select(pl.col("no").cast(pl.Int64)).collect()["no"].to_list())

    def nonblank_between(a: int, b: int) -> int:
        return (b - a + 1) - (bisect.bisect_right(blanks, b) - bisect.bisect_left(blanks, a))

    records = stats.nonblank - 1
    if spans and spans[0].start == header_no:
        head = spans.pop(0)
        if not head.closed:
            raise IngestError(f"第 {header_no} 行表头的引号没有闭合，文件无法按 CSV 读取")
        header_fields = head.fields
        records -= nonblank_between(head.start, head.end) - 1
    def only_short(a: int, b: int) -> bool:
        return bisect.bisect_right(short, b) - bisect.bisect_left(short, a) == b - a + 1

    for s in spans:
        inside_ok = s.end - s.start < 2 or only_short(s.start + 1, s.end - 1)
        if s.closed and inside_ok and s.closing_seps < header_fields - 1:
            records -= nonblank_between(s.start, s.end) - 1
    return records


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF: every kind of line ending ends a line."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
