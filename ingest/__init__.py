"""ingest: any order export (CSV/TSV, Excel, JSON, JSON lines, Parquet; UTF-8, GBK, GB18030)
-> the canonical polars frame of ``contracts.schema`` plus a quarantine of rejected rows.

Nothing is dropped silently: for every file ``read == accepted + quarantined`` and every
record's line number appears exactly once, in ``lines.source_line`` or ``quarantine.line``.

Modules, one job each: ``encoding`` (detect the text encoding from a sample), ``readers``
(one file -> all-string table + line numbers), ``headers`` (alias table, header mapping),
``values`` (vectorised parsing of text, numbers, timestamps, flags), ``orders`` (checks and
quarantine of one order file), ``catalog`` (the SKU master).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

from contracts import schema
from contracts.config import Config

from .catalog import read_catalog
from .errors import IngestError
from .orders import FileCount, empty_quarantine, ingest_file

__all__ = ["FileCount", "IngestError", "IngestResult", "read_catalog", "read_orders"]


@dataclass
class IngestResult:
    lines: pl.DataFrame
    quarantine: pl.DataFrame
    files: list[FileCount] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)


def read_orders(
    paths: Sequence[str | Path],
    config: Config,
    source: str | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> IngestResult:
    """Read order files into canonical lines + quarantine.

    ``source`` names the configured source for every file; by default each file's source is
    found by its name (``config.source_for``).  ``progress(path, fraction)`` is called at the
    start (0.0), after reading (0.5) and at the end (1.0) of each file.  Raises IngestError for
    a file that cannot be read at all.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    lines, quarantines, files = [], [], []
    for p in paths:
        name = str(p)
        if progress:
            progress(name, 0.0)
        ln, q, count = ingest_file(p, config, source, progress=progress)
        lines.append(ln)
        quarantines.append(q)
        files.append(count)
        if progress:
            progress(name, 1.0)
    return IngestResult(
        lines=pl.concat(lines) if lines else schema.empty_canonical(),
        quarantine=pl.concat(quarantines) if quarantines else empty_quarantine(),
        files=files,
    )
