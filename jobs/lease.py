"""The one-runner lease: a ``job_leases`` row per job, taken with one conditional upsert.

Why a lease row and not an advisory lock: it works the same on SQLite and PostgreSQL, it
survives connection pooling (nothing is tied to a session), and a crashed holder simply
lets it expire.  ``acquire`` is a single statement::

    INSERT INTO job_leases (name, owner, expires_at) VALUES (:name, :owner, :expires)
    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE job_leases.expires_at < :now OR job_leases.owner = :owner

which either inserts the row, takes over an expired one, renews our own, or changes nothing;
the row's owner read back in the same transaction says which.  PostgreSQL serialises
conflicting upserts on the row (the loser re-checks the WHERE against the winner's row) and
SQLite holds its single write lock for the whole transaction, so two processes can never both
read themselves back as owner of a live lease.

Times are naive UTC.  A holder running longer than ``seconds`` must ``renew`` (``keepalive``
does it from a thread); a holder that stops renewing loses the lease once it expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.models import JobLease, utcnow

log = logging.getLogger("orderwatch.jobs")


def new_owner() -> str:
    """A unique holder id: host, process and a random part (unique per run, not per process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lease:
    """The lease of job ``name`` for holder ``owner``, ``seconds`` long per acquire/renew."""

    def __init__(self, engine: Engine, name: str, owner: str | None = None, seconds: float = 300) -> None:
        if seconds <= 0:
            raise ValueError("lease seconds must be positive")
        self.engine = engine
        self.name = name
        self.owner = owner or new_owner()
        self.seconds = float(seconds)
        self.held = False
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free, expired or already ours; True when we hold it now."""
        now = now or utcnow()
        expires = now + timedelta(seconds=self.seconds)
        t = JobLease.__table__
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            ins = dialect.insert(t).values(name=self.name, owner=self.owner, expires_at=expires)
            conn.execute(ins.on_conflict_do_update(
                index_elements=[t.c.name],
                set_={"owner": ins.excluded.owner, "expires_at": ins.excluded.expires_at},
                where=(t.c.expires_at < now) | (t.c.owner == self.owner),
            ))
            owner = conn.execute(select(t.c.owner).where(t.c.name == self.name)).scalar_one_or_none()
        self.held = owner == self.owner
        return self.held

    def renew(self, now: datetime | None = None) -> bool:
        """Push our expiry forward; False (and no longer held) if the lease was lost."""
        now = now or utcnow()
        with self.engine.begin() as conn:
            n = conn.execute(
                update(JobLease).where(JobLease.name == self.name, JobLease.owner == self.owner)
                .values(expires_at=now + timedelta(seconds=self.seconds))
            ).rowcount
        self.held = n == 1
        return self.held

    def release(self) -> None:
        """Give the lease up (only if it is still ours); stops a running keepalive."""
        self.stop_keepalive()
        with self.engine.begin() as conn:
            conn.execute(delete(JobLease).where(JobLease.name == self.name, JobLease.owner == self.owner))
        self.held = False

    # -- keeping a long run's lease alive ------------------------------------------------------
    def keepalive(self, every: float | None = None) -> None:
        """Renew from a daemon thread every ``every`` seconds (default a third of the lease)."""
        if self._thread is not None:
            return
        every = every if every is not None else max(self.seconds / 3, 0.05)
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                try:
                    if not self.renew():
                        log.warning("job %s: lease lost by %s", self.name, self.owner)
                        return
                except Exception:  # noqa: BLE001 - a failed renewal is retried next tick
                    log.exception("job %s: lease renewal failed", self.name)

        self._stop = stop
        self._thread = threading.Thread(target=loop, name=f"lease:{self.name}", daemon=True)
        self._thread.start()

    def stop_keepalive(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._stop = self._thread = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.held:
            self.release()


def holder(engine: Engine, name: str) -> tuple[str, datetime] | None:
    """Who holds ``name``'s lease and until when (None when no row)."""
    with engine.connect() as conn:
        row = conn.execute(select(JobLease.owner, JobLease.expires_at).where(JobLease.name == name)).first()
    return (row.owner, row.expires_at) if row else None


__all__ = ["Lease", "holder", "new_owner"]
