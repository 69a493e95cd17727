"""Size caps for files from outside (uploads, API pushes): refuse before reading, not after.

A 10 MB header-only CSV of a million columns or an xlsx that inflates to hundreds of MB of
sheet XML costs gigabytes once parsed; the caps are checked on what can be seen cheaply first
(the header line, the line count, the zip directory), so such a file is refused in
milliseconds with a message that says which cap it broke.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

from .errors import IngestError


class TooLarge(IngestError):
    """A file breaks a cap; ``field`` names the cap (rows, columns, decompressed_mb)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReadLimits:
    max_rows: int | None = None
    max_columns: int | None = None
    max_decompressed_bytes: int | None = None

    @classmethod
    def from_config(cls, get: Any) -> "ReadLimits":
        """From ``web.upload_max_rows``, ``web.upload_max_columns``, ``web.upload_max_decompressed_mb``."""
        def num(key: str) -> int | None:
            v = get(key)
            return int(v) if v not in (None, "", 0) else None
        mb = num("web.upload_max_decompressed_mb")
        return cls(num("web.upload_max_rows"), num("web.upload_max_columns"),
                   mb * 1024 * 1024 if mb else None)

    def check_rows(self, n: int) -> None:
        if self.max_rows is not None and n > self.max_rows:
            raise TooLarge(f"文件有 {n:,} 行，超过上限 {self.max_rows:,} 行 (web.upload_max_rows)，"
                           f"请拆分后再上传", "rows")

    def check_columns(self, n: int) -> None:
        if self.max_columns is not None and n > self.max_columns:
            raise TooLarge(f"文件有 {n:,} 列，超过上限 {self.max_columns:,} 列 (web.upload_max_columns)",
                           "columns")

    def check_csv_header(self, line: str, sep: str) -> None:
        if self.max_columns is None:
            return
        if line.count(sep) + 1 <= self.max_columns:
            return
        fields = next(csv.reader([line], delimiter=sep), [])
        self.check_columns(len(fields))

    def check_decompressed(self, n: int) -> None:
        if self.max_decompressed_bytes is not None and n > self.max_decompressed_bytes:
            cap = self.max_decompressed_bytes // (1024 * 1024)
            raise TooLarge(f"解压后 {n / 1024 / 1024:,.0f} MB，超过上限 {cap:,} MB "
                           f"(web.upload_max_decompressed_mb)", "decompressed_mb")
