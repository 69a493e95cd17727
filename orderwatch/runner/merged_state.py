"""A store group's view of a current baseline state, for its parts of the platform frames.

``partition.plan`` on a current state reads the state rows of the batch's stores, the line
spread's stored parts of every store and the platform tables (every store's newest orders,
SKU prices and quantities).  A group's view (``orderwatch.runner.merged``) reads the rows of
its batch's stores as a judging partition does, and of the every-store tables only the rows of
the stores of its own buckets — so the groups' parts add up to the plan's frames, each stored
row counted once.  ``source_fields`` (keyed by source, not store) is read whole by every group:
what it gives is a union (a source shows settlements, a field), which a repeat does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from detectors import DetectContext
from detectors.common import prepare
from detectors.needs import PresencePart, stored_presence_part
from detectors.state_slice import recent_needed
from orderwatch import platform_state
from orderwatch.baseline_state import state_of
from orderwatch.runner import Judgment
from orderwatch.runner.merged import group_context, group_history, presence_of
from orderwatch.runner.partition import _context, built_once, combined
from orderwatch.runner.with_state import PLATFORM, StateView, read_view
from store.baseline_state import with_bucket


def group_view(job: Judgment, batch: pl.DataFrame, since: datetime | None, buckets: list[int]) -> StateView:
    """The state rows a group's parts read: its batch's stores', and its buckets' share of the
    tables of every store."""
    view = read_view(job.history, job.config, batch, since, platform=False,
                     recent=recent_needed([*job.rules, *job.shadow_rules]))
    st = state_of(job.history)
    mine = st.read_buckets(buckets, tables=tuple(PLATFORM.values()))
    for name, table in PLATFORM.items():
        rows = mine[table]
        view.tables[name] = rows if since is None else rows.filter(pl.col("day") >= since.date())
    for table, rows in platform_state.read(st).items():
        if "store_id" in rows.columns:
            rows = with_bucket(rows, st.buckets).filter(pl.col("_b").is_in(buckets)).drop("_b")
        view.tables[table] = rows
    view.state_rows += st.rows_read + sum(view.tables[name].height for name in PLATFORM)
    return view


def presence_on_state(batch: pl.DataFrame, view: StateView, since: datetime | None) -> PresencePart:
    """A group's part of the fields its files carry, a source's history from ``source_fields``."""
    fields = view.tables["source_fields"]
    if since is not None:
        fields = fields.filter(pl.col("last_seen") >= since)
    return stored_presence_part(batch, fields)


def state_context(job: Judgment, batch: pl.DataFrame, view: StateView, present: dict[str, set[str]],
                  since: datetime | None, raw: Callable[[], DetectContext]) -> DetectContext:
    """``plan``'s context on state over one group: its batch, its slice, its view's rows; ``raw``
    its stores' raw window (for a detector that does not read state)."""
    lines = prepare(combined(batch, view.day_slice.lazy()), job.config).collect().lazy()
    return _context(lines, job, present, state=view.tables, since=since, raw=built_once(raw))


@dataclass
class Group:
    """One store group's inputs to its parts: its batch lines, its buckets, and whether the
    state is current (then its view is read once, on first use)."""
    job: Judgment
    batch: pl.DataFrame
    since: datetime | None
    buckets: list[int]
    on_state: bool
    _view: StateView | None = None

    def view(self) -> StateView:
        if self._view is None:
            self._view = group_view(self.job, self.batch, self.since, self.buckets)
        return self._view

    def _past(self) -> pl.LazyFrame | None:
        return group_history(self.job.history, self.since, self.buckets)

    def presence(self) -> PresencePart:
        if self.on_state:
            return presence_on_state(self.batch, self.view(), self.since)
        return presence_of(self.batch, self._past())

    def context(self, present: dict[str, set[str]]) -> DetectContext:
        def raw() -> DetectContext:
            return group_context(self.job, self.batch, self._past(), present, self.since)
        if not self.on_state:
            return raw()
        return state_context(self.job, self.batch, self.view(), present, self.since, raw)


__all__ = ["Group", "group_view", "presence_on_state", "state_context"]
