"""What calamine does not tell about an .xlsx: merged ranges, formulas without a cached value,
the sheet's size — read from the package's XML, before the sheet is loaded.

Why: a merged order number covers the lines under it (calamine gives only its top-left cell),
a formula that was never calculated reads as empty or 0 (a wrong quantity accepted silently),
and a small zip can inflate to gigabytes of sheet XML (checked against the caps first).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from .caps import ReadLimits
from .errors import IngestError

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}
_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
_DIM = re.compile(rb'<dimension ref="(?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)"')


def col_index(letters: bytes | str) -> int:
    """A → 1, Z → 26, AA → 27."""
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class SheetMeta:
    name: str
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2 (1-based)
    uncached: dict[int, list[str]] = field(default_factory=dict)          # row -> cells like "C5"
    rows: int = 0
    columns: int = 0


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name inside the package."""
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels.findall("pr:Relationship", _NS)}
    out = {}
    for s in wb.findall("m:sheets/m:sheet", _NS):
        t = target.get(s.get(f"{{{_NS['r']}}}id"), "")
        t = t.lstrip("/")
        out[s.get("name", "")] = t if t.startswith("xl/") else f"xl/{t}"
    return out


def _scan_sheet(name: str, data: bytes) -> SheetMeta:
    meta = SheetMeta(name)
    dim = _DIM.search(data, 0, 4096)
    if dim:
        meta.columns, meta.rows = col_index(dim.group(1)), int(dim.group(2))
    meta.rows = max(meta.rows, data.count(b"<row "))
    for m in _MERGE.finditer(data):
        meta.merged.append((int(m.group(2)), col_index(m.group(1)), int(m.group(4)), col_index(m.group(3))))
    if b"<f" in data:
        for m in _CELL.finditer(data):
            inner = m.group(3) or b""
            if b"<f" in inner and b"<v" not in inner:
                meta.uncached.setdefault(int(m.group(2)), []).append(f"{m.group(1).decode()}{m.group(2).decode()}")
    return meta


def inspect(path: Path, limits: ReadLimits | None = None) -> dict[str, SheetMeta]:
    """Per sheet: merged ranges, uncached formula cells, size; caps checked before inflating."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{path}: 无法读取 Excel 文件 (不是有效的 xlsx): {exc}") from None
    with zf:
        if limits:
            limits.check_decompressed(sum(i.file_size for i in zf.infolist()))
        try:
            parts = _sheet_paths(zf)
        except (KeyError, ET.ParseError) as exc:
            raise IngestError(f"{path}: 无法读取 Excel 文件 (工作簿结构损坏): {exc}") from None
        out: dict[str, SheetMeta] = {}
        for name, part in parts.items():
            try:
                data = zf.read(part)
            except KeyError:
                continue
            meta = _scan_sheet(name, data)
            if limits:
                limits.check_rows(meta.rows)
                limits.check_columns(meta.columns)
            out[name] = meta
        return out
