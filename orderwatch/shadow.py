"""Shadow rules in a scan: judged like live rules, stored apart, never queued nor notified.

A rule with ``mode: shadow`` is evaluated on every scan (and by the time-based
re-evaluation) over the same lines and history as the live rules, through the same pipeline
(``decide``; a shadow correlation rule reads the live flags, as it would once live), and what
it raises goes to ``shadow_flags`` (``store.shadow``) in the scan's transaction.  The flags
table never sees it, so no queue, count, digest or notification can.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection

from contracts.schema import FLAG_SCHEMA
from detectors import REGISTRY, DetectContext
from rules import Rule
from store import Store
from store import shadow as shadow_store


def split_modes(rules: Sequence[Rule]) -> tuple[list[Rule], list[Rule]]:
    """(live rules, shadow rules)."""
    return [r for r in rules if not r.shadow], [r for r in rules if r.shadow]


def judge_shadow(store: Store, ctx: DetectContext, rules: Sequence[Rule], present: dict[str, set[str]] | None,
                 live_flags: pl.DataFrame, scan_id: int, conn: Connection,
                 line_flags: pl.DataFrame | None = None) -> int:
    """Evaluate the shadow rules on this scan's context and keep what they raise; returns how many.

    ``line_flags``: the shadow line rules' flags when the scan's runner already judged them
    (beside the live rules, in the same partitions); else they are judged here.
    """
    if not rules:
        return 0
    from orderwatch.decide import decide, split_reports
    from orderwatch.scan import correlate

    line = [r for r in rules if REGISTRY[r.detector].input == "lines"]
    if line_flags is not None:
        found = [line_flags]
    else:
        found = [decide(ctx, line, present)] if line else []
    found.append(correlate(store, ctx, rules, live_flags, conn))
    # a late-but-done ``report`` row is SLA statistics, not something the rule would have sent
    flags, _reports = split_reports(pl.concat([f.select(list(FLAG_SCHEMA)) for f in found]))
    written = shadow_store.write(conn, scan_id, flags)
    shadow_store.note_run(conn, [r.id for r in rules], scan_id)
    return written


__all__ = ["judge_shadow", "split_modes"]
