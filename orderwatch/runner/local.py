"""The in-process runner (the default): one polars plan over every store, or N store partitions.

``partitions: 1`` (the default) judges the batch and its history in one piece, as the scan
always has.  ``partitions: N`` runs the partitioned path of a cluster in this process — the
platform frames first, then each store group with only its stores' history — which is how the
tests hold a partitioned run to the flags of one without a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence  # noqa: F401
from dataclasses import dataclass
from pathlib import Path

import polars as pl

import ingest
from contracts.config import Config

from detectors import DetectContext
from detectors.common import prepare
from detectors.needs import presence
from orderwatch.decide import decide
from orderwatch.runner import Judged, Judgment
from orderwatch.runner.partition import (built_once, collect_kept, combined, gather,
                                         history_of, judge_partition, plan, since_of)
from orderwatch import platform_state
from detectors.state_slice import recent_needed
from orderwatch.runner.with_state import current, read_view


@dataclass
class LocalRunner:
    partitions: int = 1

    def read(self, paths: Sequence[str | Path], config: Config, *, source: str | None = None,
             limits: ingest.ReadLimits | None = None,
             progress: Callable[[str, float], None] | None = None) -> ingest.IngestResult:
        return ingest.read_orders(paths, config, source=source, limits=limits, progress=progress)

    def judge(self, job: Judgment) -> Judged:
        if self.partitions > 1:
            p = plan(job, self.partitions)
            t0 = time.perf_counter()
            results = [judge_partition(p.spec, p.factors, part) for part in p.parts]
            return gather(job, p, results, rules_s=time.perf_counter() - t0)
        return _whole(job)

    def state_mapper(self) -> None:
        """The state's bucket jobs run in this process, one after the other."""
        return None


def _whole(job: Judgment) -> Judged:
    """Every store in one plan (collected once, shared by every rule).

    On a current baseline state (``orderwatch.runner.with_state``) the detectors that can read
    it get the batch, its store-days' stored lines and the state; the raw window is read only
    if a rule's detector cannot."""
    since = since_of(job.batch, job.config)
    recent = recent_needed([*job.rules, *job.shadow_rules])
    view = read_view(job.history, job.config, job.batch, since, recent=recent) if current(job.history, job.config) else None
    catalog = job.catalog.lazy() if job.catalog is not None else None
    limits = job.limits.lazy() if job.limits is not None else None
    kept: dict = {}
    present: dict[str, set[str]] = {}
    raw_rows: list[int] = []     # history lines read into the raw window (none when no detector asked)

    def context(lines: pl.LazyFrame, **extra: object) -> DetectContext:
        return DetectContext(lines=lines, catalog=catalog, as_of=job.as_of, config=job.config, clocks=job.clocks,
                             limits=limits, cod_cap=job.cod_cap, kept=kept, **extra)

    def raw() -> DetectContext:
        past = history_of(job.history, since)
        lines = prepare(combined(job.batch, past), job.config).collect()
        raw_rows.append(lines.height - job.batch.height)
        return context(lines.lazy(), present=present)

    if view is None:
        ctx = raw()
        present.update({f: fields | job.given for f, fields in presence(ctx.lines).items()})
    else:
        present.update({f: fields | job.given for f, fields in platform_state.present(job.batch, view.tables, since).items()})
        lines = prepare(combined(job.batch, view.day_slice.lazy()), job.config).collect().lazy()
        ctx = context(lines, present=present, state=view.tables, since=since, raw=built_once(raw))
    t0 = time.perf_counter()
    flags = decide(ctx, job.rules, present, job.inhibitions)
    shadow = decide(ctx, job.shadow_rules, present) if job.shadow_rules else None
    rules_s = time.perf_counter() - t0
    return Judged(flags, shadow, present, ctx, timings={"rules": rules_s}, kept=collect_kept(kept),
                  state=view, raw_rows=sum(raw_rows))


__all__ = ["LocalRunner"]
