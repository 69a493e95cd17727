"""Time-based re-evaluation: judge the recent orders again against "now", without new data.

Every stage's clock runs without new data (review, picking, hand-over, shipment, delivery,
refund: the time-based rules): an order confirmed at 13:00 and never picked is fine at 15:00
and overdue at 18:00.  This reads back the newest lines of the orders
still open in the window (``orderwatch.open_orders``: never all history), runs only the
time-based rules, and stores what fires like a scan does (idempotent: a flag already raised is
not raised twice; a shadow rule's go to ``shadow_flags``).  Each file keeps the clock its scan
gave it: a backfill (a file whose newest event is days old) is judged as of its newest event,
never against today, and a rule judges only the files that carry what its detector needs (both read from the file's lines in the
partitions opened, not only from its open orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from contracts.config import Config, history_dir_for
from detectors import REGISTRY, DetectContext
from detectors.common import prepare
from ingest.report import is_backfill
from orderwatch.open_orders import open_lines
from orderwatch.scan import decide, split_reports
from orderwatch.shadow import judge_shadow, split_modes
from rules.loader import load_rules_cached
from store import History, Store, sla_reports
from store.flagged_lines import FlaggedLines


@dataclass
class Reevaluation:
    orders_judged: int
    flags_found: int
    flags_created: int
    flags_raised: int
    lines_read: int = 0          # history lines loaded: the open orders' of the window
    partitions_read: int = 0     # history partitions opened (those holding an open order)


def reevaluate(config: Config, now: datetime, *, db_url: str | None = None, days: int = 7) -> Reevaluation:
    """Re-judge the last ``days`` of orders with the time-based rules as of ``now`` (local time)."""
    url = db_url or config.database_url
    rules, shadow_rules = split_modes([r for r in load_rules_cached(config, include_shadow=True)
                                       if REGISTRY[r.detector].time_based])
    history = History(history_dir_for(url, config))
    found = open_lines(url, history, config, now - timedelta(days=days), now,
                       [*rules, *shadow_rules])  # the open set only
    recent = found.lines
    if not (rules or shadow_rules) or recent.height == 0:
        return Reevaluation(0, 0, 0, 0, recent.height, found.partitions)
    lines = prepare(recent.lazy().with_columns(pl.lit(True).alias("_in_batch")), config).collect().lazy()
    catalog = history.catalog()
    newest = found.newest
    store = Store.open(url)
    try:
        # a file that was a backfill when scanned stays judged as of its newest event
        scanned = store.scan_times(now - timedelta(days=days + config.backfill_days + 1))
        clocks = {str(f): t for f, t in newest.iter_rows()
                  if f is not None and is_backfill(t, scanned.get(str(f), now), config.backfill_days)}
        ctx = DetectContext(lines=lines, catalog=catalog.lazy() if catalog is not None else None, as_of=now,
                            config=config, clocks=clocks)
        flags, late_done = split_reports(decide(ctx, rules, found.present))
        orders = recent.select("source", "store_id", "order_id").unique().height
        # recorded as a scan without files, so its flags and events say where they came from
        scan_id = store.begin_scan(["(re-evaluation)"], now)
        flagged_lines = FlaggedLines(history.dir)
        try:
            with store.transaction() as conn:  # flags, events and "done" land together
                written = store.write_flags(scan_id, flags, actor="orderwatch:reevaluate", conn=conn, json_encoded=True)
                created, raised = written.created, written.raised
                sla_reports.write(conn, scan_id, late_done)
                judge_shadow(store, ctx, shadow_rules, found.present, flags, scan_id, conn)
                # the lines of the orders it created or raised a flag on, staged beside the commit
                touched = flags.join(written.changed, on=["rule_id", "subject"], how="semi")
                flagged_lines.stage(scan_id, recent.join(touched.select("store_id", "order_id").drop_nulls().unique(),
                                                         on=["store_id", "order_id"], how="semi"))
                store.finish_scan(scan_id, lines_read=0, lines_accepted=0, lines_quarantined=0, lines_new=0,
                                  flags_new=created, conn=conn)
            flagged_lines.promote(scan_id)
        except BaseException as exc:
            flagged_lines.discard(scan_id)
            store.finish_scan(scan_id, lines_read=0, lines_accepted=0, lines_quarantined=0, lines_new=0,
                              flags_new=0, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
    finally:
        store.close()
    return Reevaluation(orders, flags.height, created, raised, recent.height, found.partitions)
