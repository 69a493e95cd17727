"""One large text file cut into byte ranges that never split a record, each read on its own.

Why byte ranges: a file larger than one machine's memory can only be read by several workers
if each reads a range of it, and a range read must give the records the whole read gives.

* **Where a cut may fall.** Only after a line end outside a quoted field.  The quote state
  follows the CSV dialect of ``ingest.recount`` (a quote opens a field only at its start,
  ``""`` inside it is a quote), walked line by line over the lines that hold a quote; a block
  without a quote byte is skipped whole.  A quote that never closes leaves no cut after it, so
  that record and all after it are read by the last part, as the whole read reads them.
  JSON lines are cut at any line end (a JSON string holds no raw newline).
* **Encodings.** UTF-8 and GBK/GB18030 only: in them the bytes ``\\n`` (0x0A) and ``"``
  (0x22) never occur inside a multi-byte character (GBK trail bytes are 0x40–0xFE,
  GB18030's four-byte second and fourth bytes 0x30–0x39), so a byte cut at a newline is a
  character boundary.  A part that does not decode cleanly in the file's encoding (broken
  bytes, UTF-8 lines in a GBK file) is not read in parts: the file's reader decides those
  over the whole file, so :class:`Unclean` sends the file back to one read.
* **A part is read by the project's own reader.** The file's header record (and any blank
  lines before it) is given to every part: ``ingest.readers.read_csv`` (or ``read_ndjson``)
  reads header + range from a temporary file; each part counts its physical lines, and its
  line numbers are shifted to the file's once the parts before it are counted (the reasons
  that quote a line number too).

``ingest.parts`` runs the parts and decides the file's plan once; this module only cuts and reads.
"""

from __future__ import annotations

import mmap
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .encoding import SAMPLE_BYTES, UTF8, UTF8_BOM, _has_utf8_lines, detect
from .recount import _walk, _well_formed
from .csv_reader import read_csv, sniff_separator
from .errors import IngestError
from .readers import read_ndjson
from .table import LINE, RawTable

CSV_EXT = (".csv", ".tsv", ".txt")
JSONL_EXT = (".jsonl", ".ndjson")
ENCODINGS = (UTF8, UTF8_BOM, "gbk", "gb18030")
BLOCK = 16 * 1024 * 1024   # bytes searched at a time for a quote or a CR


class Unclean(Exception):
    """A part the file's reader must judge over the whole file (broken bytes, mixed encodings)."""


@dataclass(frozen=True)
class Part:
    start: int         # byte offsets in the file, [start, end)
    end: int


@dataclass
class Split:
    """A file cut into parts: what every part needs to read its range as the whole read would."""
    path: str
    kind: str                  # "csv" or "jsonl"
    encoding: str
    prefix: bytes              # CSV: the bytes up to the end of the header record; JSON lines: b""
    prefix_lines: int          # physical lines in ``prefix``
    parts: list[Part] = field(default_factory=list)


class _Quotes:
    """The dialect's quote state at line ends, fed one line at a time."""

    def __init__(self, sep: str, encoding: str) -> None:
        self.sep, self.codec = sep, "utf-8" if encoding == UTF8_BOM else encoding
        self.well = re.compile(_well_formed(sep))
        self.in_quote, self.at_start = False, True

    def feed(self, line: bytes) -> bool:
        """True when the line ends outside any quoted field (a record may end here)."""
        if not self.in_quote and b'"' not in line:
            return True
        text = line.decode(self.codec, errors="replace")
        if not self.in_quote and self.well.match(text):
            return True
        self.in_quote, at_start, _ = _walk(text, self.sep, self.in_quote, True if not self.in_quote else self.at_start)
        self.at_start = at_start
        if not self.in_quote:
            self.at_start = True
        return not self.in_quote


def _separator(path: Path, encoding: str) -> str:
    """The separator ``read_csv`` sniffs from the same first bytes."""
    with path.open("rb") as fh:
        text = fh.read(SAMPLE_BYTES).decode("utf-8" if encoding == UTF8_BOM else encoding, errors="replace")
    if encoding in (UTF8, UTF8_BOM):
        return sniff_separator(re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"), maxsplit=1)[0])
    return sniff_separator(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n").split("\n", 1)[0])


def _lines(mm: mmap.mmap, pos: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset just past its newline, bytes without CR/LF) of each line in ``[pos, end)``."""
    while pos < end:
        j = mm.find(b"\n", pos, end)
        stop = end if j < 0 else j + 1
        yield stop, mm[pos:stop].rstrip(b"\r\n")
        pos = stop


def _header_end(mm: mmap.mmap, quotes: _Quotes) -> tuple[int, int] | None:
    """(offset after the header record, its physical lines): blank lines before it included."""
    n = 0
    for end, line in _lines(mm, 0, len(mm)):
        n += 1
        if quotes.feed(line) and line.strip(b"\xef\xbb\xbf"):
            return end, n
    return None


LONE_CR = "a lone CR ends some lines: read whole (its line numbers are the whole read's)"


def _lone_cr(mm: mmap.mmap, pos: int, stop: int) -> bool:
    if mm.find(b"\r", pos, stop) < 0:
        return False
    block = mm[pos:stop]
    return block.count(b"\r") != block.count(b"\r\n")


def split_file(path: str | Path, chunk_bytes: int) -> Split | str:
    """The file's parts of about ``chunk_bytes`` each, or why it is read in one piece.

    One pass of byte searches (a newline near each cut, a quote or a CR anywhere); only blocks
    holding a quote are walked line by line."""
    p = Path(path)
    ext = p.suffix.lower()
    kind = "csv" if ext in CSV_EXT else "jsonl" if ext in JSONL_EXT else None
    if kind is None:
        return f"{ext or 'this'} files are read whole (Excel, Parquet and JSON arrays: one task per file)"
    if not p.is_file() or p.stat().st_size <= chunk_bytes:
        return "smaller than one part"
    try:
        encoding = detect(p)
    except IngestError:
        return "its encoding is not known: read whole (the reader says why)"
    if encoding not in ENCODINGS:
        return f"{encoding} text is read whole (only UTF-8 and GBK/GB18030 are cut at newlines)"
    quotes = _Quotes(_separator(p, encoding), encoding) if kind == "csv" else None
    with p.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        size = len(mm)
        split = Split(str(path), kind, encoding, b"", 0)
        if _lone_cr(mm, 0, mm.rfind(b"\n", 0, BLOCK) + 1 or min(size, BLOCK)):   # before the header
            return LONE_CR
        if quotes is not None:
            head = _header_end(mm, quotes)
            if head is None:
                return "no header record"
            split.prefix, split.prefix_lines = mm[:head[0]], head[1]
        start = pos = len(split.prefix)
        target = start + chunk_bytes
        while pos < size:
            stop = min(size, pos + BLOCK)
            if stop < size:
                nl = mm.rfind(b"\n", pos, stop)
                stop = nl + 1 if nl >= 0 else stop
            if _lone_cr(mm, pos, stop):
                return LONE_CR
            if quotes is None or (not quotes.in_quote and mm.find(b'"', pos, stop) < 0):
                while target < stop:     # no quote open nor in the block: any line end ends a record
                    nl = mm.find(b"\n", max(target - 1, pos), stop)
                    if nl < 0 or nl + 1 >= size:
                        break
                    split.parts.append(Part(start, nl + 1))
                    start, target = nl + 1, nl + 1 + chunk_bytes
            else:
                for end, line in _lines(mm, pos, stop):
                    if quotes.feed(line) and target <= end < size:
                        split.parts.append(Part(start, end))
                        start, target = end, end + chunk_bytes
            pos = stop
    split.parts.append(Part(start, size))
    return split if len(split.parts) > 1 else "one part only"


LINE_REF = re.compile(r"(?<=第 )\d+|(?<=–)\d+(?= 行)")


def renumbered(table: RawTable, by: int) -> RawTable:
    """A part's line numbers -> the file's (``by``: the physical lines of the parts before it),
    in the rows and in the reasons that quote a line."""
    if by == 0:
        return table
    frame = table.frame.with_columns(pl.col(LINE) + by)
    bad = table.bad.with_columns(pl.col("line") + by)
    if bad.height:
        reasons = [LINE_REF.sub(lambda m: str(int(m.group(0)) + by), r) for r in bad["reason"].to_list()]
        bad = bad.with_columns(pl.Series("reason", reasons, dtype=pl.String))
    return RawTable(frame, bad, table.format, table.encoding, table.counted, table.has_nul)


def _check_gbk(data: bytes, encoding: str) -> None:
    """A GBK/GB18030 part must decode whole and hold no UTF-8 line (the whole read's
    per-line decoding and its offsets are decided over the whole file)."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Unclean(f"bytes that are not {encoding.upper()} near offset {exc.start} of the part") from None
    if _has_utf8_lines(data):
        raise Unclean("UTF-8 lines in a GBK file")


@dataclass
class PartTable:
    """A part read apart: numbered from the part's own first line (line 1 + the prefix's
    lines), and its physical lines, so the file's numbers follow once every part is counted."""
    table: RawTable
    lines: int


def read_part(split: Split, index: int) -> PartTable:
    """One part read by the project's reader; :class:`Unclean` when only the whole file's read
    can be exact.  :func:`renumbered` gives the file's line numbers once the parts before are counted."""
    part = split.parts[index]
    with open(split.path, "rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.end - part.start)
    if split.encoding not in (UTF8, UTF8_BOM):
        _check_gbk(data, split.encoding)
    suffix = Path(split.path).suffix
    fd, tmp = tempfile.mkstemp(prefix="orderwatch-part-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(split.prefix)
            out.write(data)
        table = read_csv(Path(tmp)) if split.kind == "csv" else read_ndjson(Path(tmp))
    finally:
        os.unlink(tmp)
    undecodable = table.bad.filter(pl.col("reason").str.starts_with("无法按 ")).height if table.bad.height else 0
    if split.encoding in (UTF8, UTF8_BOM) and (table.encoding not in (UTF8, UTF8_BOM) or undecodable):
        raise Unclean(f"bytes that are not UTF-8 in the part (read as {table.encoding})")
    table.encoding = split.encoding
    return PartTable(table, data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1))


__all__ = ["Part", "PartTable", "Split", "Unclean", "read_part", "renumbered", "split_file"]
