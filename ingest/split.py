"""Canonical lines split by store bucket where they are read, and what the driver keeps of them.

A cluster scan must not pull every line through its driver: each read task splits what it
read by store bucket (a store's bucket is a pure function of its id — the baseline state's
own bucket — so every task and every retry agrees without asking anyone) and hands each
bucket on as its own object.  The driver keeps the keys (``KEYS_SCHEMA``: per store its
bucket, lines and first/last ``created_at``), places whole buckets in partitions of about
equal lines (:func:`assign_buckets`), and for each file's report sums its parts'
:class:`ReportFacts` (status words, newest event) instead of reading their lines.
Pure polars, no Ray: ``orderwatch.runner.ray_split`` runs it in tasks.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from contracts import schema

from .report import FileReport

STATUS_FIELDS = ("status", "payment_status", "aftersale_status")
KEYS_SCHEMA: dict[str, pl.DataType] = {"store_id": pl.String(), "bucket": pl.Int32(), "lines": pl.Int64(),
                                       "first": pl.Datetime("us"), "last": pl.Datetime("us")}


#: the baseline state's store buckets (``store.baseline_state.BUCKETS``): what read tasks split by
STATE_BUCKETS = 16


def bucket_of(store_id: str | None) -> int:
    """A store's bucket: crc32 of its id modulo ``STATE_BUCKETS`` — stable across processes,
    tasks and retries, and the baseline state's own bucket, so a partition of whole buckets
    also updates their state alone (``orderwatch.runner.state_on_workers``).  No store: 0."""
    return 0 if store_id is None else zlib.crc32(str(store_id).encode("utf-8")) % STATE_BUCKETS


def buckets_of(lines: pl.DataFrame) -> pl.Series:
    """Every line's bucket (``bucket_of`` of its store, computed once per distinct store)."""
    stores = lines.get_column("store_id").unique().drop_nulls().to_list()
    table = {s: bucket_of(s) for s in stores}
    return lines.get_column("store_id").replace_strict(table, default=0, return_dtype=pl.Int32).alias("bucket")


def split_buckets(lines: pl.DataFrame) -> list[pl.DataFrame]:
    """``lines`` as ``STATE_BUCKETS`` frames (some may be empty), each line in its store's bucket,
    in the order read."""
    b = buckets_of(lines)
    return [lines.filter(b == k) for k in range(STATE_BUCKETS)]


def group_keys(lines: pl.DataFrame) -> pl.DataFrame:
    """Per store: its bucket, lines and first/last ``created_at`` (what the driver plans with)."""
    if lines.is_empty():
        return pl.DataFrame(schema=KEYS_SCHEMA)
    return (lines.with_columns(buckets_of(lines))
            .group_by("store_id", "bucket", maintain_order=True)
            .agg(pl.len().cast(pl.Int64).alias("lines"),
                 pl.col("created_at").min().cast(pl.Datetime("us")).alias("first"),
                 pl.col("created_at").max().cast(pl.Datetime("us")).alias("last"))
            .select(list(KEYS_SCHEMA)))


def merged_keys(keys: list[pl.DataFrame]) -> pl.DataFrame:
    """The keys of several parts as one row per store."""
    if not keys:
        return pl.DataFrame(schema=KEYS_SCHEMA)
    return (pl.concat(keys).group_by("store_id", "bucket", maintain_order=True)
            .agg(pl.col("lines").sum(), pl.col("first").min(), pl.col("last").max()))


def place(sizes: list[tuple[object, int]], partitions: int) -> dict[object, int]:
    """Each key (a store, a bucket) to one of ``partitions`` groups of about equal lines:
    ``sizes`` largest first, each to the least loaded group (stable for a stable order)."""
    load = [0] * max(1, partitions)
    group: dict[object, int] = {}
    for key, n in sizes:
        i = min(range(len(load)), key=load.__getitem__)
        group[key] = i
        load[i] += n
    return group


def assign_stores(keys: pl.DataFrame, partitions: int) -> list[list[str | None]]:
    """Whole stores in ``partitions`` groups of about equal lines, exactly as
    ``orderwatch.runner.partition.split_stores`` places them (the non-empty groups, in group
    order): the judging partitions of a split read hold the stores of the in-process ones."""
    sizes = keys.select("store_id", "lines").sort(["lines", "store_id"], descending=[True, False], nulls_last=True)
    group = place(list(sizes.iter_rows()), partitions)
    out: dict[int, list[str | None]] = {}
    for store, i in group.items():
        out.setdefault(i, []).append(store)  # type: ignore[arg-type]
    return [out[i] for i in sorted(out)]


def assign_buckets(keys: pl.DataFrame, partitions: int) -> list[list[int]]:
    """Whole buckets in ``partitions`` groups of about equal lines (the non-empty groups), as
    ``orderwatch.runner.partition.split_stores`` places whole stores (:func:`place`); ties by the
    bucket's first store id, so a bucket of one store lands where that store would."""
    sizes = (keys.group_by("bucket").agg(pl.col("lines").sum(), pl.col("store_id").min())
             .sort(["lines", "store_id"], descending=[True, False], nulls_last=True))
    group = place([(int(b), int(n)) for b, n, _ in sizes.iter_rows()], partitions)
    out: dict[int, list[int]] = {}
    for bucket, i in group.items():
        out.setdefault(i, []).append(int(bucket))  # type: ignore[arg-type]
    return [sorted(out[i]) for i in sorted(out)]


@dataclass
class ReportFacts:
    """What ``ingest.understand.complete`` reads of a file's lines, summed over its parts."""
    lines: int = 0
    words: dict[str, dict[str, int]] = field(default_factory=dict)   # status field -> value -> lines
    newest_event: datetime | None = None

    @classmethod
    def of(cls, lines: pl.DataFrame) -> ReportFacts:
        words = {f: {str(k): int(n) for k, n in lines.group_by(f).len().drop_nulls(f).iter_rows()}
                 for f in STATUS_FIELDS if f in lines.columns}
        events = [c for c in schema.EVENT_FIELDS if c in lines.columns]
        newest = lines.select(pl.max_horizontal(pl.col(events).max())).item() if events and lines.height else None
        return cls(lines.height, words, newest)

    def add(self, other: ReportFacts) -> ReportFacts:
        words = {f: dict(v) for f, v in self.words.items()}
        for f, values in other.words.items():
            mine = words.setdefault(f, {})
            for k, n in values.items():
                mine[k] = mine.get(k, 0) + n
        newest = max((t for t in (self.newest_event, other.newest_event) if t is not None), default=None)
        return ReportFacts(self.lines + other.lines, words, newest)


def complete_from_facts(report: FileReport, facts: ReportFacts, dates: dict[str, object],
                        word_states: dict[str, dict[str, str | None]], state_counts: dict[str, int]) -> FileReport:
    """``ingest.understand.complete`` from the summed facts of a file's parts, not its lines
    (the same report: tests/test_split_read.py holds the two to each other)."""
    report.accepted = facts.lines
    report.quarantined = report.rows - facts.lines
    report.dates = {f: spec.label for f, spec in dates.items()}  # type: ignore[attr-defined]
    if facts.lines:
        report.states = dict(sorted(state_counts.items(), key=lambda r: -r[1]))
        for f, words in word_states.items():
            unknown = {w for w, s in words.items() if s is None}
            counts = sorted(((w, n) for w, n in facts.words.get(f, {}).items() if w in unknown),
                            key=lambda r: (-r[1], r[0]))   # ties: the whole read's order is arbitrary
            report.unknown_statuses.update(dict(counts[:10]))
        report.newest_event = facts.newest_event
    if report.unknown_statuses:
        report.notes.append("status values not understood (add them under sources[].states): "
                            + ", ".join(f"{k} ({v})" for k, v in report.unknown_statuses.items()))
    return report


__all__ = ["KEYS_SCHEMA", "STATE_BUCKETS", "ReportFacts", "assign_buckets", "assign_stores", "bucket_of", "buckets_of",
           "complete_from_facts", "group_keys", "merged_keys", "place", "split_buckets"]
