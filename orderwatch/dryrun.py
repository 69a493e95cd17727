"""The rules workbench's dry run: judge stored history with changed rules, and write nothing.

Why one pass: the detectors' baselines look back (a store's previous days, its previous
orders), so judging the whole period at once gives each day the baseline it had on that day —
the same as scanning the period's lines as one batch, which is what
``tests/test_dryrun.py`` compares against a real scan.  Judging day by day would read the
same history once per day.  The period is read back from the Parquet history like a scan's
baseline window: the lines of ``[since, until]`` are the batch, the ``history.days`` before
its first line the history, and nothing after ``until`` is seen.

Both rule sets go through the scan's own pipeline (``orderwatch.scan.decide`` and
``correlate``) in one call: a changed rule is evaluated under a temporary id beside the live
rules, so detectors shared by both sets compute their features once.  Time-based rules judge
each file at the clock its scan gave it (the scan's ``as_of``, or a backfill's newest event).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import select

from contracts.config import Config, history_dir_for
from contracts.schema import EVENT_FIELDS, FLAG_SCHEMA
from detectors import REGISTRY, DetectContext
from detectors.common import prepare
from detectors.needs import judged_files, presence
from ingest.report import is_backfill
from orderwatch.scan import correlate, decide, split_reports
from orderwatch.site_context import site_context
from rules import inhibit
from rules.loader import load_inhibitions
from rules import Rule
from rules.reasons import RULE_PREFIX
from store import History, Store
from store.models import Flag

#: a changed rule's temporary id while it is judged beside its live version
NEW_SUFFIX = "__with_change"
VERDICT_SCHEMA = {"rule_id": pl.String, "subject": pl.String, "stored_level": pl.String,
                  "status": pl.String, "resolution": pl.String}


class DryRunError(Exception):
    """The dry run cannot run as asked (no history, an empty period, an unknown rule)."""


@dataclass(frozen=True)
class RuleChange:
    """How a rule of the candidate set differs from the live one."""

    rule_id: str
    change: str                                   # "changed", "new" or "gone"
    fields: tuple[tuple[str, str, str], ...] = ()  # (field, before, after)


@dataclass
class DryRun:
    """What the live rules and the changed rules flag on the same stored period."""

    since: date
    until: date
    lines: int                      # order lines of the period
    stores: int
    live: pl.DataFrame              # FLAG_SCHEMA: the live rules' flags of the period
    new: pl.DataFrame               # FLAG_SCHEMA: the same with the change
    verdicts: pl.DataFrame          # VERDICT_SCHEMA: the stored flags of the period, as reviewed
    rules_live: dict[str, Rule]
    rules_new: dict[str, Rule]
    changes: list[RuleChange]
    not_judged: dict[str, str] = field(default_factory=dict)   # rule id -> why
    seconds: float = 0.0
    as_of: datetime | None = None

    @property
    def rule_ids(self) -> list[str]:
        """Every rule judged on either side, in pack order (live first, then new ones)."""
        return list(dict.fromkeys([*self.rules_live, *self.rules_new]))


def _definition(r: Rule) -> dict[str, str]:
    out = {"detector": r.detector, "department": r.department, "enabled": str(r.enabled).lower(),
           "mode": r.mode, "notify_store": str(r.notify_store).lower()}
    out.update({f"levels.{k}": v for k, v in r.level_text.items()})
    out.update({f"params.{k}": repr(v) for k, v in r.params.items()})
    out.update({f"title.{k}": v for k, v in r.title.items()})
    out.update({f"reason.{k}": v for k, v in r.reason.items()})
    return out


def rule_changes(live: Iterable[Rule], candidate: Iterable[Rule]) -> list[RuleChange]:
    """Rules the candidate set adds, removes or changes (field by field, before → after)."""
    old, new = {r.id: r for r in live}, {r.id: r for r in candidate}
    out = []
    for rid in dict.fromkeys([*old, *new]):
        if rid not in new:
            out.append(RuleChange(rid, "gone"))
        elif rid not in old:
            out.append(RuleChange(rid, "new"))
        else:
            a, b = _definition(old[rid]), _definition(new[rid])
            diff = tuple((k, a.get(k, ""), b.get(k, "")) for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k))
            if diff:
                out.append(RuleChange(rid, "changed", diff))
    return out


class _SideFlags:
    """What ``correlate`` reads instead of the store: one side's flags, never the database."""

    def __init__(self, flags: pl.DataFrame) -> None:
        self.flags = flags.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("id"), "rule_id", "kind", "level",
                                  "store_id", "store_name", "order_id", "occurred_at")

    def recent_flags(self, store_ids: list[str], since: datetime, conn: object = None,
                     written: object = None) -> pl.DataFrame:
        """``Store.recent_flags``' signature; ``written`` is moot: every flag here is in memory."""
        return self.flags.filter(pl.col("store_id").is_in(store_ids) & (pl.col("occurred_at") >= since))


def _renamed(rule: Rule) -> Rule:
    return dataclasses.replace(rule, id=rule.id + NEW_SUFFIX)


def _restore(flags: pl.DataFrame) -> pl.DataFrame:
    """Give the changed rules' flags their own ids back (and their YAML reasons' ids)."""
    return flags.with_columns(
        pl.col("rule_id").str.strip_suffix(NEW_SUFFIX),
        pl.when(pl.col("reason_id").str.starts_with(RULE_PREFIX))
        .then(pl.col("reason_id").str.strip_suffix(NEW_SUFFIX)).otherwise(pl.col("reason_id")).alias("reason_id"))


def _period_lines(history: History, config: Config, since: date | None, until: date | None,
                  days: int) -> tuple[pl.LazyFrame, date, date]:
    """The period's lines (``_in_batch``) and the history before them, as a scan would join them."""
    span = history.scan().select(pl.col("created_at").min().alias("lo"), pl.col("created_at").max().alias("hi"))
    lo, hi = span.collect().row(0)
    if hi is None:
        raise DryRunError("the history holds no order lines yet: scan some orders first")
    until = until or hi.date()
    since = since or max(lo.date(), until - timedelta(days=days - 1))
    if since > until:
        raise DryRunError(f"the period is empty: {since} is after {until}")
    start, end = datetime.combine(since, datetime.min.time()), datetime.combine(until + timedelta(days=1),
                                                                                datetime.min.time())
    first = (history.scan(start).filter(pl.col("created_at") < end).select(pl.col("created_at").min())
             .collect().item())
    if first is None:
        raise DryRunError(f"no order lines in the history between {since} and {until}")
    window = history.scan(first - timedelta(days=config.history_days)).filter(pl.col("created_at") < end)
    return window.with_columns((pl.col("created_at") >= start).alias("_in_batch")), since, until


def _clocks(store: Store, lines: pl.DataFrame, config: Config, since: datetime) -> tuple[dict[str, datetime], datetime]:
    """Each file's clock as its scan judged it: the scan's as_of, or a backfill's newest event."""
    scanned = store.scan_times(since)
    newest = (lines.lazy().filter(pl.col("_in_batch")).group_by("source_file")
              .agg(pl.max_horizontal(pl.col(EVENT_FIELDS).max()).alias("t")).collect())
    clocks: dict[str, datetime] = {}
    for f, t in newest.iter_rows():
        if f is None or t is None:
            continue
        at = scanned.get(str(f))
        clocks[str(f)] = t if at is None or is_backfill(t, at, config.backfill_days) else at
    return clocks, max(clocks.values(), default=since)


def _not_judged(rules: Iterable[Rule], present: dict[str, set[str]], has_catalog: bool) -> dict[str, str]:
    """Rules that cannot judge any file of the period, and what they would need."""
    fields = set().union(*present.values()) if present else set()
    out = {}
    for r in rules:
        det = REGISTRY[r.detector]
        if det.input != "lines":
            continue
        if not judged_files(r.detector, r.params, present):
            out[r.id] = "needs " + ", ".join(det.unmet(r.params, fields) or ["data the period lacks"])
        elif r.detector == "step_mismatch" and not has_catalog:
            out[r.id] = "needs a catalog (scan once with --catalog)"
    return out


def _verdicts(store: Store, rule_ids: Sequence[str], since: date, until: date) -> pl.DataFrame:
    t = Flag.__table__
    start = datetime.combine(since, datetime.min.time())
    end = datetime.combine(until + timedelta(days=1), datetime.min.time())
    stmt = (select(t.c.rule_id, t.c.subject, t.c.level, t.c.status, t.c.resolution)
            .where(t.c.rule_id.in_(list(rule_ids)), t.c.occurred_at >= start, t.c.occurred_at < end))
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=VERDICT_SCHEMA, orient="row")


def _select(rules: Iterable[Rule], only: str | None, inhibitions: Sequence[inhibit.Inhibition] = ()) -> list[Rule]:
    """Enabled rules (any mode: a shadow rule is judged as if it went live); ``only`` and, for a
    correlation rule, every rule whose flags it reads; and the rules an inhibition pairs it with
    (a cause's flag carries its consequences' findings and level)."""
    enabled = [r for r in rules if r.enabled]
    if only is None:
        return enabled
    target = [r for r in enabled if r.id == only]
    if target and REGISTRY[target[0].detector].input == "flags":
        return enabled
    ids = {only}
    for inh in inhibitions:
        pair = {*inh.cause, *inh.consequence}
        if only in pair:
            ids |= pair
    return [r for r in enabled if r.id in ids] if target else target


def judge(ctx: DetectContext, present: dict[str, set[str]], old: Sequence[Rule], new: Sequence[Rule],
          changed: set[str], prior: tuple[pl.DataFrame, pl.DataFrame] | None = None,
          inhibitions: Sequence[inhibit.Inhibition] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One batch judged by both rule sets in one ``decide`` call: (live flags, flags with the
    change).  ``prior``: each side's flags of earlier batches, which correlation rules also read."""
    line_rules = [r for r in old if REGISTRY[r.detector].input == "lines"]
    line_rules += [_renamed(r) for r in new if r.id in changed and REGISTRY[r.detector].input == "lines"]
    # a ``report`` row (late but done) is SLA statistics, not a flag: neither side counts it
    both, _reports = split_reports(decide(ctx, line_rules, present))
    is_new = pl.col("rule_id").str.ends_with(NEW_SUFFIX)
    live_flags = both.filter(~is_new)
    kept = sorted(r.id for r in new if r.id not in changed)
    new_flags = pl.concat([live_flags.filter(pl.col("rule_id").is_in(kept)), _restore(both.filter(is_new))])
    if inhibitions:   # each side's consequences merge into its own causes, as in its scan
        live_flags = inhibit.apply(live_flags, list(inhibitions), list(old), ctx.lines)
        new_flags = inhibit.apply(new_flags, list(inhibitions), list(new), ctx.lines)
    before_live, before_new = prior or (live_flags.head(0), new_flags.head(0))
    return (pl.concat([live_flags, _correlated(ctx, old, live_flags, before_live)]),
            pl.concat([new_flags, _correlated(ctx, new, new_flags, before_new)]))


def dry_run(config: Config, live: Sequence[Rule], candidate: Sequence[Rule], *, db_url: str | None = None,
            since: date | None = None, until: date | None = None, rule_id: str | None = None,
            exact: bool = False) -> DryRun:
    """Judge the stored period with ``live`` and with ``candidate`` rules; nothing is written.

    ``exact``: replay each stored scan that brought lines of the period instead of one pass
    (``orderwatch.dryrun_replay``): the same flags as those scans for any history, one pass per scan.
    """
    t0 = time.perf_counter()
    if rule_id is not None and rule_id not in {r.id for r in [*live, *candidate]}:
        raise DryRunError(f"no rule {rule_id!r} in either rule set")
    url = db_url or config.database_url
    history = History(history_dir_for(url, config))
    if history.empty:
        raise DryRunError("the history holds no order lines yet: scan some orders first")
    days = int(config.get("workbench.days", 30))
    window, since, until = _period_lines(history, config, since, until, days)
    catalog = history.catalog()
    inhibitions = load_inhibitions(config)
    old_rules, new_rules = _select(live, rule_id, inhibitions), _select(candidate, rule_id, inhibitions)
    old_ids = {r.id: r for r in old_rules}
    changed = {r.id for r in new_rules if r.id not in old_ids or _definition(r) != _definition(old_ids[r.id])}
    store = Store.open(url)
    try:
        if exact:
            from orderwatch.dryrun_replay import replay

            live_flags, new_flags, present, as_of = replay(config, history, store, old_rules, new_rules, changed,
                                                           since, until)
            window = window.filter(pl.col("_in_batch"))
        else:
            lines = prepare(window, config).collect()
            site = site_context(config, lines["store_id"].unique().to_list(), catalog is not None)
            present = presence(lines)
            clocks, as_of = _clocks(store, lines, config, datetime.combine(since, datetime.min.time())
                                    - timedelta(days=config.history_days))
            ctx = DetectContext(lines=lines.lazy(), catalog=catalog.lazy() if catalog is not None else None,
                                as_of=as_of, config=config, clocks=clocks,
                                limits=site.limits.lazy() if site.limits is not None else None, cod_cap=site.cod_cap)
            live_flags, new_flags = judge(ctx, site.present(present), old_rules, new_rules, changed,
                                          inhibitions=inhibitions)
            window = lines.lazy()
        verdicts = _verdicts(store, list(dict.fromkeys([*old_ids, *(r.id for r in new_rules)])), since, until)
    finally:
        store.close()
    n_lines, n_stores = (window.filter(pl.col("_in_batch"))
                         .select(pl.len(), pl.col("store_id").n_unique()).collect().row(0))
    report = {rule_id} if rule_id else None
    if report:
        live_flags = live_flags.filter(pl.col("rule_id").is_in(sorted(report)))
        new_flags = new_flags.filter(pl.col("rule_id").is_in(sorted(report)))
        old_rules = [r for r in old_rules if r.id in report]
        new_rules = [r for r in new_rules if r.id in report]
    return DryRun(
        since=since, until=until, lines=n_lines, stores=n_stores,
        live=live_flags.select(list(FLAG_SCHEMA)), new=new_flags.select(list(FLAG_SCHEMA)), verdicts=verdicts,
        rules_live={r.id: r for r in old_rules}, rules_new={r.id: r for r in new_rules},
        changes=rule_changes([r for r in live if not report or r.id in report],
                             [r for r in candidate if not report or r.id in report]),
        not_judged=_not_judged([*old_rules, *new_rules], present, catalog is not None),
        seconds=time.perf_counter() - t0, as_of=as_of)


def _correlated(ctx: DetectContext, rules: Sequence[Rule], flags: pl.DataFrame,
                before: pl.DataFrame | None = None) -> pl.DataFrame:
    """The correlation rules over one side's flags (and its earlier ones), through the scan's own
    ``correlate``."""
    flag_rules = [r for r in rules if REGISTRY[r.detector].input == "flags"]
    if not flag_rules:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    seen = flags if before is None or before.is_empty() else pl.concat([before.select(flags.columns), flags])
    return correlate(_SideFlags(seen), ctx, flag_rules, flags).select(list(FLAG_SCHEMA))  # type: ignore[arg-type]


__all__ = ["DryRun", "DryRunError", "RuleChange", "dry_run", "judge", "rule_changes"]
