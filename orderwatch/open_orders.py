"""Which orders are still open for the time-based rules, kept scan by scan for re-evaluation.

An order is *open* while the clock can still change what a time-based rule says about it:
it has an active line (goods, not cancelled, closed, returned or refunded: the same
``active`` the detectors use), none of its active lines is delivered, its state does not say
delivered, and not every line's state is done (``DONE_STATES``).  Once delivered or done its
waiting times are fixed: stale picking and delivery overdue judged it, with those times, in
the scan that brought them.  A scan records the state of every order in its new
history lines (``store.open_orders.track``); re-evaluation reads the open orders of its
window and only the history partitions that hold them.

A database from before the open set was kept is rebuilt once from the history window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Connection

from contracts.config import Config
from contracts.schema import DONE_STATES, EVENT_FIELDS, STATE_RANK, conform
from detectors.common import prepare
from detectors.needs import presence
from store import History, Store
from store import open_orders as open_set
from store.open_orders import ORDER_KEY


NEWEST_SCHEMA = {"source_file": pl.String, "t": pl.Datetime("us")}


def order_states(lines: pl.DataFrame | pl.LazyFrame, config: Config) -> pl.DataFrame:
    """One row per order of ``lines``: its first creation time and whether it is open."""
    active = pl.col("active")
    rank = pl.col("state").replace_strict(STATE_RANK, default=None, return_dtype=pl.Int8)
    delivered = (active & pl.col("delivered_at").is_not_null()).any() | (rank.max() >= STATE_RANK["delivered"])
    done = pl.col("state").is_in(DONE_STATES).fill_null(False).all()
    lf = prepare(lines.lazy(), config)
    return (lf.group_by(ORDER_KEY)
            .agg(pl.col("created_at").min(), (active.any() & ~delivered.fill_null(False) & ~done).alias("open"))
            .select([pl.col(c).cast(t) for c, t in open_set.STATES_SCHEMA.items()])
            .collect())


def horizon(config: Config, days: int = 0) -> timedelta:
    """How far back open orders are kept: the history baselines read, or a longer window."""
    return timedelta(days=max(int(config.history_days), days))


def track_scan(conn: Connection, scan_id: int, new_lines: pl.DataFrame, config: Config,
               as_of: datetime) -> tuple[int, int]:
    """Record the open and closed orders of a scan's new history lines, in its transaction."""
    if new_lines.is_empty():
        return 0, 0
    states = order_states(conform(new_lines), config)
    since = as_of - horizon(config)
    states = states.filter(~pl.col("open") | (pl.col("created_at") >= since))
    return open_set.track(conn, scan_id, states)


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


def rebuild(conn: Connection, history: History, config: Config, since: datetime) -> int:
    """Fill the open set from the history window (a database from before it was kept)."""
    lines = history.scan_partitions(None, since).collect()
    if lines.height:
        states = order_states(lines, config).filter(pl.col("open"))
        where = (lines.select(*ORDER_KEY, "_scan_id").unique()
                 .join(states.select(*ORDER_KEY, "created_at"), on=ORDER_KEY, nulls_equal=True))
        for scan_id, part in where.partition_by("_scan_id", as_dict=True).items():
            open_set.track(conn, int(scan_id[0]), part.drop("_scan_id").with_columns(open=pl.lit(True)))
    open_set.mark_complete(conn)
    return lines.height


def open_lines(url: str, history: History, config: Config, since: datetime, until: datetime) -> OpenLines:
    """The open orders created in ``[since, until]`` and their newest lines from history.

    Open orders older than the kept horizon are forgotten on the way (past every window).
    """
    with Store.open(url) as store, store.transaction() as conn:
        rebuilt = not open_set.complete(conn)
        if rebuilt:
            rebuild(conn, history, config, until - horizon(config, (until - since).days))
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


__all__ = ["OpenLines", "horizon", "open_lines", "order_states", "rebuild", "track_scan"]
