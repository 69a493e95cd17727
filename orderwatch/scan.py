"""One scan, end to end: files → canonical lines → features → decisions → stored flags.

The order of work follows the data: ingest (and quarantine) → join the batch to its recent
history → every rule's detector adds feature columns → the pre-filter keeps rows that can
reach a level → durable-rules decides the level (``orderwatch.decide``, run by the
``scan.runner``: one polars plan in this process, or store partitions on Ray) → correlation
over the flags → flags, flagged orders' lines, quarantined rows and the batch's new lines are
stored by this process.

One scan, one outcome: everything the database keeps of a scan (flags, events, quarantine,
the ``done`` status) is written in one transaction; the history partition and the flagged
orders' lines (``store.flagged_lines``) are staged beside it and renamed into place after the
commit (``store.recovery`` settles a crash in between).  A scan that fails rolls back whole and is recorded as ``failed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

import ingest
from contracts.config import Config, history_dir_for, now_local
from contracts.schema import QUARANTINE
from detectors import REGISTRY, DetectContext
from detectors.needs import context_given, report_skips
from ingest.report import FileReport, set_clock
from ingest.store_master import StoreMaster, load_store_master, platform_cap
from rules import Rule, load_rules
from rules.loader import load_inhibitions
from rules.flags import FLAG_SCHEMA
from ingest.attribution import quarantine_store_ids
from orderwatch.baseline_state import StateUpdate
from orderwatch.decide import decide, decide_levels, split_reports
from orderwatch.scan_batch import read_batch
from store import open_orders as open_set
from orderwatch.runner import Judgment, PartitionRead, runner_for
from orderwatch.shadow import judge_shadow, split_modes
from store import History, Store
from store import sla_reports
from store.flagged_lines import FlaggedLines
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
    # what each store partition read (a partitioned runner); empty: judged in one piece
    partitions: list[PartitionRead] = field(default_factory=list)
    # how the baseline state was kept (orderwatch.baseline_state); None: its update failed (rebuilt next scan)
    state: StateUpdate | None = None
    # what the detectors read of the baseline state (orderwatch.runner.with_state.StateView); None: the
    # state was not current, every detector read the raw history window
    state_read: dict[str, int] | None = None

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


def correlate(store: Store, ctx: DetectContext, rules: Sequence[Rule], flags: pl.DataFrame,
              conn=None, written: tuple[int, pl.DataFrame] | None = None) -> pl.DataFrame:  # noqa: ANN001 - the scan's open transaction
    """Second pass: rules over the flags just stored and their stores' recent ones.

    ``written``: (scan id, the ids its write gave ``flags``) — the flags this scan created are
    taken from ``flags`` instead of being read back (``Store.recent_flags(..., written=...)``).
    """
    flag_rules = [r for r in rules if REGISTRY[r.detector].input == "flags"]
    if not flag_rules or flags.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    stores = flags.get_column("store_id").drop_nulls().unique().to_list()
    first = flags.get_column("occurred_at").min()
    if not stores or first is None:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    window = max(int(r.params.get("window_hours", 24)) for r in flag_rules)
    since = first - timedelta(hours=window)
    if written is None:
        recent = store.recent_flags(stores, since, conn=conn)
    else:
        recent = store.recent_flags(stores, since, conn=conn, written=(written[0], _with_ids(flags, written[1], since)))
    ctx2 = DetectContext(lines=ctx.lines, catalog=None, as_of=ctx.as_of, config=ctx.config,
                         orders=ctx.orders, flags=recent.lazy(), clocks=ctx.clocks)
    return decide(ctx2, flag_rules)


def run_scan(paths: Sequence[str | Path], config: Config, *, catalog: str | Path | None = None,
             as_of: datetime | None = None, db_url: str | None = None,
             progress: Progress | None = None, source: str | None = None,
             limits: ingest.ReadLimits | None = None, deadline: float | None = None,
             created_by: str | None = None, runner: str | None = None) -> ScanResult:
    """Scan ``paths`` into the database at ``db_url`` (default: config) and return the outcome.

    ``limits`` caps what files may hold (uploads); ``deadline`` (a ``time.monotonic()`` value)
    aborts the scan with :class:`ScanTimeout` at the next stage past it; ``created_by`` names
    the uploader; ``runner`` overrides ``scan.runner`` (``local`` or ``ray``: where features and
    rules run, ``orderwatch.runner``).
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
    judge_with = runner_for(config, runner, db_url or config.database_url)   # a bad runner fails here too
    given_as_of = as_of
    as_of = as_of or now_local(config)
    url = db_url or config.database_url
    tick("read", 0.0)
    read = read_batch(judge_with, paths, config, source=source, limits=limits,
                      progress=lambda p, f: tick(f"read {Path(p).name}", f))
    result = read.read   # counts, files and quarantine here; the lines wherever the runner left them
    quarantine = [result.quarantine]
    cat_df, cat_rows, cat_q = None, 0, 0
    if catalog:
        cat_df, cat_quarantine = ingest.read_catalog(catalog, config)
        cat_rows, cat_q = cat_df.height, cat_quarantine.height
        quarantine.append(cat_quarantine)
    master = load_store_master(config)
    if master is not None:
        quarantine.append(master.quarantine)
        master = master.keyed_to(read.stores())
    limits = master.limits if master is not None and master.limits.height else None
    cap = platform_cap(config)
    clocks = {r.path: set_clock(r, as_of, config.backfill_days, given_as_of) for r in result.reports}
    lap("read")

    store = Store.open(url, scan_lease_seconds=lease_seconds(config))
    try:
        history = History(history_dir_for(url, config))
        flagged_lines = FlaggedLines(history.dir)
        recover(store, history)
        scan_id = store.begin_scan([str(p) for p in paths], as_of, created_by)
        counts = {"lines_read": result.read, "lines_accepted": result.accepted,
                  "lines_quarantined": result.quarantined}
        try:
            tick("detect", 0.0)
            # the new or changed lines, and the stored versions they replace (the baseline state subtracts them)
            _, new_keys = read.new_or_changed(history)
            before = history.partition_scan_ids()
            line_rules = [r for r in rules if REGISTRY[r.detector].input == "lines"]
            given = context_given(cat_df is not None, limits is not None or cap is not None)
            judged = read.judge(judge_with, Judgment(
                batch=read.judged_lines(), history=history, config=config, as_of=as_of, rules=line_rules,
                shadow_rules=[r for r in shadow_rules if REGISTRY[r.detector].input == "lines"],
                inhibitions=list(inhibitions), catalog=cat_df, clocks=clocks, limits=limits, cod_cap=cap,
                given=given))
            ctx, present = judged.ctx, judged.present
            report_skips(result.reports, rules, present, given)
            flags, late_done = split_reports(judged.flags)
            lap("rules")
            # the runner's own split: history join and shared columns, then detectors and the engine
            timings["features"] = timings["rules"] - judged.timings.get("rules", 0.0)
            timings["rules"] = judged.timings.get("rules", 0.0)
            store.heartbeat(scan_id)
            all_quarantine = pl.concat(quarantine, how="vertical_relaxed").select(
                [pl.col(c).cast(t) for c, t in QUARANTINE.items()])
            with store.transaction() as conn:
                tick("store flags", 0.0)
                written = store.write_flags(scan_id, flags, conn=conn, json_encoded=True)   # rules.flags wrote the JSON
                sla_reports.write(conn, scan_id, late_done)
                created, raised, ids, changed = written.created, written.raised, [written.ids], [written.changed]
                correlated = correlate(store, ctx, rules, flags, conn, written=(scan_id, written.ids))
                if correlated.height:
                    more = store.write_flags(scan_id, correlated, conn=conn, json_encoded=True)
                    created, raised, flags = created + more.created, raised + more.raised, pl.concat([flags, correlated])
                    ids.append(more.ids)
                    changed.append(more.changed)
                judge_shadow(store, ctx, shadow_rules, present, flags, scan_id, conn, line_flags=judged.shadow)
                tick("store lines", 0.3)
                # the lines of the orders whose flags this scan created or raised (store.flagged_lines)
                read.stage_flagged(flagged_lines, scan_id, _changed_orders(flags, changed))
                tick("store quarantine", 0.6)
                store.add_quarantine(scan_id, all_quarantine.with_columns(
                    quarantine_store_ids(all_quarantine, config, source)), conn=conn)
                open_set.track(conn, scan_id, read.open_states(config, as_of, rules, present))   # what re-evaluation reads
                tick("store history", 0.8)
                read.stage_history(history, scan_id)
                problems = "; ".join(f"reconciliation: {m}" for m in _mismatches(result.files)) or None
                store.finish_scan(scan_id, **counts, lines_new=new_keys, flags_new=created,
                                  error=problems, skipped=_skipped(result.reports), conn=conn)
                tick("store commit", 0.9)
            tick("history", 0.95)
            history.promote(scan_id)
            flagged_lines.promote(scan_id)
            if cat_df is not None and cat_df.height:
                history.save_catalog(cat_df)
            lap("store")
            mapper = judge_with.state_mapper()
            state_update = read.advance_state(history, config, scan_id, before, judged.kept, mapper)
            lap("state")
        except BaseException as exc:
            history.discard(scan_id)
            flagged_lines.discard(scan_id)
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
        late_done=late_done, store_master=master, partitions=judged.partitions, state=state_update,
        state_read=None if judged.state is None else {"state_rows": judged.state.state_rows,
                                                      "slice_rows": judged.state.slice_rows,
                                                      "raw_history_rows": judged.raw_rows},
    )


def _with_ids(flags: pl.DataFrame, ids: pl.DataFrame, since: datetime) -> pl.DataFrame:
    """The scan's flags since ``since`` with their stored ids (what ``recent_flags`` would read)."""
    return flags.filter(pl.col("occurred_at") >= since).join(ids, on=["rule_id", "subject"]).rename({"flag_id": "id"})


def _changed_orders(flags: pl.DataFrame, changed: list[pl.DataFrame]) -> pl.DataFrame:
    """store_id, order_id of the orders with a flag this scan created or raised."""
    keys = pl.concat(changed)
    return (flags.join(keys, on=["rule_id", "subject"], how="semi").select("store_id", "order_id")
            .drop_nulls().unique())


def _skipped(reports: Sequence[FileReport]) -> dict[str, dict[str, list[list[str]]]]:
    """file -> detector -> unmet needs, as the scan record keeps them (the dashboard reads them)."""
    return {r.path: r.skipped_needs for r in reports if r.skipped_needs}


def _mismatches(files: Sequence[ingest.FileCount]) -> list[str]:
    return [f"{Path(f.path).name}: read {f.read} != counted {f.counted}" if f.counted not in (None, f.read)
            else f"{Path(f.path).name}: read {f.read} != accepted {f.accepted} + quarantined {f.quarantined}"
            for f in files if not f.reconciled]


__all__ = ["ScanResult", "ScanTimeout", "decide", "decide_levels", "run_scan", "split_reports"]
