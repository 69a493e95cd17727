"""The notification planner's reads, each bounded by what changed or what is due.

Why: planning runs every minute and used to read every active flag and the latest message
of every group ever notified, so its cost grew with the backlog instead of with the news.
Now a run reads

* the flags it has not seen in their current state — new, or changed since ``notified_at`` —
  through the partial index ``ix_flags_unnotified`` (the planner stamps what it saw, so the
  index holds only the news and the flags a silence holds back);
* the groups whose repeat interval may be due: the latest firing message of each routed
  group carries ``repeat_from`` (created, then sent), and ``ix_notifications_repeat`` gives
  the ones at least the shortest interval of the routing tree old;
* the active flags of just those groups (changed or due), by their most selective label
  through the partial index of active flags;
* the latest firing message of each of those groups, through ``ix_notifications_group``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, literal_column, or_, select, update

from alerts.labels import LABEL_NAMES
from alerts.routing import Route
from store.frames import chunks
from store.models import Flag, FlagEvent, Notification

ACTIVE: tuple[str, ...] = ("open", "acknowledged")
FLAG_COLS = ("id", "rule_id", "kind", "level", "department", "subject", "order_id", "store_id",
             "store_name", "occurred_at", "title", "reason", "status", "resolution", "version",
             "updated_at", "notified_at")
#: labels in the order they narrow a group best (a store has few flags; a level has many)
SELECTIVE = ("store_id", "rule_id", "kind", "department", "level")
IN_CHUNK = 1_000
_KEY_PART = re.compile(r"(?:^|,)(" + "|".join(LABEL_NAMES) + r")=")

F, E, N = Flag.__table__, FlagEvent.__table__, Notification.__table__
#: written out, not bound: only a literal list lets SQLite (and a prepared PostgreSQL plan)
#: prove the query stays inside the partial indexes of active flags
IS_ACTIVE = F.c.status.in_([literal_column(f"'{s}'") for s in ACTIVE])


def unseen_flags(conn: Connection) -> tuple[list[dict[str, Any]], set[int]]:
    """Flags new or changed since the planner last stamped them, and which of the active ones
    carry news (created, level raised or reopened since; acknowledging or assigning is none)."""
    pending = or_(F.c.notified_at.is_(None), F.c.updated_at > F.c.notified_at)  # = ix_flags_unnotified
    rows = [dict(r) for r in conn.execute(select(*(F.c[c] for c in FLAG_COLS)).where(pending)
                                          .order_by(F.c.id)).mappings()]
    news = exists().where(E.c.flag_id == F.c.id, E.c.at > F.c.notified_at, or_(
        E.c.action.in_(("created", "level_raised")), and_(E.c.action == "transition", E.c.to_status == "open")))
    ids = set(conn.execute(select(F.c.id).where(pending, IS_ACTIVE,
                                                or_(F.c.notified_at.is_(None), news))).scalars())
    return rows, ids


def shortest_repeat(root: Route) -> timedelta:
    """The shortest repeat interval anywhere in the routing tree."""
    return min([root.repeat_interval, *(shortest_repeat(r) for r in root.routes)])


def due_groups(conn: Connection, now: datetime, root: Route) -> list[tuple[str, str]]:
    """(receiver, group key) of groups whose latest firing may be due for a repeat."""
    cutoff = now - shortest_repeat(root)
    stmt = (select(N.c.receiver, N.c.group_key).where(N.c.repeat_from.is_not(None), N.c.repeat_from <= cutoff,
                                                      N.c.status.not_in(("pending", "sending"))))
    return [(r, g or "") for r, g in conn.execute(stmt)]


def key_labels(group_key: str) -> dict[str, str]:
    """``department=finance,store_id=MD1`` back to its labels (values may hold ',' or '=')."""
    parts = list(_KEY_PART.finditer(group_key))
    out = {}
    for i, m in enumerate(parts):
        end = parts[i + 1].start() if i + 1 < len(parts) else len(group_key)
        out[m.group(1)] = group_key[m.end():end]
    return out


def group_flags(conn: Connection, groups: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """Active flags that may belong to groups with these labels (a superset: the caller routes).

    Groups are read by their most selective label (``store_id`` when grouped by store) through
    the partial index of active flags; a group without labels is every active flag.
    """
    wanted: dict[str, set[str]] = {}
    for labels in groups:
        name = next((n for n in SELECTIVE if n in labels), None)
        if name is None:
            return _active(conn, None, [])
        wanted.setdefault(name, set()).add(labels[name])
    seen: dict[int, dict[str, Any]] = {}
    for name, values in wanted.items():
        for f in _active(conn, name, sorted(values)):
            seen[f["id"]] = f
    return [seen[i] for i in sorted(seen)]


def _active(conn: Connection, label: str | None, values: list[str]) -> list[dict[str, Any]]:
    base = select(*(F.c[c] for c in FLAG_COLS)).where(IS_ACTIVE)
    if label is None:
        return [dict(r) for r in conn.execute(base).mappings()]
    out: list[dict[str, Any]] = []
    col = F.c[label]
    for part in chunks(values, IN_CHUNK):
        cond = col.in_(list(part))
        if "" in part:                      # a missing label reads as "" (alerts.labels)
            cond = or_(cond, col.is_(None))
        out.extend(dict(r) for r in conn.execute(base.where(cond)).mappings())
    return out


def _group_is(gkey: str):  # noqa: ANN202 - a SQL condition
    """The stored form of a group key (clipped to the column, empty as NULL; see ``_enqueue``)."""
    stored = (gkey or "")[:255] or None
    return N.c.group_key.is_(None) if stored is None else N.c.group_key == stored


def last_firing(conn: Connection, groups: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(receiver, group key) -> that group's latest firing message, for these groups only."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for receiver, gkey in groups:
        row = conn.execute(select(N.c.id, N.c.receiver, N.c.group_key, N.c.created_at, N.c.sent_at, N.c.status)
                           .where(N.c.receiver == receiver, _group_is(gkey), N.c.kind == "firing")
                           .order_by(N.c.id.desc()).limit(1)).mappings().first()
        if row is not None:
            out[(receiver, gkey)] = dict(row)
    return out


def supersede(conn: Connection, receiver: str, gkey: str, newest: int) -> None:
    """The group's repeat now counts from message ``newest``: older firings stop being due."""
    conn.execute(update(N).where(N.c.receiver == receiver, _group_is(gkey), N.c.kind == "firing",
                                 N.c.repeat_from.is_not(None), N.c.id < newest).values(repeat_from=None))


def stop_repeats(conn: Connection, ids: Iterable[int]) -> None:
    """These messages' groups need no repeat (nothing open in them): out of the due index."""
    for part in chunks(sorted(set(ids)), IN_CHUNK):
        conn.execute(update(N).where(N.c.id.in_(list(part))).values(repeat_from=None))


__all__ = ["ACTIVE", "FLAG_COLS", "due_groups", "group_flags", "key_labels", "last_firing",
           "shortest_repeat", "stop_repeats", "supersede", "unseen_flags"]
