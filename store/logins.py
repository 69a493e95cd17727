"""Login throttling per (name, address): a progressive delay, decided atomically.

Why this shape (the tester's findings): a lockout per address locked out everyone behind one
NAT or proxy; a lockout per name let anyone lock out the admin; counting before recording let
16 concurrent guesses run 11 password checks against a limit of 5.  Here an attempt is
*reserved* (inserted as a failure) before the password is checked, in a transaction that holds
the (name, address) lock, so concurrent guesses see each other.  The first ``limit`` failures
are free; after that each further try must wait ``base_delay × 2^(failures − limit)`` seconds
(capped at the window) since the last one.  A success clears the pair's count.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text, update

from store.models import LoginAttempt, utcnow

L = LoginAttempt.__table__


@dataclass(frozen=True)
class Reservation:
    attempt_id: int | None      # None: refused
    retry_after: int = 0        # seconds, when refused


def _lock_key(name: str, ip: str | None) -> int:
    digest = hashlib.sha256(f"login\x1f{name}\x1f{ip or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def reserve(engine: Engine, name: str, ip: str | None, *, limit: int, window_minutes: int,
            base_delay: float, now: datetime | None = None) -> Reservation:
    """Reserve one password check for (name, ip), or refuse it with the seconds to wait."""
    name = name[:128]
    ip = (ip or "")[:64] or None
    now = now or utcnow()
    since = now - timedelta(minutes=window_minutes)
    pair = (L.c.username == name) & (L.c.ip.is_(None) if ip is None else L.c.ip == ip)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(name, ip)})
        # inserting first takes SQLite's write lock before anything is read: no stale snapshot
        attempt_id = conn.execute(insert(L).returning(L.c.id),
                                  {"username": name, "ip": ip, "at": now, "success": False}).scalar_one()
        last_ok = conn.execute(select(func.max(L.c.at)).where(pair, L.c.success.is_(True),
                                                              L.c.at >= since)).scalar()
        start = max(since, last_ok) if last_ok else since
        n, last = conn.execute(select(func.count(), func.max(L.c.at)).where(
            pair, L.c.success.is_(False), L.c.at >= start, L.c.id != attempt_id)).one()
        if n < limit:
            return Reservation(attempt_id)
        wait = min(base_delay * 2 ** (n - limit), window_minutes * 60.0)
        ready = last + timedelta(seconds=wait)
        if now >= ready:
            return Reservation(attempt_id)
        conn.execute(delete(L).where(L.c.id == attempt_id))  # a refused try does not count
        return Reservation(None, max(1, math.ceil((ready - now).total_seconds())))


def settle(engine: Engine, attempt_id: int, success: bool) -> None:
    """Record how a reserved attempt ended (reserved attempts count as failures until then)."""
    if success:
        with engine.begin() as conn:
            conn.execute(update(L).where(L.c.id == attempt_id).values(success=True))
