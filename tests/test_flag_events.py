"""SQLite makes the ``created`` events from the flags just inserted
(``store.flag_insert.created_events``): every column as the rows written from Python were, one per
new flag, in the flags' id order, on both backends — and the same when SQLite's ids are not one
range and the rows are written from Python after all."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import select

import store.flag_write as flag_write
from store.models import FlagEvent
from store.repository import Store
from tests.test_store import db_url, pg_url, store  # noqa: F401  (fixtures)
from tests.test_store_linear import _flags

NOW = datetime(2026, 11, 2, 8, 15, 30, 123456)


def _event_rows(s: Store) -> list[dict]:
    e = FlagEvent.__table__
    with s.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(e).order_by(e.c.id)).mappings()]


def _write(s: Store, scan_id: int, flags: pl.DataFrame) -> flag_write.FlagWrite:
    with s.transaction() as conn:
        return flag_write.write_flags(conn, scan_id, flags, actor="orderwatch:test", now=NOW)


def test_created_events_every_column_in_id_order(store: Store) -> None:  # noqa: F811
    scan = store.begin_scan([], NOW)
    first = _write(store, scan, _flags(range(300), ["warn", "critical", "info"] * 100))
    scan2 = store.begin_scan([], NOW)
    w = _write(store, scan2, pl.concat([_flags(range(0, 100), "critical"), _flags(range(300, 500), "warn")]))
    assert (first.created, w.created, w.raised) == (300, 200, 67)
    rows = _event_rows(store)
    assert len(rows) == 300 + 200 + 67
    levels = dict(store.flags_frame().select("id", "level").iter_rows())
    made = [r for r in rows if r["action"] == "created"]
    assert [r["flag_id"] for r in made] == sorted(first.ids["flag_id"].to_list()) + sorted(
        w.ids.join(first.ids, on="flag_id", how="anti")["flag_id"].to_list())
    for r in made:
        assert (r["at"], r["actor"], r["from_status"], r["to_status"], r["from_level"], r["note"]) == (
            NOW, "orderwatch:test", None, "open", None, None)
        assert r["scan_id"] == (scan if r["flag_id"] in set(first.ids["flag_id"]) else scan2)
    # a created event names the level the flag was created at (the 67 raised ones were lower)
    created_at_level = {r["flag_id"]: r["to_level"] for r in made}
    raised = {r["flag_id"]: (r["from_level"], r["to_level"]) for r in rows if r["action"] == "level_raised"}
    for fid, lvl in created_at_level.items():
        assert lvl == (raised[fid][0] if fid in raised else levels[fid])
    # the raises come after this write's created events, as before
    last_made = max(i for i, r in enumerate(rows) if r["action"] == "created")
    assert all(i > last_made for i, r in enumerate(rows) if r["action"] == "level_raised")


def test_sqlite_ids_not_one_range_are_written_from_python(tmp_path, monkeypatch) -> None:
    both = []
    for name, gap in (("range", False), ("gaps", True)):
        s = Store.open(f"sqlite:///{tmp_path / name}.db")
        try:
            if gap:     # the fallback path's ids: not max(id)+1 … (as after a concurrent scan)
                real = flag_write.created_events
                monkeypatch.setattr(flag_write, "created_events",
                                    lambda conn, ids, *a: real(conn, ids.head(0), *a) and False)
            _write(s, s.begin_scan([], NOW), _flags(range(50), "warn"))
            both.append([{k: v for k, v in r.items()} for r in _event_rows(s)])
        finally:
            s.close()
            monkeypatch.undo()
    assert both[0] == both[1] and len(both[0]) == 50
