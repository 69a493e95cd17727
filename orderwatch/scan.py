"""One scan, end to end: files → canonical lines → features → decisions → stored flags.

The order of work follows the data: ingest (and quarantine) → join the batch to its recent
history → every rule's detector adds feature columns (one polars plan, collected once) →
the pre-filter keeps rows that can reach a level → durable-rules decides the level → flags,
flagged orders' lines, quarantined rows and the batch's new lines are stored.

One scan, one outcome: everything the database keeps of a scan (flags, events, lines,
quarantine, the ``done`` status) is written in one transaction; the history partition is
staged beside it and renamed into place after the commit (``store.recovery`` settles a crash
in between).  A scan that fails rolls back whole and is recorded as ``failed``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import polars.selectors as cs

import ingest
from contracts.config import Config, history_dir_for, now_local
from contracts.schema import LINE_KEY, QUARANTINE
from detectors import REGISTRY, DetectContext
from detectors.common import prepare
from detectors.needs import context_given, judged_files, presence, report_skips
from ingest.report import FileReport, set_clock
from ingest.store_master import StoreMaster, load_store_master, platform_cap
from rules import Rule, inhibit, load_rules
from rules.inhibit import Inhibition
from rules.loader import load_inhibitions
from rules.engine import RuleEngine
from rules.flags import FLAG_SCHEMA, build_flags
from rules.model import REPORT
from rules.prefilter import candidates
from ingest.attribution import quarantine_store_ids
from orderwatch.open_orders import track_scan
from orderwatch.shadow import judge_shadow, split_modes
from store import History, Store
from store import sla_reports
from store.recovery import recover

Progress = Callable[[str, float], None]


class ScanTimeout(Exception):
    """A scan ran past its time budget (uploads: ``web.upload_max_seconds``); nothing was stored."""


def lease_seconds(config: Config) -> int:
    return int(config.get("database.scan_lease_seconds", 900))


@dataclass
class ScanResult:
    scan_id: int
    as_of: datetime
    read: int
    accepted: int
    quarantined: int
    new_lines: int
    flags: pl.DataFrame                 # every flag this scan found (FLAG_SCHEMA + flag_id)
    flags_created: int
    flags_raised: int
    quarantine: pl.DataFrame            # QUARANTINE rows of this scan (orders and catalog)
    catalog_rows: int = 0
    catalog_quarantined: int = 0
    store_master: StoreMaster | None = None   # the store master read (stores.file), if any
    files: list[ingest.FileCount] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # late but done (rules' ``report`` level): counted in the SLA statistics, not flags
    late_done: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FLAG_SCHEMA))

    @property
    def reconciled(self) -> bool:
        """read = accepted + quarantined, and every file's read = its independent count."""
        return self.read == self.accepted + self.quarantined and all(f.reconciled for f in self.files)

    @property
    def mismatches(self) -> list[str]:
        """One sentence per file whose counts do not add up."""
        return _mismatches(self.files)

    @property
    def reports(self) -> list[FileReport]:
        """What was understood of each file: fields, dates, states, skipped detectors, clock."""
        return [f.report for f in self.files if f.report is not None]


def _judging(ctx: DetectContext, files: set[str], all_files: set[str]) -> DetectContext:
    """The context with only ``files``' batch rows in the batch (history stays the baseline)."""
    if files == all_files:
        return ctx
    keep = pl.col("_in_batch") & pl.col("source_file").is_in(sorted(files))
    return DetectContext(lines=ctx.lines.with_columns(keep.alias("_in_batch")), catalog=ctx.catalog,
                         as_of=ctx.as_of, config=ctx.config, flags=ctx.flags, clocks=ctx.clocks, present=ctx.present,
                         orders=ctx.orders.with_columns(keep.alias("_in_batch")) if ctx.orders is not None else None,
                         limits=ctx.limits, cod_cap=ctx.cod_cap)


def _feature_frames(ctx: DetectContext, rules: Sequence[Rule],
                    present: dict[str, set[str]] | None) -> dict[str, pl.DataFrame]:
    """Each rule's candidate rows, computed in one polars pass (detectors shared by params).

    ``present``: source_file -> fields it carries; a rule judges only the files that carry
    what its detector needs.  A detector several rules share (a dry run's live and changed
    versions of a rule) is collected once and each rule filters the result: polars does not
    share a subplan between the queries of one ``collect_all``.
    """
    plans: dict[str, pl.LazyFrame] = {}
    by_params: dict[str, pl.LazyFrame] = {}
    keys: dict[str, str] = {}
    all_files = set(present or ())
    for rule in rules:
        det = REGISTRY[rule.detector]
        files = judged_files(rule.detector, rule.params, present) if present is not None else all_files
        key = rule.detector + json.dumps(rule.params, sort_keys=True, default=str) + json.dumps(sorted(files))
        if key not in by_params:
            rule_ctx = _judging(ctx, files, all_files) if present is not None else ctx
            # NaN means "no value" to the engine; make polars agree before the pre-filter
            by_params[key] = (det.compute(rule_ctx, rule.params)
                              .with_columns(cs.float().fill_nan(None))
                              .with_row_index("_row")
                              .with_columns(pl.col("_row").cast(pl.Int64)))
        keys[rule.id] = key
        plans[rule.id] = candidates(by_params[key], rule)
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
           inhibitions: Sequence[Inhibition] = ()) -> pl.DataFrame:
    """Flags for the batch in ``ctx`` (FLAG_SCHEMA), one per rule and subject.

    ``present`` (see ``detectors.needs.presence``): each rule judges only the files that carry
    the fields its detector needs; None judges everything (the caller already knows).
    ``inhibitions``: a consequence found beside its cause becomes a finding of the cause's flag
    (``rules.inhibit``).
    """
    if present is not None and not ctx.present:
        ctx.present = present
    frames = _feature_frames(ctx, rules, present)
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


def correlate(store: Store, ctx: DetectContext, rules: Sequence[Rule], flags: pl.DataFrame,
              conn=None) -> pl.DataFrame:  # noqa: ANN001 - the scan's open transaction
    """Second pass: rules over the flags just stored and their stores' recent ones."""
    flag_rules = [r for r in rules if REGISTRY[r.detector].input == "flags"]
    if not flag_rules or flags.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    stores = flags.get_column("store_id").drop_nulls().unique().to_list()
    first = flags.get_column("occurred_at").min()
    if not stores or first is None:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    window = max(int(r.params.get("window_hours", 24)) for r in flag_rules)
    recent = store.recent_flags(stores, first - timedelta(hours=window), conn=conn)
    ctx2 = DetectContext(lines=ctx.lines, catalog=None, as_of=ctx.as_of, config=ctx.config,
                         orders=ctx.orders, flags=recent.lazy(), clocks=ctx.clocks)
    return decide(ctx2, flag_rules)


def _combined(batch: pl.DataFrame, history: History, config: Config) -> pl.LazyFrame:
    """The batch plus the history its baselines need (batch rows replace their stored copies)."""
    if history.empty:
        return batch.lazy().with_columns(pl.lit(True).alias("_in_batch"))
    first = batch.get_column("created_at").min()
    since = first - timedelta(days=config.history_days) if first is not None else None
    past = history.scan(since).join(batch.lazy().select(LINE_KEY), on=list(LINE_KEY), how="anti",
                                    nulls_equal=True)
    cols = batch.columns
    return pl.concat(
        [past.select(cols).with_columns(pl.lit(False).alias("_in_batch")),
         batch.lazy().with_columns(pl.lit(True).alias("_in_batch"))],
        how="vertical_relaxed",
    )


def run_scan(paths: Sequence[str | Path], config: Config, *, catalog: str | Path | None = None,
             as_of: datetime | None = None, db_url: str | None = None,
             progress: Progress | None = None, source: str | None = None,
             limits: ingest.ReadLimits | None = None, deadline: float | None = None,
             created_by: str | None = None) -> ScanResult:
    """Scan ``paths`` into the database at ``db_url`` (default: config) and return the outcome.

    ``limits`` caps what files may hold (uploads); ``deadline`` (a ``time.monotonic()`` value)
    aborts the scan with :class:`ScanTimeout` at the next stage past it; ``created_by`` names
    the uploader.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def tick(stage: str, frac: float) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise ScanTimeout(f"扫描超过时间上限，已在「{stage}」阶段中止，未保存任何结果")
        if progress:
            progress(stage, frac)

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = now - t0
        t0 = now

    # fail on bad rules before reading anything; shadow rules are judged apart (orderwatch.shadow)
    rules, shadow_rules = split_modes(load_rules(config, include_shadow=True))
    inhibitions = load_inhibitions(config)
    given_as_of = as_of
    as_of = as_of or now_local(config)
    url = db_url or config.database_url
    tick("read", 0.0)
    result = ingest.read_orders(paths, config, source=source, limits=limits,
                                progress=lambda p, f: tick(f"read {Path(p).name}", f))
    quarantine = [result.quarantine]
    cat_df, cat_rows, cat_q = None, 0, 0
    if catalog:
        cat_df, cat_quarantine = ingest.read_catalog(catalog, config)
        cat_rows, cat_q = cat_df.height, cat_quarantine.height
        quarantine.append(cat_quarantine)
    master = load_store_master(config)
    if master is not None:
        quarantine.append(master.quarantine)
        master = master.keyed_to(set(result.lines.get_column("store_id").unique().to_list()))
    limits = master.limits if master is not None and master.limits.height else None
    cap = platform_cap(config)
    clocks = {r.path: set_clock(r, as_of, config.backfill_days, given_as_of) for r in result.reports}
    lap("read")

    store = Store.open(url, scan_lease_seconds=lease_seconds(config))
    try:
        history = History(history_dir_for(url, config))
        recover(store, history)
        scan_id = store.begin_scan([str(p) for p in paths], as_of, created_by)
        counts = {"lines_read": result.read, "lines_accepted": result.accepted,
                  "lines_quarantined": result.quarantined}
        try:
            batch = result.lines
            tick("detect", 0.0)
            new_lines, new_keys = history.new_or_changed(batch)
            lines = prepare(_combined(batch, history, config), config).collect().lazy()
            ctx = DetectContext(lines=lines, catalog=cat_df.lazy() if cat_df is not None else None,
                                as_of=as_of, config=config, clocks=clocks,
                                limits=limits.lazy() if limits is not None else None, cod_cap=cap)
            given = context_given(cat_df is not None, limits is not None or cap is not None)
            present = {f: fields | given for f, fields in presence(lines).items()}
            report_skips(result.reports, rules, present, given)
            lap("features")
            flags, late_done = split_reports(
                decide(ctx, [r for r in rules if REGISTRY[r.detector].input == "lines"], present, inhibitions))
            lap("rules")
            store.heartbeat(scan_id)
            all_quarantine = pl.concat(quarantine, how="vertical_relaxed").select(
                [pl.col(c).cast(t) for c, t in QUARANTINE.items()])
            with store.transaction() as conn:
                tick("store flags", 0.0)
                written = store.write_flags(scan_id, flags, conn=conn)
                sla_reports.write(conn, scan_id, late_done)
                created, raised, ids = written.created, written.raised, [written.ids]
                correlated = correlate(store, ctx, rules, flags, conn)
                if correlated.height:
                    more = store.write_flags(scan_id, correlated, conn=conn)
                    created, raised, flags = created + more.created, raised + more.raised, pl.concat([flags, correlated])
                    ids.append(more.ids)
                judge_shadow(store, ctx, shadow_rules, present, flags, scan_id, conn)
                tick("store lines", 0.3)
                flagged = flags.select(pl.col("store_id"), pl.col("order_id")).drop_nulls().unique()
                store.add_order_lines(scan_id, batch.join(flagged, on=["store_id", "order_id"], how="semi"),
                                      conn=conn)
                tick("store quarantine", 0.6)
                store.add_quarantine(scan_id, all_quarantine.with_columns(
                    quarantine_store_ids(all_quarantine, config, source)), conn=conn)
                track_scan(conn, scan_id, new_lines, config, as_of, rules, present)   # what re-evaluation reads
                tick("store history", 0.8)
                history.stage(scan_id, new_lines, replaces=new_lines.height > new_keys)
                problems = "; ".join(f"reconciliation: {m}" for m in _mismatches(result.files)) or None
                store.finish_scan(scan_id, **counts, lines_new=new_keys, flags_new=created,
                                  error=problems, skipped=_skipped(result.reports), conn=conn)
                tick("store commit", 0.9)
            tick("history", 0.95)
            history.promote(scan_id)
            if cat_df is not None and cat_df.height:
                history.save_catalog(cat_df)
            lap("store")
        except BaseException as exc:
            history.discard(scan_id)
            if store.get_scan(scan_id)["status"] == "running":  # not if the commit went through
                store.finish_scan(scan_id, **counts, lines_new=0, flags_new=0, status="failed",
                                  error=f"{type(exc).__name__}: {exc}")
            raise
    finally:
        store.close()
    flags = flags.join(pl.concat(ids), on=["rule_id", "subject"], how="left")  # ids came back from the writes
    tick("done", 1.0)
    return ScanResult(
        scan_id=scan_id, as_of=as_of, read=result.read, accepted=result.accepted,
        quarantined=result.quarantined, new_lines=new_keys, flags=flags,
        flags_created=created, flags_raised=raised, quarantine=all_quarantine,
        catalog_rows=cat_rows, catalog_quarantined=cat_q, files=list(result.files), timings=timings,
        late_done=late_done, store_master=master,
    )


def _skipped(reports: Sequence[FileReport]) -> dict[str, dict[str, list[list[str]]]]:
    """file -> detector -> unmet needs, as the scan record keeps them (the dashboard reads them)."""
    return {r.path: r.skipped_needs for r in reports if r.skipped_needs}


def _mismatches(files: Sequence[ingest.FileCount]) -> list[str]:
    return [f"{Path(f.path).name}: read {f.read} != counted {f.counted}" if f.counted not in (None, f.read)
            else f"{Path(f.path).name}: read {f.read} != accepted {f.accepted} + quarantined {f.quarantined}"
            for f in files if not f.reconciled]


__all__ = ["ScanResult", "ScanTimeout", "decide", "decide_levels", "run_scan", "split_reports"]
