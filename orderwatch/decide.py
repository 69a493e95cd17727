"""Features → rules → flags for one partition of lines: the one place rules decide.

A scan, a dry run and the re-evaluation judge through :func:`decide`; the partition runner
(``orderwatch.runner``) calls it once per store partition with the platform frames computed
first (:func:`platform_plans`), so a partitioned run decides with exactly this code.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Sequence

import polars as pl
import polars.selectors as cs

from detectors import REGISTRY, DetectContext
from detectors.needs import judged_files
from rules import Rule, inhibit
from rules.engine import RuleEngine
from rules.flags import FLAG_SCHEMA, build_flags
from rules.inhibit import Inhibition
from rules.model import REPORT

#: rule key -> platform frame name -> frame (what a partition is given besides its lines)
Factors = dict[str, dict[str, pl.DataFrame]]


def _judging(ctx: DetectContext, files: set[str], all_files: set[str]) -> DetectContext:
    """The context with only ``files``' batch rows in the batch (history stays the baseline)."""
    if files == all_files:
        return ctx
    keep = pl.col("_in_batch") & pl.col("source_file").is_in(sorted(files))
    # every other field (the state, the window's start) as it is; frames built from the lines afresh
    return dataclasses.replace(
        ctx, lines=ctx.lines.with_columns(keep.alias("_in_batch")), cache={}, builds={}, factors=None,
        since=ctx.history_start() if ctx.state is not None else ctx.since,
        orders=ctx.orders.with_columns(keep.alias("_in_batch")) if ctx.orders is not None else None)


def _reading(ctx: DetectContext, rule: Rule) -> DetectContext:
    """The context a rule's detector computes in: on a current baseline state, the narrowed
    one when the detector reads its baselines from the state, else the raw history window's."""
    if ctx.state is None or ctx.raw is None or REGISTRY[rule.detector].from_state(rule.params, ctx.state):
        return ctx
    return ctx.raw()


def _contexts(ctx: DetectContext, rules: Sequence[Rule], present: dict[str, set[str]] | None,
              factors: Factors | None = None) -> tuple[dict[str, str], dict[str, DetectContext]]:
    """(rule id -> its key, key -> the context its detector computes in).

    A key is a detector, its params and the files it judges: rules sharing one share the
    detector's frame.  ``factors``: each key's platform frames, computed over every store.
    """
    keys: dict[str, str] = {}
    contexts: dict[str, DetectContext] = {}
    all_files = set(present or ())
    for rule in rules:
        files = judged_files(rule.detector, rule.params, present) if present is not None else all_files
        key = rule.detector + json.dumps(rule.params, sort_keys=True, default=str) + json.dumps(sorted(files))
        if key not in contexts:
            base = _reading(ctx, rule)
            rule_ctx = _judging(base, files, all_files) if present is not None else base
            if factors is not None:
                rule_ctx = dataclasses.replace(rule_ctx, factors=factors.get(key, {}), builds={})
            contexts[key] = rule_ctx
        keys[rule.id] = key
    return keys, contexts


def _detector_frame(ctx: DetectContext, rule: Rule) -> pl.LazyFrame:
    # NaN means "no value" to the engine; make polars agree before the pre-filter
    return (REGISTRY[rule.detector].compute(ctx, rule.params)
            .with_columns(cs.float().fill_nan(None))
            .with_row_index("_row")
            .with_columns(pl.col("_row").cast(pl.Int64)))


def platform_plans(ctx: DetectContext, empty: DetectContext, rules: Sequence[Rule],
                   present: dict[str, set[str]] | None) -> dict[str, dict[str, pl.LazyFrame]]:
    """Every platform frame the rules' detectors ask for, as plans over ``ctx`` (all stores).

    Which frames a detector asks for is learnt by running it on ``empty`` (the same columns,
    no rows): the detector's own code names them, so a changed detector needs no list here.
    """
    _keys, full = _contexts(ctx, rules, present)
    return {key: {name: build(full[key]) for name, build in named.items()}
            for key, named in platform_builds(empty, rules, present).items()}


def platform_builds(empty: DetectContext, rules: Sequence[Rule],
                    present: dict[str, set[str]] | None) -> dict[str, dict[str, Callable[[DetectContext], pl.LazyFrame]]]:
    """Rule key -> the builds of the platform frames its detector asks for, learnt by running it
    on ``empty`` (the same columns, no rows)."""
    keys, probe = _contexts(empty, rules, present, factors=None)
    out: dict[str, dict[str, Callable[[DetectContext], pl.LazyFrame]]] = {}
    for rule in rules:
        key = keys[rule.id]
        if key in out:
            continue
        probe_ctx = dataclasses.replace(probe[key], builds={}, cache={})
        REGISTRY[rule.detector].compute(probe_ctx, rule.params)
        out[key] = dict(probe_ctx.builds)
    return out


def _feature_frames(ctx: DetectContext, rules: Sequence[Rule], present: dict[str, set[str]] | None,
                    factors: Factors | None = None) -> dict[str, pl.DataFrame]:
    """Each rule's candidate rows, computed in one polars pass (detectors shared by params).

    ``present``: source_file -> fields it carries; a rule judges only the files that carry
    what its detector needs.  A detector several rules share (a dry run's live and changed
    versions of a rule) is collected once and each rule filters the result: polars does not
    share a subplan between the queries of one ``collect_all``.
    """
    from rules.prefilter import candidates

    keys, contexts = _contexts(ctx, rules, present, factors)
    by_params = {key: _detector_frame(contexts[key], next(r for r in rules if keys[r.id] == key))
                 for key in contexts}
    plans = {rule.id: candidates(by_params[keys[rule.id]], rule) for rule in rules}
    counts = Counter(keys.values())
    shared = [k for k, n in counts.items() if n > 1]
    alone = [rid for rid, k in keys.items() if counts[k] == 1]
    frames = dict(zip(alone, pl.collect_all([plans[rid] for rid in alone])))
    for key, frame in zip(shared, pl.collect_all([by_params[k] for k in shared])):
        for rule in rules:
            if keys[rule.id] == key:
                frames[rule.id] = candidates(frame.lazy(), rule).collect()
    return {rid: frames[rid] for rid in plans}


def decide(ctx: DetectContext, rules: Sequence[Rule], present: dict[str, set[str]] | None = None,
           inhibitions: Sequence[Inhibition] = (), factors: Factors | None = None) -> pl.DataFrame:
    """Flags for the batch in ``ctx`` (FLAG_SCHEMA), one per rule and subject.

    ``present`` (see ``detectors.needs.presence``): each rule judges only the files that carry
    the fields its detector needs; None judges everything (the caller already knows).
    ``inhibitions``: a consequence found beside its cause becomes a finding of the cause's flag
    (``rules.inhibit``).  ``factors``: the platform frames of a store partition's run (None:
    ``ctx`` holds every store and computes them itself).
    """
    if present is not None and not ctx.present:
        ctx.present = present
    frames = _feature_frames(ctx, rules, present, factors)
    engine = RuleEngine(rules)
    try:
        out = []
        for rule in rules:
            cand = frames[rule.id]
            det = REGISTRY[rule.detector]
            fired = decide_levels(engine, rule, cand) if det.time_based else engine.evaluate_frame(rule, cand)
            out.append(build_flags(rule, det.name, list(det.features(rule.params)), cand, fired))
    finally:
        engine.close()
    flags = pl.concat(out) if out else pl.DataFrame(schema=FLAG_SCHEMA)
    return inhibit.apply(flags, list(inhibitions), list(rules), ctx.lines) if inhibitions else flags


def decide_levels(engine: RuleEngine, rule: Rule, candidates: pl.DataFrame) -> pl.DataFrame:
    """A time-based rule's levels: a finished stage (``done`` 1) is never a queue flag, whatever
    level its row would reach — it is ``report`` (late but done, for the SLA statistics).  Such a
    row passed the pre-filter, so some level holds: it needs no engine, which decides between
    levels only for the stages still waiting."""
    if "done" not in candidates.columns:
        return engine.evaluate_frame(rule, candidates)
    finished = (pl.col("done") == 1).fill_null(False)
    waiting = engine.evaluate_frame(rule, candidates.filter(~finished))
    done = candidates.filter(finished).select("_row", pl.lit(REPORT).alias("level"))
    return pl.concat([waiting, done.cast(waiting.schema)])


def split_reports(flags: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(flags to queue, ``report`` rows for the SLA statistics)."""
    is_report = pl.col("level") == REPORT
    return flags.filter(~is_report), flags.filter(is_report)


__all__ = ["Factors", "decide", "decide_levels", "platform_builds", "platform_plans", "split_reports"]
