"""The platform frames of a split Ray scan merged from its store groups' parts (no task, and
not the driver, holds the whole batch).

``ray_split.read_split`` left the lines on the workers in bucket groups.  Each group's task
builds ``partition.plan``'s context over its own stores (its batch objects and the history of
every store of its buckets) and returns
its part of each platform frame as an object; one task merges the parts
(``orderwatch.runner.merged``), and only the merged frames — keyed by SKU, day, file or
source, as the planning task's were — come to the driver.  A frame built from another's merged
value waits a round (the day factors read the merged line spread), so a pack of day rules
takes three rounds after the one that merges what each file carries.

On a current baseline state each group reads its batch stores' state rows and its buckets'
share of the tables of every store (``merged_state``), so their parts add up as well.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from contracts.schema import empty_canonical
from detectors.needs import merged_presence
from orderwatch.runner import Judgment
from orderwatch.runner.merged import NotMergeable, group_context, merge_parts, owned_buckets, parts_of, rule_frames
from orderwatch.runner.merged_state import Group
from orderwatch.runner.with_state import current
from orderwatch.runner.partition import PartitionSpec, arrow_frames, frames_of, store_local

#: rounds of parts before giving up (a pack of day rules needs 3)
ROUNDS = 8
#: tests: a marker path; the first parts task to create it kills its own worker (Ray retries it)
PARTS_CRASH_ONCE_ENV = "ORDERWATCH_RAY_PARTS_CRASH_ONCE"


def _rules(job: Judgment) -> list:
    return [*job.rules, *job.shadow_rules]


def _group(job: Judgment, since: datetime | None, buckets: list[int], on_state: bool, tables: Any) -> Group:  # noqa: ANN401
    from orderwatch.runner.ray_split import _concat
    return Group(job, _concat(tables), since, buckets, on_state)


def _presence_task(job: Judgment, since: datetime | None, buckets: list[int], on_state: bool,
                   *tables: Any) -> tuple[Any, tuple[int, int]]:  # noqa: ANN401
    """One group's part of what its files carry, and the state rows and slice lines it read."""
    group = _group(job, since, buckets, on_state, tables)
    part = group.presence()
    view = group.view() if on_state else None
    return part, (0, 0) if view is None else (view.state_rows, view.slice_rows)


def _parts_task(job: Judgment, since: datetime | None, buckets: list[int], on_state: bool,
                present: dict[str, set[str]], known: dict[str, dict[str, Any]], crash_once: str | None,
                *tables: Any) -> tuple[tuple[int, int], Any]:  # noqa: ANN401
    """One group's parts of the frames not yet known: ((parts, frames waiting), the parts)."""
    from orderwatch.runner.on_ray import _crash_once
    ctx = _group(job, since, buckets, on_state, tables).context(present)
    parts, waiting = parts_of(*rule_frames(ctx, _rules(job)), frames_of(known))
    _crash_once(crash_once)      # tests: the worker dies with its parts computed; the retry computes them anew
    return (sum(len(n) for n in parts.values()), waiting), arrow_frames(parts)


def _merge_task(job: Judgment, since: datetime | None, present: dict[str, set[str]],
                *parts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every group's parts merged into the platform frames."""
    builds, _ = rule_frames(group_context(job, empty_canonical(), None, present, since), _rules(job))
    return arrow_frames(merge_parts(builds, [frames_of(p) for p in parts]))


def merge_rounds(ray: Any, got: Callable[[Any], Any], parts: Callable[[Any], list[Any]],  # noqa: ANN401 - Ray
                 merge: Callable[[list[Any]], Any]) -> dict[str, dict[str, Any]]:
    """The frames known after rounds of ``parts(known)`` (per group: a head ref, a parts ref)
    and ``merge(parts refs)``, until no frame waits; the parts never reach this process."""
    known: dict[str, dict[str, Any]] = {}
    for _ in range(ROUNDS):
        outs = parts(ray.put(known))
        heads = got([o[0] for o in outs])
        merged = got(merge([o[1] for o in outs]))
        for key, frames in merged.items():
            known.setdefault(key, {}).update(frames)
        if not any(w for _, w in heads):
            return known
        if not merged:
            raise NotMergeable("platform frames wait for each other: no round made progress")
    raise NotMergeable(f"platform frames still waiting after {ROUNDS} rounds")


def mergeable(job: Judgment) -> bool:
    """True when every platform frame the rules ask for is built from parts."""
    try:
        rule_frames(group_context(job, empty_canonical(), None, {}, None), _rules(job))
    except NotMergeable:
        return False
    return True


def since_of_keys(keys: pl.DataFrame, job: Judgment) -> datetime | None:
    """``partition.since_of`` from the read's per-store keys (its first line's time)."""
    first = keys.get_column("first").min() if keys.height else None
    return first - timedelta(days=job.config.history_days) if first is not None else None  # type: ignore[operator]


def merged_plan(ray: Any, runner: Any, job: Judgment, batch: Any) -> Any:  # noqa: ANN401 - Ray, RayRunner, SplitBatch
    """``ray_split.Planned`` from the groups' parts: the partitions' spec and the merged frames."""
    from orderwatch.runner.on_ray import _get
    from orderwatch.runner.ray_split import Planned

    def task(fn: Any, returns: int = 1) -> Any:  # noqa: ANN401
        return ray.remote(fn).options(num_returns=returns, max_retries=runner.max_retries, retry_exceptions=False)

    def got(refs: Any) -> Any:  # noqa: ANN401
        values = _get(ray, refs)
        for v in values if isinstance(refs, list) else [values]:
            batch.ledger.count(v)
        return values

    since = since_of_keys(batch.keys, job)
    owned = owned_buckets(batch.group_buckets)
    shipped, on_state = ray.put(job), current(job.history, job.config)
    heads = got([task(_presence_task).remote(shipped, since, owned[i], on_state, *objs)
                 for i, objs in enumerate(batch.groups)])
    present = merged_presence(part for part, _ in heads)
    present = {f: fields | job.given for f, fields in present.items()}
    crash = os.environ.get(PARTS_CRASH_ONCE_ENV) or None
    known = merge_rounds(ray, got, lambda have: [task(_parts_task, 2).remote(
        shipped, since, owned[i], on_state, present, have, crash, *objs) for i, objs in enumerate(batch.groups)],
        lambda parts: task(_merge_task).remote(shipped, since, present, *parts))
    spec = PartitionSpec(config=job.config, as_of=job.as_of, rules=job.rules, shadow_rules=job.shadow_rules,
                         inhibitions=job.inhibitions if store_local(job.inhibitions) else [],
                         present=present, history_dir=str(job.history.dir.resolve()), since=since,
                         catalog=job.catalog, limits=job.limits, cod_cap=job.cod_cap, clocks=job.clocks,
                         on_state=on_state)
    read = [sum(n for _, (n, _) in heads), sum(n for _, (_, n) in heads)] if on_state else [None, None]
    return Planned(spec, known, present, *read)


__all__ = ["PARTS_CRASH_ONCE_ENV", "merge_rounds", "mergeable", "merged_plan", "since_of_keys"]
