"""The in-process runner (the default): one polars plan over every store, or N store partitions.

``partitions: 1`` (the default) judges the batch and its history in one piece, as the scan
always has.  ``partitions: N`` runs the partitioned path of a cluster in this process — the
platform frames first, then each store group with only its stores' history — which is how the
tests hold a partitioned run to the flags of one without a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ingest
from contracts.config import Config

from detectors import DetectContext
from detectors.common import prepare
from detectors.needs import presence
from orderwatch.decide import decide
from orderwatch.runner import Judged, Judgment
from orderwatch.runner.partition import combined, gather, history_of, judge_partition, plan, since_of


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


def _whole(job: Judgment) -> Judged:
    """Every store in one plan (collected once, shared by every rule)."""
    past = history_of(job.history, since_of(job.batch, job.config))
    lines = prepare(combined(job.batch, past), job.config).collect().lazy()
    ctx = DetectContext(lines=lines, catalog=job.catalog.lazy() if job.catalog is not None else None,
                        as_of=job.as_of, config=job.config, clocks=job.clocks,
                        limits=job.limits.lazy() if job.limits is not None else None, cod_cap=job.cod_cap)
    present = {f: fields | job.given for f, fields in presence(lines).items()}
    t0 = time.perf_counter()
    flags = decide(ctx, job.rules, present, job.inhibitions)
    shadow = decide(ctx, job.shadow_rules, present) if job.shadow_rules else None
    return Judged(flags, shadow, present, ctx, timings={"rules": time.perf_counter() - t0})


__all__ = ["LocalRunner"]
