"""Which orders are still open for the time-based rules, kept scan by scan for re-evaluation.

An order is *open* while the clock can still change what a time-based rule says about it:
some stage of it is still waiting — the time-based rules' own detectors say so (a row with
``done`` 0: review, picking, hand-over, shipment, delivery, refund …, each only in the files
that carry what it needs).  Once every stage that has begun is finished or closed, its times
are fixed: the scan that brought them judged it.  An order waiting for its buyer's payment has
no stage begun; the export that brings the payment brings it back.  A scan records the state
of every order in its new history lines (``store.open_orders.track``); re-evaluation reads
the open orders of its window and only the history partitions that hold them.

A database from before the open set was kept is rebuilt once from the history window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection

from collections.abc import Sequence

from contracts.config import Config
from contracts.schema import EVENT_FIELDS, conform
from detectors import REGISTRY, DetectContext
from detectors.common import OKEY, order_subject, prepare
from detectors.needs import judged_files, presence
from rules.loader import load_rules_cached
from rules.model import Rule
from store import History, Store
from store import open_orders as open_set
from store.open_orders import ORDER_KEY


NEWEST_SCHEMA = {"source_file": pl.String, "t": pl.Datetime("us")}
#: "now" when asking which stages are waiting at all (a stage begun at any time counts)
_END_OF_TIME = datetime(9999, 12, 31)


def _waiting(lines: pl.DataFrame, config: Config, rules: Sequence[Rule],
             present: dict[str, set[str]], shared: dict[str, Any] | None = None) -> pl.Series:
    """Subjects of the orders some time-based rule still sees waiting (a row with ``done`` 0).

    ``shared``: frames a detect context over exactly ``lines`` built (``DetectContext.cache``),
    given to the context of the rules that judge every file."""
    found: list[pl.LazyFrame] = []
    contexts: dict[frozenset[str], DetectContext] = {}
    everyone = set(lines.get_column("source_file").unique().to_list())
    for rule in rules:
        files = frozenset(judged_files(rule.detector, rule.params, present))
        if not files:
            continue
        if files not in contexts:
            # a rule that judges every file reads the lines as they are (no copy of the batch)
            whole = everyone <= files
            mine = (lines if whole else lines.filter(pl.col("source_file").is_in(sorted(files)))).lazy()
            contexts[files] = DetectContext(lines=mine, catalog=None, as_of=_END_OF_TIME, config=config,
                                            orders=pl.LazyFrame(), present=present,
                                            cache=_reused(shared) if whole else {})
        out = REGISTRY[rule.detector].compute(contexts[files], rule.params)
        found.append(out.filter(pl.col("done") == 0).select("subject"))
    if not found:
        return pl.Series("subject", [], dtype=pl.String)
    return pl.concat(pl.collect_all(found)).get_column("subject").unique()


def _reused(shared: dict[str, Any] | None) -> dict[str, Any]:
    """What the open set takes of a detect context's frames: the stage clocks' order frame.

    Why it may: a stage's ``done`` and whether it is waiting (``_start`` before the clock, the
    end's time, later events, states) come from the order's lines and the files' presence
    alone; the catalog's fresh goods there change the stage's limit, which the open set never
    reads.  So the scan's frame, built with the catalog, is the one a catalog-less context
    would build (a first scan: 0.7 s of CPU at 1 M lines, not spent twice)."""
    return {k: shared[k] for k in ("stage_orders",) if shared and k in shared}


def order_states(lines: pl.DataFrame | pl.LazyFrame, config: Config, rules: Sequence[Rule] | None = None,
                 present: dict[str, set[str]] | None = None, judged: DetectContext | None = None) -> pl.DataFrame:
    """One row per order of ``lines``: its first creation time and whether it is open.

    ``rules``: the rules in force (default: the configured ones); only time-based ones count.
    ``present``: each file's fields (``detectors.needs.presence``; default: from ``lines``).
    ``judged``: a detect context whose lines are exactly ``lines`` prepared (a first scan's,
    which judged its batch and nothing else): its lines and order frame are read, not rebuilt.
    """
    timed = [r for r in (rules if rules is not None else load_rules_cached(config))
             if r.enabled and REGISTRY[r.detector].time_based]
    if judged is not None:
        df = judged.lines.collect()
    else:
        df = prepare(lines.lazy().with_columns(pl.lit(True).alias("_in_batch")), config).collect()
    waiting = _waiting(df, config, timed, present if present is not None else presence(df),
                       judged.cache if judged is not None else None)
    # grouped on the order's hashed key, its text key and subject taken from its first line
    # (not a subject built for every line and three text columns grouped)
    first = df.filter(pl.col(OKEY).is_first_distinct()).select(OKEY, *ORDER_KEY, order_subject().alias("subject"))
    return (df.group_by(OKEY).agg(pl.col("created_at").min())
            .join(first, on=OKEY, how="left")
            .with_columns(pl.col("subject").is_in(waiting.implode()).alias("open"))
            .select([pl.col(c).cast(t) for c, t in open_set.STATES_SCHEMA.items()]))


def horizon(config: Config, days: int = 0) -> timedelta:
    """How far back open orders are kept: the history baselines read, or a longer window."""
    return timedelta(days=max(int(config.history_days), days))


def track_scan(conn: Connection, scan_id: int, new_lines: pl.DataFrame, config: Config,
               as_of: datetime, rules: Sequence[Rule] | None = None,
               present: dict[str, set[str]] | None = None) -> tuple[int, int]:
    """Record the open and closed orders of a scan's new history lines, in its transaction
    (``present``: what each file of the whole batch carries, not only its new lines)."""
    return open_set.track(conn, scan_id, scan_states(new_lines, config, as_of, rules, present))


def scan_states(new_lines: pl.DataFrame, config: Config, as_of: datetime, rules: Sequence[Rule] | None = None,
                present: dict[str, set[str]] | None = None, judged: DetectContext | None = None) -> pl.DataFrame:
    """One row per order of the new lines that the open set keeps (STATES_SCHEMA): an order is
    judged on its own lines, so a store group's rows are those of the whole batch's.
    ``judged``: see :func:`order_states`."""
    if new_lines.is_empty():
        return pl.DataFrame(schema=open_set.STATES_SCHEMA)
    states = order_states(conform(new_lines), config, rules, present, judged)
    since = as_of - horizon(config)
    return states.filter(~pl.col("open") | (pl.col("created_at") >= since))


@dataclass
class OpenLines:
    """What re-evaluation judges: the newest lines of the open orders in its window."""

    lines: pl.DataFrame
    orders: int          # open orders found in the window
    partitions: int      # history partitions opened to read them
    rebuilt: bool        # the open set was first rebuilt from history (once, after an upgrade)
    # per source file, from all its lines in those partitions (not only its open orders, whose
    # delivery times are empty by definition): the fields it carries, and its newest event
    present: dict[str, set[str]] = field(default_factory=dict)
    newest: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=NEWEST_SCHEMA))


def rebuild(conn: Connection, history: History, config: Config, since: datetime,
            rules: Sequence[Rule] | None = None) -> int:
    """Fill the open set from the history window (a database from before it was kept)."""
    lines = history.scan_partitions(None, since).collect()
    if lines.height:
        states = order_states(lines.drop("_scan_id"), config, rules).filter(pl.col("open"))
        where = (lines.select(*ORDER_KEY, "_scan_id").unique()
                 .join(states.select(*ORDER_KEY, "created_at"), on=ORDER_KEY, nulls_equal=True))
        for scan_id, part in where.partition_by("_scan_id", as_dict=True).items():
            open_set.track(conn, int(scan_id[0]), part.drop("_scan_id").with_columns(open=pl.lit(True)))
    open_set.mark_complete(conn)
    return lines.height


def open_lines(url: str, history: History, config: Config, since: datetime, until: datetime,
               rules: Sequence[Rule] | None = None) -> OpenLines:
    """The open orders created in ``[since, until]`` and their newest lines from history.

    Open orders older than the kept horizon are forgotten on the way (past every window).
    """
    with Store.open(url) as store, store.transaction() as conn:
        rebuilt = not open_set.complete(conn)
        if rebuilt:
            rebuild(conn, history, config, until - horizon(config, (until - since).days), rules)
        open_set.prune(conn, until - horizon(config, (until - since).days))
        keys = open_set.read(conn, since, until)
    if keys.is_empty():
        return OpenLines(pl.DataFrame(schema=history.scan().collect_schema()), 0, 0, rebuilt)
    scans = keys.get_column("scan_id").unique().to_list()
    orders = keys.select(ORDER_KEY).unique()
    window = history.scan_partitions(scans, since).filter(pl.col("created_at") <= until).drop("_scan_id")
    lines, newest = pl.collect_all([
        window.join(orders.lazy(), on=ORDER_KEY, how="semi", nulls_equal=True),
        window.group_by("source_file").agg(pl.max_horizontal(pl.col(EVENT_FIELDS).max()).alias("t"))])
    return OpenLines(lines, orders.height, len(scans), rebuilt, presence(window), newest.cast(NEWEST_SCHEMA))


__all__ = ["OpenLines", "horizon", "open_lines", "order_states", "rebuild", "scan_states", "track_scan"]
