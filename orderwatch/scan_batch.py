"""The scan's batch and the steps that read its lines, wherever the lines are.

A scan reads its files into canonical lines and then, besides judging them, does four
things with them: finds the new or changed lines (``History.new_or_changed``), stages them
as the scan's history partition, records their orders in the open set, keeps the flagged
orders' lines, and advances the baseline state after the commit.  :class:`InMemory` does
each on the lines in this process (the default, and every runner but a split Ray read);
``orderwatch.runner.on_workers.OnWorkers`` does each as tasks beside the lines, which stay
on the Ray workers split by store group, so the driver never holds them.  ``run_scan`` calls
the same steps on either, in the same order, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

import ingest
from contracts.config import Config
from detectors import DetectContext
from orderwatch.baseline_state import StateUpdate, after_commit
from orderwatch.state_buckets import Mapper
from orderwatch.open_orders import scan_states
from orderwatch.runner import Judged, Judgment, Runner
from rules import Rule
from store import History
from store.flagged_lines import FlaggedLines


class Batch(Protocol):
    """A read batch: its counts and quarantine here, its lines wherever the reader left them."""
    read: Any                                           # IngestResult or ingest.parts_split.SplitRead
    new_rows: int
    new_keys: int

    def stores(self) -> set[str | None]: ...
    def judged_lines(self) -> pl.DataFrame:
        """``Judgment.batch``: the lines here, or none when the runner judges them where they are."""
        ...
    def new_or_changed(self, history: History) -> tuple[int, int]: ...
    def judge(self, runner: Runner, job: Judgment) -> Judged: ...
    def stage_flagged(self, flagged: FlaggedLines, scan_id: int, orders: pl.DataFrame) -> None: ...
    def open_states(self, config: Config, as_of: datetime, rules: Sequence[Rule],
                    present: dict[str, set[str]]) -> pl.DataFrame: ...
    def stage_history(self, history: History, scan_id: int) -> None: ...
    def advance_state(self, history: History, config: Config, scan_id: int, before: list[int],
                      kept: dict[str, pl.DataFrame], mapper: Mapper | None = None) -> StateUpdate | None: ...


@dataclass
class InMemory:
    """The batch's lines in this process (``Runner.read``'s ``IngestResult``)."""
    read: ingest.IngestResult
    new_rows: int = 0
    new_keys: int = 0
    new_lines: pl.DataFrame | None = None
    replaced: pl.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    judged_new: DetectContext | None = None     # the detect context when its lines are the new lines

    @property
    def lines(self) -> pl.DataFrame:
        return self.read.lines

    def stores(self) -> set[str | None]:
        return set(self.lines.get_column("store_id").unique().to_list())

    def judged_lines(self) -> pl.DataFrame:
        return self.lines

    def new_or_changed(self, history: History) -> tuple[int, int]:
        """The lines history does not hold as they are, and the stored versions they replace
        (the baseline state subtracts those)."""
        self.new_lines, self.new_keys = history.new_or_changed(self.lines)
        self.new_rows = self.new_lines.height
        self.replaced = history.versions_of(self.new_lines if self.new_rows > self.new_keys else self.new_lines.head(0))
        return self.new_rows, self.new_keys

    def judge(self, runner: Runner, job: Judgment) -> Judged:
        judged = runner.judge(job)
        # a first scan judged exactly its new lines, prepared: the open set reads that context
        first = (self.new_lines is self.lines and job.batch is self.lines and judged.state is None
                 and judged.raw_rows == 0 and not judged.partitions)
        self.judged_new = judged.ctx if first else None
        return judged

    def stage_flagged(self, flagged: FlaggedLines, scan_id: int, orders: pl.DataFrame) -> None:
        flagged.stage(scan_id, self.lines.join(orders, on=["store_id", "order_id"], how="semi"))

    def open_states(self, config: Config, as_of: datetime, rules: Sequence[Rule],
                    present: dict[str, set[str]]) -> pl.DataFrame:
        return scan_states(self._new(), config, as_of, rules, present, self.judged_new)

    def stage_history(self, history: History, scan_id: int) -> None:
        history.stage(scan_id, self._new(), replaces=self.new_rows > self.new_keys)

    def advance_state(self, history: History, config: Config, scan_id: int, before: list[int],
                      kept: dict[str, pl.DataFrame], mapper: Mapper | None = None) -> StateUpdate | None:
        return after_commit(history, config, scan_id, self._new(), self.replaced, before, kept, self.lines, mapper)

    def _new(self) -> pl.DataFrame:
        if self.new_lines is None:
            raise RuntimeError("new_or_changed first: the batch's new lines are not known yet")
        return self.new_lines


def read_batch(runner: Runner, paths: Sequence[str | Path], config: Config, *, source: str | None = None,
               limits: ingest.ReadLimits | None = None,
               progress: Callable[[str, float], None] | None = None) -> Batch:
    """The files read by ``runner``: split on its workers when it can keep the lines there
    (``Runner.read_split``, the Ray runner), else into this process."""
    split = getattr(runner, "read_split", None)
    if split is not None:
        got = split(paths, config, source=source, limits=limits, progress=progress)
        if got is not None:
            return got
    read = runner.read(paths, config, source=source, limits=limits, progress=progress)
    columns, read.lines = read.lines.get_columns(), None  # type: ignore[assignment] - handed over
    read.lines = contiguous(columns)
    return InMemory(read)


def contiguous(columns: list[pl.Series]) -> pl.DataFrame:
    """A frame of ``columns``, each in one chunk; ``columns`` is emptied as it goes.

    Why: the CSV reader leaves the columns it parses in one chunk per read block (150 for the
    bench's 1 M lines), and every filter, join and group-by of the scan then works per chunk:
    cutting the state's bucket jobs out of 150-chunk lines took 5x the CPU of one chunk.  One
    column at a time, and the caller hands its only reference over, so what is held beside
    the batch while it is copied is one column, not a second batch."""
    out: list[pl.Series] = []
    while columns:
        col = columns.pop(0)
        out.append(col.rechunk() if col.n_chunks() > 1 else col)
        del col
    return pl.DataFrame(out)


__all__ = ["Batch", "InMemory", "read_batch"]
