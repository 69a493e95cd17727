"""Detect a text file's encoding from a sample: UTF-8 (with or without BOM), UTF-16, GBK, GB18030.

Only a sample is decoded here, so a large UTF-8 file is never read twice in Python: the
caller lets polars read the path and falls back to :func:`decode_all` if polars finds an
invalid byte later in the file.

Decoding is per line, not per file: a GBK export truncated mid-character, a lone lead byte or
a few UTF-8 lines in a GBK file must not reject the whole file.  The encoding that decodes the
most lines is the file's; a line it cannot decode is tried in the other family (UTF-8 / GBK)
and otherwise becomes a :class:`BadLine` (line, byte offset, hex excerpt) for the quarantine.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError

SAMPLE_BYTES = 256 * 1024

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
#: encodings tried in order when UTF-8 fails; GB18030 is a superset of GBK
FALLBACKS = ("gbk", "gb18030")


def _decodes(data: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def detect_bytes(sample: bytes, complete: bool) -> str | None:
    """The encoding of ``sample`` (``complete``: the sample is the whole file), or None."""
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, UTF8, complete):
        return UTF8
    for enc in FALLBACKS:
        if _decodes(sample, enc, complete):
            return enc
    return None


def detect(path: str | Path) -> str:
    """Sample the start of ``path`` and name its encoding; IngestError if none fits."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES + 1)
    except OSError as exc:
        raise IngestError(f"{p}: 无法打开文件: {exc.strerror or exc}") from None
    complete = len(sample) <= SAMPLE_BYTES
    enc = detect_bytes(sample[:SAMPLE_BYTES], complete)
    if enc is None:
        enc = _most_lines(sample[:SAMPLE_BYTES], str(p))
    return enc


#: share of non-empty lines that may fail to decode before a file counts as not text at all
MAX_BAD_SHARE = 0.5


def _failures(lines: list[bytes], encoding: str) -> int:
    bad = 0
    for ln in lines:
        try:
            ln.decode(encoding)
        except UnicodeDecodeError:
            bad += 1
    return bad


def _most_lines(data: bytes, name: str) -> str:
    """The encoding that decodes the most lines; IngestError when none decodes most of them."""
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if not lines:
        return UTF8
    if len(data) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # a sample may end mid-character
    scores = {enc: _failures(lines, enc) for enc in (UTF8, *FALLBACKS)}
    best = min(scores, key=lambda e: scores[e])  # ties keep the earlier: UTF-8, then GBK
    if scores[best] > MAX_BAD_SHARE * len(lines):
        raise IngestError(f"{name}: 无法识别文件编码 (试过 UTF-8 / GBK / GB18030，"
                          f"多数行都无法解码，可能不是文本文件)")
    return best


@dataclass
class BadLine:
    """A physical line no encoding could decode."""

    line: int
    offset: int          # byte offset of the first undecodable byte in the file
    excerpt: str         # hex of the bytes around it
    raw: str             # the line with undecodable bytes replaced

    def reason(self, encoding: str) -> str:
        return f"无法按 {encoding.upper()} 解码: 文件第 {self.offset} 字节附近为 {self.excerpt}"


@dataclass
class Decoded:
    text: str
    encoding: str
    bad: list[BadLine] = field(default_factory=list)


def _other_family(encoding: str) -> tuple[str, ...]:
    return ("gb18030",) if encoding == UTF8 else ()


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode(UTF8)
    except UnicodeDecodeError:
        return False
    return True


def _has_utf8_lines(data: bytes) -> bool:
    """A GBK-decodable file holding non-ASCII lines that are valid UTF-8: mixed encodings."""
    for ln in data.splitlines():
        if not ln.isascii():
            try:
                ln.decode(UTF8)
            except UnicodeDecodeError:
                continue
            return True
    return False


def decode_rows(data: bytes, name: str, first_guess: str | None = None) -> Decoded:
    """Decode ``data``: the whole file at once when it can, else line by line.

    Undecodable lines become empty lines in ``text`` (so line numbers stay true) and are listed
    in ``bad``.
    """
    try:
        text, enc = decode_bytes(data, name, first_guess)
        if enc == UTF8 or enc == UTF8_BOM or enc == "utf-16" or not _has_utf8_lines(data):
            return Decoded(text, enc)
    except IngestError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    enc = _most_lines(data, name)
    out: list[str] = []
    bad: list[BadLine] = []
    offset = 0
    for no, chunk in enumerate(data.splitlines(keepends=True), start=1):
        body = chunk.rstrip(b"\r\n")
        try:
            # UTF-8 first: its multi-byte structure almost never fits GBK text by chance,
            # while GBK decodes most UTF-8 bytes into wrong characters
            out.append(body.decode(UTF8) if enc != UTF8 and not body.isascii() and _is_utf8(body)
                       else body.decode(enc))
        except UnicodeDecodeError as exc:
            for alt in _other_family(enc):
                try:
                    out.append(body.decode(alt))
                    break
                except UnicodeDecodeError:
                    continue
            else:
                at = offset + exc.start
                excerpt = data[max(at - 4, 0): at + 4].hex(" ")
                bad.append(BadLine(no, at, excerpt, body.decode(enc, errors="replace")))
                out.append("")
        offset += len(chunk)
    text = "\n".join(out) + ("\n" if data.endswith((b"\n", b"\r")) else "")
    return Decoded(text, enc, bad)


def decode_all(path: str | Path, first_guess: str | None = None) -> tuple[str, str]:
    """Decode the whole file; returns (text, encoding).  Tries the guess, then the fallbacks."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise IngestError(f"{p}: 无法打开文件: {exc.strerror or exc}") from None
    return decode_bytes(data, str(p), first_guess)


def decode_bytes(data: bytes, name: str, first_guess: str | None = None) -> tuple[str, str]:
    tried = []
    for enc in (first_guess, detect_bytes(data, True), UTF8, *FALLBACKS):
        if not enc or enc in tried:
            continue
        tried.append(enc)
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return (text[1:] if text.startswith("\ufeff") else text), enc
    raise IngestError(f"{name}: 无法识别文件编码 (试过 {' / '.join(tried)})")
