"""Migration 0008 on a database that already has scans and notifications: the open set is
marked for its one rebuild, and each routed group's latest firing message starts its repeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text

from store import make_engine, upgrade
from store import open_orders as open_set
from store.models import JobState, Notification
from tests.test_store import db_url, pg_url  # noqa: F401  (fixtures)

T0 = datetime(2026, 12, 1, 9, 0)


def _note(conn, id_: int, receiver: str, group: str | None, kind: str, sent: datetime | None) -> None:  # noqa: ANN001
    conn.execute(text(
        "INSERT INTO notifications (id, receiver, kind, group_key, dedupe_key, flag_ids, status, attempts, "
        "created_at, sent_at) VALUES (:i, :r, :k, :g, :d, '[]', :s, 1, :c, :t)"),
        {"i": id_, "r": receiver, "k": kind, "g": group, "d": f"k{id_}", "s": "sent" if sent else "pending",
         "c": T0, "t": sent})


def test_upgrade_from_0007(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO scans (id, started_at, as_of, files, lines_read, lines_accepted, "
                              "lines_quarantined, lines_new, flags_new, status) "
                              "VALUES (1, :t, :t, '[]', 0, 0, 0, 0, 0, 'done')"), {"t": T0})
            sent = datetime(2026, 12, 1, 9, 30)
            _note(conn, 1, "ops-mail", "department=finance,store_id=MD1", "firing", T0)
            _note(conn, 2, "ops-mail", "department=finance,store_id=MD1", "firing", sent)   # the latest
            _note(conn, 3, "ops-mail", "department=finance,store_id=MD1", "resolved", sent)
            _note(conn, 4, "ops-mail", "department=finance,store_id=MD2", "firing", None)   # not sent yet
            _note(conn, 5, "store:MD1", "store_id=MD1", "firing", sent)                     # never repeats
        upgrade(engine)
        n = Notification.__table__
        with engine.connect() as conn:
            repeat = dict(conn.execute(select(n.c.id, n.c.repeat_from)).all())
            state = conn.execute(select(JobState.value).where(JobState.name == open_set.STATE)).scalar_one()
            assert not open_set.complete(conn)
    finally:
        engine.dispose()
    assert repeat == {1: None, 2: sent, 3: None, 4: T0, 5: None}
    assert state == {"complete": False}


def test_a_fresh_database_needs_no_rebuild(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert open_set.complete(conn)
    finally:
        engine.dispose()
