"""ingest: any order export (CSV/TSV, Excel, JSON, JSON lines, Parquet; UTF-8, GBK, GB18030)
-> the canonical polars frame of ``contracts.schema`` plus a quarantine of rejected rows.

Nothing is dropped silently: for every file ``read == accepted + quarantined`` and every
record's line number appears exactly once, in ``lines.source_line`` or ``quarantine.line``.

Modules, one job each: ``encoding`` (detect the text encoding, decode line by line when a file
has broken bytes), ``readers`` (one file -> all-string tables + line numbers; ``csv_reader``,
``excel_reader`` with ``xlsx_meta``), ``recount`` (the CSV dialect's record count, made
without the parser, for reconciliation), ``caps`` (size caps for uploads), ``headers`` (exact
aliases, normalisation), ``vocabulary`` (the words exports use, by meaning), ``header_words``
(a header read as words), ``profile`` (what a column's values look like), ``recognise``
(headers -> canonical fields: config, alias, meaning, values), ``understand`` (the plan for one
file and its field report), ``report`` (the report as data), ``values`` and ``dates``
(vectorised parsing of numbers and of every date form), ``columns`` (typed canonical columns
in one select), ``states`` (status words and times -> the canonical state), ``orders`` (checks
and quarantine of one table), ``limits`` (values out of range for the store), ``catalog``
(the SKU master); ``chunks`` and ``parts`` (one large file read in parts on a pool of workers,
as the whole read reads it: ``orderwatch.runner.on_ray``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

from contracts import schema
from contracts.config import Config

from .caps import ReadLimits, TooLarge
from .catalog import read_catalog
from .errors import IngestError
from .orders import FileCount, FileTotals, empty_quarantine, ingest_table
from .readers import read_tables
from .recognise import recognise as recognise_headers
from .report import FileReport

__all__ = ["FileCount", "FileReport", "IngestError", "IngestResult", "ReadLimits", "TooLarge",
           "read_catalog", "read_orders"]


@dataclass
class IngestResult(FileTotals):
    lines: pl.DataFrame
    quarantine: pl.DataFrame
    files: list[FileCount] = field(default_factory=list)


def read_orders(
    paths: Sequence[str | Path],
    config: Config,
    source: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    limits: ReadLimits | None = None,
) -> IngestResult:
    """Read order files into canonical lines + quarantine.

    ``source`` names the configured source for every file; by default each file's source is
    found by its name (``config.source_for``).  ``progress(path, fraction)`` is called at the
    start (0.0), after reading (0.5) and at the end (1.0) of each file.  Raises IngestError for
    a file that cannot be read at all (:class:`TooLarge` past one of ``limits``).  A workbook
    gives one FileCount per order sheet (``book.xlsx[Sheet]``).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    lines, quarantines, files = [], [], []
    for p in paths:
        name = str(p)
        if progress:
            progress(name, 0.0)
        src = config.source_for(p, source)

        def recognise(headers: list[str], _columns=src.columns) -> int:
            # how many fields a candidate header row means (title rows and other sheets mean few)
            return len(recognise_headers(headers, {}, _columns).mapping)

        tables = read_tables(p, limits, sheet=config.get("ingest.excel_sheet"), recognise=recognise)
        if progress:
            progress(name, 0.5)
        for label, table in tables:
            ln, q, count = ingest_table(table, label, config, src)
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
