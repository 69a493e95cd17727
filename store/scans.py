"""The scan log: a scan is recorded as ``running`` before any work, with its owner and a
heartbeat, and closed as ``done`` in the same transaction as everything it stored.

Why a lease: a scan killed with ``kill -9`` never gets to say so.  The next process that opens
the store marks it ``interrupted`` — at once when its process is known dead (same host, pid
gone), else when its heartbeat is older than the lease — so ``orderwatch scans`` and the UI
tell the operator instead of showing ``running`` forever.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from store.models import SCAN_STATUSES, Scan, utcnow

#: how long a running scan may go without a heartbeat before another process calls it dead
DEFAULT_LEASE_SECONDS = 900
S = Scan.__table__


def owner_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str | None) -> bool | None:
    """True/False when the owner runs on this host (pid checked), None when it can't be told."""
    if not owner or ":" not in owner:
        return None
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def begin(engine: Engine, files: list[str], as_of: datetime, created_by: str | None = None) -> int:
    now = utcnow()
    with engine.begin() as conn:
        return conn.execute(
            insert(Scan).returning(Scan.id),
            {"files": [str(f) for f in files], "as_of": as_of, "started_at": now, "heartbeat_at": now,
             "owner": owner_id(), "created_by": created_by, "status": "running", "lines_read": 0,
             "lines_accepted": 0, "lines_quarantined": 0, "lines_new": 0, "flags_new": 0},
        ).scalar_one()


def heartbeat(engine: Engine, scan_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(S).where(S.c.id == scan_id, S.c.status == "running").values(heartbeat_at=utcnow()))


class LeaseLost(RuntimeError):
    """Another process marked this scan interrupted (its heartbeat was too old): its work must
    not land, since that process may already have cleaned up after it."""


def finish(conn: Connection, scan_id: int, *, status: str, error: str | None, **counts: Any) -> None:
    """Close a scan; ``done`` only from ``running`` (else :class:`LeaseLost`, rolling back)."""
    if status not in SCAN_STATUSES:
        raise ValueError(f"scan status must be one of {'/'.join(SCAN_STATUSES)}, not {status!r}")
    stmt = update(S).where(S.c.id == scan_id)
    if status == "done":
        stmt = stmt.where(S.c.status == "running")
    res = conn.execute(stmt.values(finished_at=utcnow(), status=status, error=error, **counts))
    if status == "done" and res.rowcount != 1:
        raise LeaseLost(f"scan {scan_id} was marked interrupted by another process before it finished; "
                        f"nothing of it was stored (raise database.scan_lease_seconds for longer scans)")


def mark_interrupted(engine: Engine, lease_seconds: int = DEFAULT_LEASE_SECONDS,
                     now: datetime | None = None) -> list[int]:
    """Mark dead ``running`` scans ``interrupted``; returns their ids."""
    now = now or utcnow()
    stale_before = now - timedelta(seconds=lease_seconds)
    with engine.connect() as conn:
        running = conn.execute(select(S.c.id, S.c.owner, S.c.heartbeat_at, S.c.started_at)
                               .where(S.c.status == "running")).all()
    dead: list[tuple[int, str]] = []
    for sid, owner, beat, started in running:
        alive = _alive(owner)
        last = beat or started
        if alive is False:
            dead.append((sid, f"interrupted: its process ({owner}) ended without finishing"))
        elif alive is None and last is not None and last < stale_before:
            dead.append((sid, f"interrupted: no heartbeat from {owner or 'its process'} since {last:%Y-%m-%d %H:%M:%S} UTC"))
    if dead:
        with engine.begin() as conn:
            for sid, why in dead:
                conn.execute(update(S).where(S.c.id == sid, S.c.status == "running")
                             .values(status="interrupted", finished_at=now, error=why))
    return [sid for sid, _ in dead]


def recent(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest scans first, as dicts."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(S).order_by(S.c.id.desc()).limit(limit)).mappings()]


def statuses(engine: Engine, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(select(S.c.id, S.c.status).where(S.c.id.in_(ids))).all())
