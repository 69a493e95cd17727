"""The flag lifecycle: open → acknowledged → resolved (confirmed / false positive / corrected)
or dismissed; reopen from a closed state.  Every change is one UPDATE guarded by the flag's
``version`` (optimistic concurrency: the second of two reviewers acting on the same version
gets :class:`Conflict`, nothing is overwritten) and one audit event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from store.models import Flag, FlagEvent, utcnow

STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved", "dismissed")
RESOLUTIONS: tuple[str, ...] = ("confirmed", "false_positive", "corrected")
CLOSED: tuple[str, ...] = ("resolved", "dismissed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "resolved", "dismissed"),
    "acknowledged": ("resolved", "dismissed", "open"),
    "resolved": ("open",),
    "dismissed": ("open",),
}


class LifecycleError(Exception):
    """A change that can't be made; ``code`` is stable for the API."""

    code = "invalid"


class NotFound(LifecycleError):
    code = "not_found"


class InvalidTransition(LifecycleError):
    code = "invalid_transition"


class Conflict(LifecycleError):
    """The flag changed since the caller read it (``current`` holds its state now)."""

    code = "conflict"

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class Change:
    flag_id: int
    version: int
    status: str


def _current(conn, flag_id: int) -> dict[str, Any]:
    t = Flag.__table__
    row = conn.execute(select(t.c.id, t.c.status, t.c.version, t.c.assignee, t.c.resolution,
                              t.c.department, t.c.store_id).where(t.c.id == flag_id)).mappings().first()
    if row is None:
        raise NotFound(f"flag {flag_id} not found")
    return dict(row)


def _last_actor(conn, flag_id: int) -> str | None:
    e = FlagEvent.__table__
    return conn.execute(select(e.c.actor).where(e.c.flag_id == flag_id).order_by(e.c.id.desc()).limit(1)).scalar()


def _guarded_update(conn, flag_id: int, expected_version: int, values: dict[str, Any]) -> int:
    t = Flag.__table__
    res = conn.execute(update(t).where(t.c.id == flag_id, t.c.version == expected_version)
                       .values(**values, version=t.c.version + 1, updated_at=utcnow()))
    if res.rowcount != 1:
        cur = _current(conn, flag_id)
        who = _last_actor(conn, flag_id) or "?"
        raise Conflict(
            f"flag {flag_id} was changed by {who} (now version {cur['version']}, status {cur['status']}); "
            f"reload and try again", cur)
    return expected_version + 1


def transition(engine: Engine, flag_id: int, *, actor: str, to_status: str, expected_version: int,
               resolution: str | None = None, note: str | None = None) -> Change:
    """Move a flag to ``to_status``; ``resolution`` is required for (and only for) ``resolved``."""
    if to_status not in STATUSES:
        raise InvalidTransition(f"unknown status {to_status!r} (use {', '.join(STATUSES)})")
    if to_status == "resolved" and resolution not in RESOLUTIONS:
        raise InvalidTransition(f"resolving needs a resolution: {', '.join(RESOLUTIONS)}")
    if to_status != "resolved" and resolution is not None:
        raise InvalidTransition("a resolution only goes with status resolved")
    with engine.begin() as conn:
        cur = _current(conn, flag_id)
        if cur["version"] != expected_version:
            who = _last_actor(conn, flag_id) or "?"
            raise Conflict(f"flag {flag_id} was changed by {who} (now version {cur['version']}, "
                           f"status {cur['status']}); reload and try again", cur)
        if to_status not in TRANSITIONS[cur["status"]]:
            raise InvalidTransition(f"can't go from {cur['status']} to {to_status}")
        now = utcnow()
        values: dict[str, Any] = {"status": to_status, "resolution": resolution}
        if to_status == "acknowledged":
            values["acknowledged_at"] = now
        if to_status in CLOSED:
            values["resolved_at"] = now
        if to_status == "open":
            values["resolved_at"] = None
        version = _guarded_update(conn, flag_id, expected_version, values)
        conn.execute(insert(FlagEvent), {
            "flag_id": flag_id, "at": now, "actor": actor, "action": "transition",
            "from_status": cur["status"], "to_status": to_status,
            "note": f"[{resolution}] {note or ''}".strip() if resolution else note,
        })
    return Change(flag_id, version, to_status)


def assign(engine: Engine, flag_id: int, *, actor: str, assignee: str | None, expected_version: int,
           note: str | None = None) -> Change:
    with engine.begin() as conn:
        cur = _current(conn, flag_id)
        version = _guarded_update(conn, flag_id, expected_version, {"assignee": assignee or None})
        conn.execute(insert(FlagEvent), {
            "flag_id": flag_id, "at": utcnow(), "actor": actor, "action": "assign",
            "from_status": cur["status"], "to_status": cur["status"],
            "note": f"{cur['assignee'] or '—'} → {assignee or '—'}" + (f": {note}" if note else ""),
        })
    return Change(flag_id, version, cur["status"])


def comment(engine: Engine, flag_id: int, *, actor: str, note: str) -> None:
    """A comment never conflicts: it changes nothing but the trail."""
    if not note or not note.strip():
        raise LifecycleError("a comment needs text")
    with engine.begin() as conn:
        cur = _current(conn, flag_id)
        conn.execute(insert(FlagEvent), {
            "flag_id": flag_id, "at": utcnow(), "actor": actor, "action": "comment",
            "from_status": cur["status"], "to_status": cur["status"], "note": note.strip(),
        })


def bulk_transition(engine: Engine, flag_ids: Iterable[int], *, actor: str, to_status: str,
                    resolution: str | None = None, note: str | None = None) -> dict[str, list[int]]:
    """Apply a transition to many flags at their current versions; report done and skipped."""
    done, skipped = [], []
    t = Flag.__table__
    ids = list(flag_ids)
    with engine.connect() as conn:
        versions = dict(conn.execute(select(t.c.id, t.c.version).where(t.c.id.in_(ids))).all()) if ids else {}
    for fid in ids:
        try:
            transition(engine, fid, actor=actor, to_status=to_status, expected_version=versions.get(fid, -1),
                       resolution=resolution, note=note)
            done.append(fid)
        except LifecycleError:
            skipped.append(fid)
    return {"done": done, "skipped": skipped}
