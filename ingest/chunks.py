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
  reads header + range from a temporary file, and line numbers are shifted back to the
  file's own (the reasons that quote a line number too).

``ingest.parts`` runs the parts and decides the file's plan once; this module only cuts and reads.
"""

from __future__ import annotations

import os
import re
import tempfile
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
BLOCK = 16 * 1024 * 1024


class Unclean(Exception):
    """A part the file's reader must judge over the whole file (broken bytes, mixed encodings)."""


@dataclass(frozen=True)
class Part:
    start: int         # byte offsets in the file, [start, end)
    end: int
    first_line: int    # the file's line number of the part's first physical line


@dataclass
class Split:
    """A file cut into parts: what every part needs to read its range as the whole read would."""
    path: str
    kind: str                  # "csv" or "jsonl"
    encoding: str
    prefix: bytes              # CSV: the bytes up to the end of the header record; JSON lines: b""
    prefix_lines: int          # physical lines in ``prefix``
    parts: list[Part] = field(default_factory=list)


def _lines(block: bytes, base: int) -> list[tuple[int, bytes]]:
    """(absolute offset just past its newline, line bytes without CR/LF) of each complete line."""
    out, i = [], 0
    while True:
        j = block.find(b"\n", i)
        if j < 0:
            return out
        out.append((base + j + 1, block[i:j].rstrip(b"\r")))
        i = j + 1


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


def split_file(path: str | Path, chunk_bytes: int) -> Split | str:
    """The file's parts of about ``chunk_bytes`` each, or why it is read in one piece."""
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
    split = Split(str(path), kind, encoding, b"", 0)
    size, line_no = p.stat().st_size, 0
    start = target = None     # the open part's start; the offset after which the next cut falls
    with p.open("rb") as fh:
        base, rest = 0, b""
        while True:
            data = fh.read(BLOCK)
            block = rest + data
            if not data:
                block += b"\n" if block else b""       # the last line, unterminated
            if block.count(b"\r") != block.count(b"\r\n"):
                return "a lone CR ends some lines: read whole (its line numbers are the whole read's)"
            last = block.rfind(b"\n")
            whole, rest = (block[:last + 1], block[last + 1:]) if last >= 0 else (b"", block)
            if start is None or (quotes is not None and (quotes.in_quote or b'"' in whole)):
                for end, line in _lines(whole, base):
                    line_no += 1
                    closed = quotes.feed(line) if quotes is not None else True
                    if start is None:
                        if kind == "jsonl":
                            start, target = 0, chunk_bytes
                        elif closed and line:
                            with p.open("rb") as head:
                                split.prefix = head.read(end)
                            split.prefix_lines, start, target = line_no, end, end + chunk_bytes
                            continue
                        else:
                            continue
                    if closed and end >= target and end < size:
                        split.parts.append(Part(start, end, 0))   # numbered below
                        start, target = end, end + chunk_bytes
            else:   # no quote in the block and none open: every line end may end a record
                while target < base + len(whole):
                    end = base + whole.find(b"\n", max(target - base - 1, 0)) + 1
                    if end >= size:
                        break
                    split.parts.append(Part(start, end, 0))
                    start, target = end, end + chunk_bytes
                line_no += whole.count(b"\n")
            base += len(whole)
            if not data:
                break
    if start is None:
        return "no header record"
    split.parts.append(Part(start, size, 0))
    split.parts = _numbered(p, split.parts)
    return split if len(split.parts) > 1 else "one part only"


def _numbered(p: Path, parts: list[Part]) -> list[Part]:
    """Each part's first line number: 1 + the newlines before its start."""
    out, line, pos = [], 1, 0
    with p.open("rb") as fh:
        for part in parts:
            while pos < part.start:
                data = fh.read(min(BLOCK, part.start - pos))
                line += data.count(b"\n")
                pos += len(data)
            out.append(Part(part.start, part.end, line))
    return out


LINE_REF = re.compile(r"(?<=第 )\d+|(?<=–)\d+(?= 行)")


def _shift(table: RawTable, by: int) -> RawTable:
    """Line numbers of a part read apart -> the file's, in the rows and in the reasons."""
    if by == 0:
        return table
    frame = table.frame.with_columns(pl.col(LINE) + by)
    bad = table.bad.with_columns(pl.col("line") + by)
    if bad.height:
        reasons = [LINE_REF.sub(lambda m: str(int(m.group(0)) + by), r) for r in bad["reason"].to_list()]
        bad = bad.with_columns(pl.Series("reason", reasons, dtype=pl.String))
    return RawTable(frame, bad, table.format, table.encoding, table.counted, table.has_nul)


def _check_clean(data: bytes, encoding: str) -> None:
    codec = "utf-8" if encoding == UTF8_BOM else encoding
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        raise Unclean(f"bytes that are not {encoding.upper()} near offset {exc.start} of the part") from None
    if codec != UTF8 and _has_utf8_lines(data):
        raise Unclean("UTF-8 lines in a GBK file")


def read_part(split: Split, index: int) -> RawTable:
    """One part read by the project's reader, numbered as in the whole file; :class:`Unclean`
    when only the whole file's read can be exact."""
    part = split.parts[index]
    with open(split.path, "rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.end - part.start)
    _check_clean(data, split.encoding)
    suffix = Path(split.path).suffix
    fd, tmp = tempfile.mkstemp(prefix="orderwatch-part-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(split.prefix)
            out.write(data)
        table = read_csv(Path(tmp)) if split.kind == "csv" else read_ndjson(Path(tmp))
    finally:
        os.unlink(tmp)
    table.encoding = split.encoding
    return _shift(table, part.first_line - 1 - split.prefix_lines)


__all__ = ["Part", "Split", "Unclean", "read_part", "split_file"]
