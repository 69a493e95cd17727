"""The platform frames from store groups' parts, so that no task holds the whole batch.

``partition.plan`` computes every platform frame (``DetectContext.platform``) over one context
of every store: the batch and its history window.  With the lines spread over workers by
store group (``orderwatch.runner.ray_split``), each group's task builds the same context of
its own stores only — its batch lines and the history of every store of its buckets, in the
batch or not — and computes each frame's part (``detectors.base.Parts``); one task merges the
groups' parts.  A frame built from another's merged value (the day factors from the store-days'
ratios against the merged line spread) waits a round: its part raises ``FrameMissing`` until
the frame it reads is known.  The fields a file carries (``detectors.needs.presence``) are
merged first, from each group's :func:`presence_of` part.

Pure polars, no Ray: the tests merge groups' parts in process and hold them to ``plan``'s frames.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import polars as pl

from detectors import DetectContext
from detectors.base import FrameMissing, Parts
from detectors.common import orders_of, prepare
from detectors.needs import PresencePart, presence_part
from detectors.volume_day import day_frame
from detectors.volume_state import params_key
from ingest.split import STATE_BUCKETS, bucket_of
from orderwatch.decide import Factors, _contexts, platform_builds
from orderwatch.runner import Judgment
from orderwatch.runner.partition import FACTOR_ENGINE, _context, combined, history_of
from rules import Rule
from store import History


class NotMergeable(ValueError):
    """A detector asks for a platform frame that is not built from parts (a plain function)."""


def owned_buckets(groups: list[list[int]]) -> list[list[int]]:
    """Each group's buckets and, spread over the groups, the buckets of no group (stores with
    history but no batch line): every store's history is some group's, once."""
    owned = [sorted(g) for g in groups]
    placed = {b for g in groups for b in g}
    for i, b in enumerate(b for b in range(STATE_BUCKETS) if b not in placed):
        owned[i % len(owned)].append(b)
    return owned


def group_history(history: History, since: datetime | None, buckets: list[int]) -> pl.LazyFrame | None:
    """The history (from ``since``; None: all of it) of the stores of ``buckets``; None before
    the first scan."""
    past = history_of(history, since)
    if past is None:
        return None
    mine = set(buckets)
    stores = past.select(pl.col("store_id").unique()).collect().get_column("store_id").to_list()
    return history_of(history, since, [s for s in stores if bucket_of(s) in mine])


def presence_of(batch: pl.DataFrame, past: pl.LazyFrame | None) -> PresencePart:
    """One group's part of the fields its files carry (``plan``'s presence, by group): its
    stores' history of every named source (another group's batch may hold that source's files)."""
    named = None if past is None else past.filter(pl.col("source").is_not_null() & (pl.col("source") != "default"))
    return presence_part(combined(batch, named).collect())


def group_context(job: Judgment, batch: pl.DataFrame, past: pl.LazyFrame | None,
                  present: dict[str, set[str]], since: datetime | None) -> DetectContext:
    """``plan``'s context over one group's stores: its batch lines and its stores' history."""
    lines = prepare(combined(batch, past), job.config).collect().lazy()
    catalog = job.catalog.lazy() if job.catalog is not None else None
    ctx = _context(lines, job, present, orders=orders_of(lines, catalog))
    return dataclasses.replace(ctx, since=since)


def _builds(empty: DetectContext, rules: list[Rule], present: dict[str, set[str]]) -> dict[str, dict[str, Parts]]:
    """Rule key -> frame name -> its ``Parts`` (``decide.platform_builds``)."""
    return {key: {n: _checked(n, b) for n, b in named.items()}
            for key, named in platform_builds(empty, rules, present).items()}


def empty_context(ctx: DetectContext) -> DetectContext:
    """``ctx`` with no line: what ``_builds`` probes the detectors on (its own cache and kept)."""
    return dataclasses.replace(ctx, lines=ctx.lines.clear(), orders=None, cache={}, builds={}, kept={},
                               factors=None)


Builds = dict[str, dict[str, Parts]]


def rule_frames(ctx: DetectContext, rules: list[Rule]) -> tuple[Builds, dict[str, DetectContext]]:
    """The rules' frames' builds by rule key, and the context each key's part is taken in."""
    return _builds(empty_context(ctx), rules, ctx.present), _contexts(ctx, rules, ctx.present)[1]


def _checked(name: str, build: object) -> Parts:
    if not isinstance(build, Parts):
        raise NotMergeable(f"platform frame {name!r} is not built from parts")
    return build


def day_frames(ctx: DetectContext, params: list[dict]) -> tuple[Builds, dict[str, DetectContext]]:
    """:func:`rule_frames` of the day rules a rebuild judges store-days by (``volume_day.day_frame``
    per ``volume_state.params_key``), every key in ``ctx``."""
    builds: Builds = {}
    for p in params:
        probe = empty_context(ctx)
        day_frame(probe, p)
        builds[params_key(p)] = {n: _checked(n, b) for n, b in probe.builds.items()}
    return builds, {k: ctx for k in builds}


def parts_of(builds: Builds, contexts: dict[str, DetectContext], known: Factors) -> tuple[Factors, int]:
    """The parts, over the contexts' stores, of every frame not in ``known`` whose own inputs
    are known; and how many frames still wait for another's merged value."""
    plans: list[tuple[str, str, pl.LazyFrame]] = []
    waiting = 0
    for key, named in builds.items():
        have = known.get(key, {})
        for name, build in named.items():
            if name in have:
                continue
            try:
                plans.append((key, name, build.part(dataclasses.replace(contexts[key], factors=have, builds={}))))
            except FrameMissing:
                waiting += 1
    out: Factors = {}
    for (key, name, _), frame in zip(plans, pl.collect_all([p for _, _, p in plans], engine=FACTOR_ENGINE)):
        out.setdefault(key, {})[name] = frame
    return out, waiting


def merge_parts(builds: Builds, parts: list[Factors]) -> Factors:
    """Each frame merged from every group's part."""
    named = sorted({(k, n) for p in parts for k, frames in p.items() for n in frames})
    plans = [builds[k][n].merge(pl.concat([p[k][n] for p in parts if n in p.get(k, {})],
                                          how="vertical_relaxed").lazy()) for k, n in named]
    out: Factors = {}
    for (key, name), frame in zip(named, pl.collect_all(plans, engine=FACTOR_ENGINE) if plans else []):
        out.setdefault(key, {})[name] = frame
    return out


def merged_factors(builds: Builds, groups: list[dict[str, DetectContext]], rounds: int = 8) -> Factors:
    """The platform frames from the groups' contexts (in process: what the Ray runner does
    with a task per group and round)."""
    known: Factors = {}
    for _ in range(rounds):
        got = [parts_of(builds, contexts, known) for contexts in groups]
        merged = merge_parts(builds, [p for p, _ in got])
        for key, frames in merged.items():
            known.setdefault(key, {}).update(frames)
        if not any(w for _, w in got):
            return known
        if not merged:
            break
    raise NotMergeable("platform frames wait for each other: no round made progress")


__all__ = ["Builds", "NotMergeable", "day_frames", "group_context", "group_history", "merge_parts", "merged_factors",
           "owned_buckets", "parts_of", "presence_of", "rule_frames"]
