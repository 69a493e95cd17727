"""The exact dry run (``orderwatch rules test --exact``): replay each stored scan.

The one-pass dry run judges the period as one batch, which is what a scan of the period's files
at once does.  A history stored by many small scans (an inbox read every hour) saw less at each
scan: the baselines that pool a window (a store's usual quantity of a SKU, platform medians)
held only what had been scanned by then.  Replaying each scan that brought lines of the period —
its own lines as the batch, the partitions of the scans before it as history, its own ``as_of``
as the clock, the flags of the scans replayed before it for correlation — gives the very flags
those scans would have raised with either rule set, for any history.  It costs a pass per
scan; the one pass stays the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import select

from contracts.config import Config
from contracts.schema import EVENT_FIELDS, FLAG_SCHEMA, LINE_KEY
from detectors import DetectContext
from detectors.common import prepare
from detectors.needs import presence
from orderwatch.site_context import site_context
from rules.loader import load_inhibitions
from ingest.report import is_backfill
from rules import Rule
from rules.model import LEVEL_ORDER
from store import History, Scan, Store


def _scan_times(store: Store, ids: Sequence[int]) -> dict[int, datetime]:
    t = Scan.__table__
    with store.engine.connect() as conn:
        return {int(i): a for i, a in conn.execute(select(t.c.id, t.c.as_of).where(t.c.id.in_(list(ids))))}


def _keep_highest(acc: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Flags as the store keeps them across scans: one per (rule, subject), the first raise at
    its most severe level (a later one only if more severe)."""
    both = pl.concat([acc.select(list(FLAG_SCHEMA)), found.select(list(FLAG_SCHEMA))]).with_row_index("_seq")
    sev = pl.col("level").replace_strict(LEVEL_ORDER, default=0, return_dtype=pl.Int8)
    return (both.sort([sev, pl.col("_seq")], descending=[True, False])
            .unique(subset=["rule_id", "subject"], keep="first").sort("_seq").drop("_seq"))


def _clocks(batch: pl.DataFrame, as_of: datetime, backfill_days: float) -> dict[str, datetime]:
    newest = batch.group_by("source_file").agg(pl.max_horizontal(pl.col(EVENT_FIELDS).max()).alias("t"))
    return {str(f): (t if is_backfill(t, as_of, backfill_days) else as_of)
            for f, t in newest.iter_rows() if f is not None and t is not None}


def replay(config: Config, history: History, store: Store, old: Sequence[Rule], new: Sequence[Rule],
           changed: set[str], since: date, until: date
           ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, set[str]], datetime]:
    """Both sides' flags of the period as the stored scans would have raised them; with the
    fields present in the period's files and the last scan's clock."""
    from orderwatch.dryrun import DryRunError, judge

    inhibitions = load_inhibitions(config)
    start = datetime.combine(since, datetime.min.time())
    end = datetime.combine(until + timedelta(days=1), datetime.min.time())
    ids = (history.scan_partitions(None).filter((pl.col("created_at") >= start) & (pl.col("created_at") < end))
           .select(pl.col("_scan_id").unique().sort()).collect().get_column("_scan_id").to_list())
    if not ids:
        raise DryRunError(f"no order lines in the history between {since} and {until}")
    every = history.partition_scan_ids()
    times = _scan_times(store, ids)
    catalog = history.catalog()
    acc_live = acc_new = pl.DataFrame(schema=FLAG_SCHEMA)
    fields: dict[str, set[str]] = {}
    as_of = start
    for sid in ids:
        batch = history.scan_partitions([sid]).drop("_scan_id").collect()
        first = batch.get_column("created_at").min()
        earlier = [i for i in every if i < sid]
        parts = [batch.lazy().with_columns(pl.lit(True).alias("_in_batch"))]
        if earlier and first is not None:
            past = (history.scan_partitions(earlier, first - timedelta(days=config.history_days)).drop("_scan_id")
                    .join(batch.lazy().select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True))
            parts.insert(0, past.with_columns(pl.lit(False).alias("_in_batch")))
        lines = prepare(pl.concat(parts, how="vertical_relaxed"), config).collect()
        as_of = times.get(sid, as_of)
        present = presence(lines)
        for f, have in present.items():
            fields.setdefault(f, set()).update(have)
        site = site_context(config, lines["store_id"].unique().to_list(), catalog is not None)
        ctx = DetectContext(lines=lines.lazy(), catalog=catalog.lazy() if catalog is not None else None,
                            as_of=as_of, config=config, clocks=_clocks(batch, as_of, config.backfill_days),
                            limits=site.limits.lazy() if site.limits is not None else None, cod_cap=site.cod_cap)
        live, changed_flags = judge(ctx, site.present(present), old, new, changed, (acc_live, acc_new),
                                    inhibitions=inhibitions)
        acc_live, acc_new = _keep_highest(acc_live, live), _keep_highest(acc_new, changed_flags)
    in_period = (pl.col("occurred_at") >= start) & (pl.col("occurred_at") < end)
    return acc_live.filter(in_period), acc_new.filter(in_period), fields, as_of


__all__ = ["replay"]
