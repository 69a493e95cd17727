"""Detect a text file's encoding from a sample: UTF-8 (with or without BOM), UTF-16, GBK, GB18030.

Only a sample is decoded here, so a large UTF-8 file is never read twice in Python: the
caller lets polars read the path and falls back to :func:`decode_all` if polars finds an
invalid byte later in the file.
"""

from __future__ import annotations

import codecs
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
        raise IngestError(f"{p}: 无法识别文件编码 (试过 UTF-8 / GBK / GB18030)")
    return enc


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
