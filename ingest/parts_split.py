"""Files read on a pool of workers whose lines stay there, split by store group.

``ingest.parts`` reads a large file in parts and gathers the parts' lines where it runs; here
the final stage of every part (and the one task of a file read whole) splits its canonical
lines by store group (``ingest.split.group_of``) and returns one object per group after a
small :class:`PartHead`.  The driver gets the heads only — counts, quarantine, per-store keys
and the facts of the file's report — while a group's objects from every part go straight to
the task that judges the group (on Ray: object refs, resolved on the worker).

Every row is still accounted for: a part's ``FileCount`` says read = accepted + quarantined,
its buckets' rows sum to its accepted lines (checked as each head arrives, :meth:`SplitRead.add`), and its
quarantine rows come back whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from contracts.config import Config, Source

from .orders import FileCount, FileTotals, empty_quarantine, ingest_table
from .parts import Pool, Shipped, Whole, _report, arrow, conformed, decide_parts
from .split import KEYS_SCHEMA, STATE_BUCKETS, ReportFacts, assign_buckets, assign_stores, group_keys, merged_keys, split_buckets
from .understand import Plan


@dataclass
class PartHead:
    """What the driver receives of one part (or one whole file): never its lines."""
    quarantine: Any                     # pyarrow.Table of the part's quarantine rows
    counts: list[FileCount]
    keys: pl.DataFrame                  # ingest.split.KEYS_SCHEMA: per store, bucket, lines, first, last
    group_rows: list[int]               # lines in each bucket's object
    facts: ReportFacts | None = None    # a part of a file read in parts: what its report needs


def _split_out(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[Any], list[int]]:
    frames = split_buckets(lines)
    return group_keys(lines), [arrow(f) for f in frames], [f.height for f in frames]


def stage_ingest_split(table: Shipped, headers: list[str], label: str, config: Config,
                       source: Source, p: Plan, specs: dict, prior: pl.DataFrame | None,
                       lines_before: int) -> tuple[Any, ...]:
    """``parts.stage_ingest``, its lines split by store bucket: (head, bucket 0, …, bucket 15)."""
    import copy
    t = conformed(table, headers, lines_before)
    planned = copy.deepcopy(p)
    planned.report.rows = t.records
    lines, quarantine, count = ingest_table(t, label, config, source, planned=planned, specs=specs, prior=prior)
    keys, tables, rows = _split_out(lines)
    return (PartHead(arrow(quarantine), [count], keys, rows, ReportFacts.of(lines)), *tables)


def read_file_split(path: str, cwd: str, config: Config, source: str | None, limits: Any,  # noqa: ANN401
                    note: str | None = None) -> tuple[Any, ...]:
    """One whole file read by ``ingest.read_orders``: (head, bucket 0, …, bucket 15).

    A relative path is the driver's (``cwd``): the file keeps the name the driver gave it, which
    is every line's ``source_file``.  ``note``: added to its reports (why it was read whole)."""
    import ingest
    if not os.path.isabs(path) and os.path.isdir(cwd):
        os.chdir(cwd)
    r = ingest.read_orders([path], config, source=source, limits=limits)
    for f in r.files if note else ():
        if f.report is not None:
            f.report.notes.append(note)
    keys, tables, rows = _split_out(r.lines)
    return (PartHead(arrow(r.quarantine), list(r.files), keys, rows), *tables)


@dataclass
class SplitRead(FileTotals):
    """Files read with their lines left on the workers: per group, the objects holding its lines
    (one per part), and everything else the driver needs."""
    buckets: int
    handles: list[list[Any]]            # handles[k]: bucket k's objects, in read order
    files: list[FileCount] = field(default_factory=list)
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    keys: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=KEYS_SCHEMA))
    rows: list[int] = field(default_factory=list)   # lines per bucket

    @property
    def stores(self) -> list[str | None]:
        return self.keys.get_column("store_id").unique().to_list()

    def add(self, head: PartHead, objects: list[Any], counts: list[FileCount] | None = None) -> None:
        """One part's (or file's) head and group objects; ``counts`` replace the head's (a file
        read in parts reports once, for all its parts)."""
        if sum(head.group_rows) != sum(c.accepted for c in head.counts):
            raise AssertionError(f"a part's buckets hold {sum(head.group_rows)} lines, "
                                 f"its count {sum(c.accepted for c in head.counts)}")
        for k, obj in enumerate(objects):
            self.handles[k].append(obj)
        self.rows = [a + b for a, b in zip(self.rows or [0] * self.buckets, head.group_rows)]
        self.quarantine = pl.concat([self.quarantine, pl.from_arrow(head.quarantine)], how="vertical_relaxed")  # type: ignore[list-item]
        self.keys = merged_keys([self.keys, head.keys])
        self.files.extend(head.counts if counts is None else counts)

    def partitions(self, n: int) -> list[tuple[list[int], list[Any]]]:
        """Whole buckets in ``n`` partitions of about equal lines (``ingest.split.assign_buckets``):
        per partition its buckets and their objects from every part."""
        return [(bs, [h for b in bs for h in self.handles[b]])
                for bs in assign_buckets(self.keys, n) if any(self.rows[b] for b in bs)]

    def store_partitions(self, n: int) -> list[tuple[list[str | None], list[Any]]]:
        """Whole stores in ``n`` partitions as in process (``ingest.split.assign_stores``): per
        partition its stores and the objects, from every part, of the buckets that hold them."""
        bucket = dict(self.keys.select("store_id", "bucket").iter_rows())
        out = []
        for stores in assign_stores(self.keys, n):
            mine = sorted({bucket[s] for s in stores})
            out.append((stores, [h for b in mine for h in self.handles[b]]))
        return out

    def extend(self, other: SplitRead) -> None:
        """Another read's groups after this one's (files in the order given)."""
        for k in range(self.buckets):
            self.handles[k].extend(other.handles[k])
        self.rows = [a + b for a, b in zip(self.rows or [0] * self.buckets, other.rows or [0] * self.buckets)]
        self.quarantine = pl.concat([self.quarantine, other.quarantine], how="vertical_relaxed")
        self.keys = merged_keys([self.keys, other.keys])
        self.files.extend(other.files)

    @classmethod
    def empty(cls) -> SplitRead:
        return cls(STATE_BUCKETS, [[] for _ in range(STATE_BUCKETS)])


def split_in_parts(path: str | Path, config: Config, source: str | None, pool: Pool, chunk_bytes: int,
                   into: SplitRead) -> Whole | None:
    """One large file read in parts into ``into`` (its lines split by bucket on the workers);
    or why it must be read whole (``into`` untouched)."""
    d = decide_parts(path, config, source, pool, chunk_bytes)
    if isinstance(d, Whole):
        return d
    outs = [pool.submit(stage_ingest_split, t, *args, returns=1 + STATE_BUCKETS)
            for t, args in zip(d.tables, d.stage_args())]
    heads: list[PartHead] = pool.get([o[0] for o in outs])
    facts = ReportFacts()
    for h in heads:
        facts = facts.add(h.facts or ReportFacts())
    quarantined = sum(pl.from_arrow(h.quarantine).height for h in heads)  # type: ignore[union-attr]
    count = _report(d.plan, [c for h in heads for c in h.counts], facts, quarantined, d.specs, config,
                    d.source, d.note(chunk_bytes))
    for i, (h, o) in enumerate(zip(heads, outs)):
        into.add(h, list(o[1:]), counts=[count] if i == 0 else [])
    return None


__all__ = ["PartHead", "SplitRead", "read_file_split", "split_in_parts", "stage_ingest_split"]
