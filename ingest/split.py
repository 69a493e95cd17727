"""Canonical lines split into store groups where they are read, and what the driver keeps of them.

A cluster scan must not pull every line through its driver: each read task splits what it
read into store groups (whole stores; a store's group is a pure function of its id, so every
task and every retry agrees without asking anyone) and hands each group on as its own object.
What stays with the driver is :class:`GroupKeys` — per store of each part: its group, lines
and first/last ``created_at`` — and, for the file's report, :class:`ReportFacts`: the
counts a report needs (states, status words, newest event) instead of the lines themselves.
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
KEYS_SCHEMA: dict[str, pl.DataType] = {"store_id": pl.String(), "group": pl.Int32(), "lines": pl.Int64(),
                                       "first": pl.Datetime("us"), "last": pl.Datetime("us")}


def group_of(store_id: str | None, groups: int) -> int:
    """A store's group: crc32 of its id (stable across processes, tasks and retries; the
    baseline state buckets stores the same way, so a group is a set of state buckets when
    ``groups`` divides their number).  Lines without a store are group 0."""
    return 0 if store_id is None else zlib.crc32(str(store_id).encode("utf-8")) % max(1, groups)


def groups_of(lines: pl.DataFrame, groups: int) -> pl.Series:
    """Every line's group (``group_of`` of its store, computed once per distinct store)."""
    stores = lines.get_column("store_id").unique().drop_nulls().to_list()
    table = {s: group_of(s, groups) for s in stores}
    return lines.get_column("store_id").replace_strict(table, default=0, return_dtype=pl.Int32).alias("group")


def split_groups(lines: pl.DataFrame, groups: int) -> list[pl.DataFrame]:
    """``lines`` as exactly ``groups`` frames (some may be empty), each line in its store's
    group, in the order read."""
    if groups <= 1:
        return [lines]
    g = groups_of(lines, groups)
    return [lines.filter(g == k) for k in range(groups)]


def group_keys(lines: pl.DataFrame, groups: int) -> pl.DataFrame:
    """Per store: its group, lines and first/last ``created_at`` (what the driver plans with)."""
    if lines.is_empty():
        return pl.DataFrame(schema=KEYS_SCHEMA)
    return (lines.with_columns(groups_of(lines, groups))
            .group_by("store_id", "group", maintain_order=True)
            .agg(pl.len().cast(pl.Int64).alias("lines"),
                 pl.col("created_at").min().cast(pl.Datetime("us")).alias("first"),
                 pl.col("created_at").max().cast(pl.Datetime("us")).alias("last"))
            .select(list(KEYS_SCHEMA)))


def merged_keys(keys: list[pl.DataFrame]) -> pl.DataFrame:
    """The keys of several parts as one row per store."""
    if not keys:
        return pl.DataFrame(schema=KEYS_SCHEMA)
    return (pl.concat(keys).group_by("store_id", "group", maintain_order=True)
            .agg(pl.col("lines").sum(), pl.col("first").min(), pl.col("last").max()))


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
                            key=lambda r: -r[1])
            report.unknown_statuses.update(dict(counts[:10]))
        report.newest_event = facts.newest_event
    if report.unknown_statuses:
        report.notes.append("status values not understood (add them under sources[].states): "
                            + ", ".join(f"{k} ({v})" for k, v in report.unknown_statuses.items()))
    return report


__all__ = ["KEYS_SCHEMA", "ReportFacts", "complete_from_facts", "group_keys", "group_of", "groups_of",
           "merged_keys", "split_groups"]
