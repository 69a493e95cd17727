"""Plan notifications from flags, enqueue them, deliver them with retries.

``plan`` turns flag changes into rows of the notification log (one per receiver and group,
never one per flag); ``deliver`` sends what is due.  Both take ``now`` (naive UTC) so jobs and
tests control the clock.

Planning, per run:

* **firing** – an active flag (open/acknowledged) that was created, raised or reopened since
  ``flags.notified_at`` (or was never notified) is routed by its labels; silenced flags are
  skipped (and picked up once the silence ends).  Flags are grouped per (receiver, group key of
  the route's ``group_by``); a group with a changed flag gets one message listing its new flags
  and the others still open.  A group without changes is re-sent when it still has an
  unacknowledged flag and its last message is older than the route's ``repeat_interval``.
* **resolved** – a closed flag that had been announced and changed since (``updated_at >
  notified_at``) goes to its routes with ``send_resolved``, grouped the same way.
* **store managers** – CRITICAL flags of rules with ``notify_store: true`` go at once to
  ``alerts.store_contacts[store_id]`` (receiver ``store:<store_id>``), one message per store.

Each run reads only the flags changed since it last looked and the groups those changes or a
due repeat touch (``alerts.planning``), so its cost follows the news, not the backlog.  Flags it
saw without news (acknowledged, assigned, escalated; closed before ever being announced) are
stamped too, so they leave the index of unseen flags.

The messages are inserted with ``ON CONFLICT (dedupe_key) DO NOTHING`` in the same transaction
that stamps ``notified_at`` on the planned flags, so two planners never insert a message twice.
The firing key holds the receiver, group key, the sorted flag ids and levels and the group's
*repeat generation* (the id of its previous firing message), so a repeat is a new key and a
replan of the same state is not.  The group's newest firing row carries ``repeat_from`` (when
it was created, then sent); older ones and groups with nothing open left carry none.

Delivery claims a row with ``UPDATE ... SET status='sending' WHERE id=? AND status='pending'``
before sending, so concurrent deliverers never send the same row; success → ``sent``; failure →
``attempts+1``, ``last_error`` and exponential backoff, ``dead`` after ``max_attempts``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from alerts import planning
from alerts.labels import labels_of
from alerts.planning import ACTIVE
from alerts.messages import (
    _flag_payload,
    _sort,
    firing_message,
    resolved_message,
    store_message,
)
from alerts.receivers import DeliveryError
from alerts.receivers import send as default_send
from alerts.routing import Route
from alerts.settings import STORE_PREFIX, AlertSettings, Receiver, load_settings
from alerts.silences import is_silenced, list_active
from contracts.config import Config
from store.models import Flag, Notification, utcnow

log = logging.getLogger("orderwatch.alerts")

CLOSED: tuple[str, ...] = ("resolved", "dismissed")
NOTIFICATION_STATUSES: tuple[str, ...] = ("pending", "sending", "sent", "silenced", "dead")
SENDING_LEASE = timedelta(minutes=10)   # a 'sending' claim older than this was interrupted
Sender = Callable[[Receiver, dict[str, Any]], "str | None"]


# -- the log ----------------------------------------------------------------------------------
def _clip_key(key: str) -> str:
    """Keys fit the 255-character column: long ones keep a readable head and a digest."""
    if len(key) <= 255:
        return key
    return key[:190] + "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:64]


def _insert_ignore(conn: Connection):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(Notification.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])


def _enqueue(conn: Connection, *, receiver: str, kind: str, group_key: str | None, dedupe_key: str,
             subject: str | None, body: str | None, payload: dict | None, flag_ids: Iterable[int],
             now: datetime, repeat_from: datetime | None = None) -> int | None:
    t = Notification.__table__
    row = conn.execute(_insert_ignore(conn).returning(t.c.id), {
        "receiver": receiver, "kind": kind, "group_key": (group_key or "")[:255] or None,
        "dedupe_key": _clip_key(dedupe_key), "subject": subject, "body": body, "payload": payload,
        "flag_ids": [int(i) for i in flag_ids], "status": "pending", "attempts": 0,
        "next_attempt_at": None, "last_error": None, "created_at": now, "sent_at": None,
        "repeat_from": repeat_from,
    }).first()
    return int(row[0]) if row else None


def enqueue(engine: Engine, *, receiver: str, kind: str, group_key: str | None, dedupe_key: str,
            subject: str | None, body: str | None, payload: dict | None = None,
            flag_ids: Iterable[int] = (), now: datetime | None = None) -> int | None:
    """Add one message to the log (escalations, digests, reports); None if ``dedupe_key`` exists.

    ``receiver`` is a configured receiver name or ``store:<store_id>``; ``deliver`` sends it."""
    from store.models import utcnow
    with engine.begin() as conn:
        return _enqueue(conn, receiver=receiver, kind=kind, group_key=group_key, dedupe_key=dedupe_key,
                        subject=subject, body=body, payload=payload, flag_ids=flag_ids, now=now or utcnow())


def list_notifications(engine: Engine, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The log, newest first (optionally one status)."""
    t = Notification.__table__
    stmt = select(t).order_by(t.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(t.c.status == status)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


# -- planning ---------------------------------------------------------------------------------
@dataclass
class _Group:
    route: Route
    labels: dict[str, str]
    flags: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    changed: set[int] = field(default_factory=set)


def _digest(items: Iterable[str]) -> str:
    return hashlib.sha256(",".join(items).encode("utf-8")).hexdigest()[:32]


def _notify_store_rules(config: Config, rules: Iterable[Any] | None) -> set[str]:
    if rules is None:
        from rules.loader import load_rules_cached
        try:
            rules = load_rules_cached(config, include_disabled=True)
        except Exception as exc:  # a broken rule file must not stop the department notices
            log.warning("alerts: store notices skipped, rules could not be read: %s", exc)
            return set()
    return {r.id for r in rules if getattr(r, "notify_store", False)}


def _route(f: Mapping[str, Any], root: Route) -> list[tuple[tuple[str, str], Route, dict[str, str]]]:
    """The (receiver, group key) groups a flag goes to, with the route and its labels."""
    labels = labels_of(f)
    return [((r.receiver, r.group_key(labels)), r, labels) for r in root.route(labels) if r.receiver is not None]


def _groups(flags: Iterable[Mapping[str, Any]], wanted: set[tuple[str, str]], news: set[int], root: Route,
            silences: list[dict], now: datetime) -> tuple[dict[tuple[str, str], _Group], set[tuple[str, str]]]:
    """The wanted groups with their active, unsilenced flags; and the groups holding an open flag
    a silence keeps back (their repeats must resume when it ends)."""
    groups: dict[tuple[str, str], _Group] = {}
    held: set[tuple[str, str]] = set()
    for f in flags:
        silenced = is_silenced(labels_of(f), silences, now)
        for key, r, labels in _route(f, root):
            if key not in wanted:
                continue
            if silenced:
                if f["status"] == "open":
                    held.add(key)
                continue
            g = groups.setdefault(key, _Group(r, {k: labels[k] for k in r.group_by}))
            g.flags[f["id"]] = f
            if f["id"] in news:
                g.changed.add(f["id"])
    return groups, held


def plan(engine: Engine, config: Config, now: datetime, *, rules: Iterable[Any] | None = None,
         settings: AlertSettings | None = None) -> int:
    """Insert the notifications that flag changes call for; returns how many were inserted.

    Reads only what changed since the last run and the groups whose repeat may be due
    (``alerts.planning``).  ``rules`` (for ``notify_store``) default to the configured pack."""
    settings = settings or load_settings(config)
    root: Route = settings.route
    silences = list_active(engine, now)
    store_rules = _notify_store_rules(config, rules)
    mark: list[Mapping[str, Any]] = []
    stores: dict[str, list[Mapping[str, Any]]] = {}
    with engine.connect() as conn:
        seen, news = planning.unseen_flags(conn)
        changed = [f for f in seen if f["id"] in news and not is_silenced(labels_of(f), silences, now)]
        mark += changed                                       # silenced news stays unstamped
        mark += [f for f in seen if f["status"] in ACTIVE and f["id"] not in news]   # seen, no news
        for f in changed:
            sid = f.get("store_id")
            if f["level"] == "critical" and f["rule_id"] in store_rules and sid and sid in settings.store_contacts:
                stores.setdefault(sid, []).append(f)
        wanted = {key for f in changed for key, _, _ in _route(f, root)}
        due = set(planning.due_groups(conn, now, root)) - wanted
        labels = [labels_of(f) for f in changed] + [planning.key_labels(k) for _, k in due]
        loaded = {f["id"]: f for f in planning.group_flags(conn, labels)} if labels else {}
        loaded.update({f["id"]: f for f in changed})
        groups, held = _groups((loaded[i] for i in sorted(loaded)), wanted | due, news, root, silences, now)
        last = planning.last_firing(conn, wanted | due)

    resolved: dict[tuple[str, str], _Group] = {}
    for f in seen:
        if f["status"] not in CLOSED:
            continue
        if f["notified_at"] is not None:                      # announced: it gets a resolved notice
            if is_silenced(labels_of(f), silences, now):
                continue                                      # sent once the silence ends
            for key, r, labels in _route(f, root):
                if r.send_resolved:
                    resolved.setdefault(key, _Group(r, {k: labels[k] for k in r.group_by})).flags[f["id"]] = f
        mark.append(f)

    inserted = 0
    quiet: list[int] = []                                      # due groups with nothing to nag about
    with engine.begin() as conn:
        for key in due - set(groups) - held:
            if key in last:
                quiet.append(last[key]["id"])
        for (receiver, gkey), g in groups.items():
            prev = last.get((receiver, gkey))
            repeat = False
            if not g.changed:
                if prev is None or prev["status"] in ("pending", "sending"):
                    if prev is not None:
                        continue              # the last one isn't out yet: no repeat on top
                elif max(prev["created_at"], prev["sent_at"] or prev["created_at"]) + g.route.repeat_interval > now:
                    continue
                if not any(f["status"] == "open" for f in g.flags.values()):
                    if prev is not None and (receiver, gkey) not in held:
                        quiet.append(prev["id"])  # everything acknowledged: people are on it
                    continue
                repeat = True
            new = [g.flags[i] for i in sorted(g.changed)]
            others = [f for i, f in sorted(g.flags.items()) if i not in g.changed]
            subject, body = firing_message(g.labels, new, others, config, now, repeat)
            ids = sorted(g.flags)
            dedupe = (f"firing|{receiver}|{gkey}|g{prev['id'] if prev else 0}|"
                      + _digest(f"{i}:{g.flags[i]['level']}" for i in ids))
            payload = {"labels": g.labels, "route": g.route.path, "repeat": repeat,
                       "new_flag_ids": sorted(g.changed),
                       "flags": [_flag_payload(f, config) for f in _sort(g.flags.values())]}
            nid = _enqueue(conn, receiver=receiver, kind="firing", group_key=gkey, dedupe_key=dedupe,
                           subject=subject, body=body, payload=payload, flag_ids=ids, now=now, repeat_from=now)
            if nid is not None:
                planning.supersede(conn, receiver, gkey, nid)
                inserted += 1
        planning.stop_repeats(conn, quiet)

        for (receiver, gkey), g in resolved.items():
            flags = _sort(g.flags.values())
            subject, body = resolved_message(g.labels, flags, config, now)
            dedupe = f"resolved|{receiver}|{gkey}|" + _digest(f"{f['id']}:{f['version']}" for f in
                                                              sorted(flags, key=lambda f: f["id"]))
            payload = {"labels": g.labels, "route": g.route.path,
                       "flags": [_flag_payload(f, config) for f in flags]}
            if _enqueue(conn, receiver=receiver, kind="resolved", group_key=gkey, dedupe_key=dedupe,
                        subject=subject, body=body, payload=payload, flag_ids=sorted(g.flags), now=now) is not None:
                inserted += 1

        for sid, flags in stores.items():
            flags = _sort(flags)
            subject, body = store_message(sid, flags, config, now)
            gkey = f"store_id={sid}"
            dedupe = f"store|{sid}|" + _digest(f"{f['id']}:{f['version']}" for f in sorted(flags, key=lambda f: f["id"]))
            payload = {"labels": {"store_id": sid}, "route": "alerts.store_contacts",
                       "flags": [_flag_payload(f, config) for f in flags]}
            if _enqueue(conn, receiver=f"{STORE_PREFIX}{sid}", kind="firing", group_key=gkey, dedupe_key=dedupe,
                        subject=subject, body=body, payload=payload, flag_ids=[f["id"] for f in flags],
                        now=now) is not None:
                inserted += 1

        if mark:
            t = Flag.__table__
            # notified_at: when (``now``), but never after the real clock that stamps flag changes
            # (a later change must compare newer) and never before the change it announces
            stamp = min(now, utcnow())
            # only if the flag is as we read it: a change meanwhile is picked up by the next run
            conn.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.updated_at == bindparam("b_seen"))
                         .values(notified_at=bindparam("b_mark")),
                         [{"b_id": f["id"], "b_seen": f["updated_at"], "b_mark": max(stamp, f["updated_at"])}
                          for f in mark])
    return inserted


# -- delivery ---------------------------------------------------------------------------------
def backoff(settings: AlertSettings, attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: backoff_seconds doubling, capped."""
    r = settings.retry
    return timedelta(seconds=min(r.backoff_seconds * 2 ** max(attempts - 1, 0), r.backoff_max_seconds))


def deliver(engine: Engine, config: Config, now: datetime, sender: Sender | None = None, *,
            limit: int = 500, settings: AlertSettings | None = None) -> dict[str, int]:
    """Send every pending notification that is due; returns ``{sent, failed, dead}``.

    ``sender(receiver, row)`` sends one row (default: SMTP or webhook per the receiver) and
    raises on failure.  After one failure for a receiver, its other due rows wait for the next
    run (a down server is tried once per run, not once per message)."""
    settings = settings or load_settings(config)
    send = sender or (lambda receiver, row: default_send(settings, receiver, row))
    t = Notification.__table__
    out = {"sent": 0, "failed": 0, "dead": 0}
    with engine.begin() as conn:   # claims a crashed deliverer left behind: back to the queue
        conn.execute(update(t).where(t.c.status == "sending", t.c.next_attempt_at < now).values(
            status="pending", attempts=t.c.attempts + 1, next_attempt_at=now,
            last_error="interrupted while sending (the message may have gone out)"))
    with engine.connect() as conn:
        due = conn.execute(select(t.c.id, t.c.next_attempt_at).where(
            t.c.status == "pending", or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)
        ).order_by(t.c.id).limit(limit)).all()
    down: set[str] = set()
    for nid, was_due in due:
        with engine.begin() as conn:
            claimed = conn.execute(update(t).where(
                t.c.id == nid, t.c.status == "pending",
                or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)
            ).values(status="sending", next_attempt_at=now + SENDING_LEASE)).rowcount == 1
            row = dict(conn.execute(select(t).where(t.c.id == nid)).mappings().one()) if claimed else None
        if row is None:
            continue                          # another deliverer has it
        if row["receiver"] in down:
            with engine.begin() as conn:      # not an attempt: the receiver just failed this run
                conn.execute(update(t).where(t.c.id == nid, t.c.status == "sending")
                             .values(status="pending", next_attempt_at=was_due))
            continue
        receiver = settings.receiver(row["receiver"])
        try:
            if receiver is None:
                raise DeliveryError(f"unknown receiver {row['receiver']!r} (not in alerts.receivers"
                                    f"{' or alerts.store_contacts' if row['receiver'].startswith(STORE_PREFIX) else ''})")
            note = send(receiver, row)
        except Exception as exc:   # noqa: BLE001 - any sender failure is recorded, never lost
            down.add(row["receiver"])
            attempts = row["attempts"] + 1
            error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            dead = attempts >= settings.retry.max_attempts
            with engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == nid, t.c.status == "sending").values(
                    status="dead" if dead else "pending", attempts=attempts, last_error=error[:2000],
                    next_attempt_at=None if dead else now + backoff(settings, attempts)))
            out["dead" if dead else "failed"] += 1
            log.warning("alerts: notification %s to %s failed (attempt %s): %s", nid, row["receiver"], attempts, error)
            continue
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == nid, t.c.status == "sending").values(
                status="sent", sent_at=now, attempts=row["attempts"] + 1, next_attempt_at=None,
                last_error=note if note else t.c.last_error,     # keep the history of a late success
                # a group's repeat interval counts from the send (unless a newer firing took over)
                repeat_from=case((t.c.repeat_from.is_(None), None), else_=max(now, row["created_at"]))))
        out["sent"] += 1
    return out
