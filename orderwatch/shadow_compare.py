"""A shadow rule beside its live rule: what each raised since the shadow rule first ran, and
what each would have sent (receivers and messages through the routing tree).

Shown on the rule page (``web/workbench.py``).  The live rule's flags are those raised by the
scans that also evaluated the shadow rule (from its first), so both sides saw the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from alerts.labels import LABEL_NAMES
from alerts.settings import STORE_PREFIX, AlertSettings
from contracts.schema import FLAG_SCHEMA
from rules.model import LEVEL_ORDER, REPORT, Rule
from store import shadow as shadow_store
from store.models import Flag


@dataclass
class Sent:
    receiver: str
    flags: int
    messages: int        # distinct groups: the planner sends one message per receiver and group


@dataclass
class ShadowView:
    rule: Rule
    live: Rule | None
    runs: dict[str, Any] | None
    shadow_flags: pl.DataFrame
    live_flags: pl.DataFrame
    levels: list[tuple[str, int, int]] = field(default_factory=list)   # level, shadow, live
    both: int = 0                                                      # subjects raised by both
    sent: dict[str, tuple[Sent | None, Sent | None]] = field(default_factory=dict)  # receiver -> (shadow, live)
    alerts_off: bool = False


def would_send(flags: pl.DataFrame, settings: AlertSettings, notify_store: bool) -> dict[str, Sent]:
    """receiver -> how many of ``flags`` it would get, in how many messages."""
    root = settings.route
    if root.receiver is None or flags.is_empty():
        return {}
    groups: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for f in flags.iter_rows(named=True):
        labels = {k: "" if f.get(k) is None else str(f[k]) for k in LABEL_NAMES}
        targets = [(r.receiver, r.group_key(labels)) for r in root.route(labels) if r.receiver]
        sid = labels["store_id"]
        if notify_store and labels["level"] == "critical" and sid in settings.store_contacts:
            targets.append((f"{STORE_PREFIX}{sid}", f"store_id={sid}"))
        for receiver, gkey in dict.fromkeys(targets):
            groups.setdefault(receiver, set()).add(gkey)
            counts[receiver] = counts.get(receiver, 0) + 1
    return {r: Sent(r, counts[r], len(groups[r])) for r in sorted(counts)}


def _live_since(engine: Engine, rule_id: str, first_scan: int) -> pl.DataFrame:
    """The live rule's flags raised by the scans that also judged the shadow rule."""
    t = Flag.__table__
    cols = [c for c in FLAG_SCHEMA if c not in ("evidence", "reason_args")]
    stmt = select(*[t.c[c] for c in cols]).where(t.c.rule_id == rule_id, t.c.scan_id >= first_scan)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema={c: FLAG_SCHEMA[c] for c in cols}, orient="row")


def shadow_view(engine: Engine, settings: AlertSettings, rule: Rule, live: Rule | None) -> ShadowView:
    """The shadow rule's flags beside its live rule's since the shadow rule's first scan."""
    runs = shadow_store.runs(engine, rule.id)
    mine = shadow_store.frame(engine, [rule.id])
    theirs = (_live_since(engine, live.id, int(runs["first_scan"])) if live is not None and runs
              else pl.DataFrame(schema={c: t for c, t in FLAG_SCHEMA.items() if c not in ("evidence", "reason_args")}))
    view = ShadowView(rule, live, runs, mine, theirs, alerts_off=settings.route.receiver is None)
    levels = sorted({*rule.levels, *(live.levels if live else ())} - {REPORT}, key=LEVEL_ORDER.__getitem__)
    view.levels = [(lv, mine.filter(pl.col("level") == lv).height, theirs.filter(pl.col("level") == lv).height)
                   for lv in levels]
    view.both = len(set(mine["subject"]) & set(theirs["subject"]))
    a = would_send(mine, settings, rule.notify_store)
    b = would_send(theirs, settings, live.notify_store) if live else {}
    view.sent = {r: (a.get(r), b.get(r)) for r in sorted({*a, *b})}
    return view


def shadows_of(rules: list[Rule], rule_id: str) -> list[Rule]:
    """The shadow rules that sit beside a live rule."""
    return [r for r in rules if r.shadow and r.shadow_of == rule_id]


__all__ = ["Sent", "ShadowView", "shadow_view", "shadows_of", "would_send"]
