"""Re-evaluation judges the open set of its window: orders a time-based rule may still flag,
read from only the history partitions that hold them (rows counted, not timed)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, func, select

from contracts.config import load_config
from orderwatch.reevaluate import reevaluate
from orderwatch.scan import run_scan
from store import Store
from store import open_orders as open_set
from store.models import JobState, OpenOrder
from tests.rows_read import rows_read
from tests.test_store import pg_url  # noqa: F401  (fixture)

HEAD = "订单号,门店编号,下单时间,确认时间,拣货时间,发货时间,签收时间,商品编码,数量\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ow.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def config(tmp_path, monkeypatch):
    return load_config(overrides={"instance_dir": str(tmp_path / "inst")})


def _write(path, rows):
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _delivered(n: int, day: str) -> list[str]:
    return [f"D{i},MD{i % 20},{day} 13:00,{day} 13:05,{day} 14:00,{day} 15:00,{day} 18:00,SP1,6" for i in range(n)]


OPEN = [
    "A1,MD1,2026-09-01 13:00,2026-09-01 13:05,,,,SP1,6",                                  # never picked
    "A2,MD1,2026-09-01 13:00,2026-09-01 13:05,2026-09-01 14:00,2026-09-01 15:00,,SP1,6",   # in transit
    "A3,MD2,2026-09-01 13:10,2026-09-01 13:15,2026-09-01 14:00,,,SP1,6",                  # picked, not shipped
]


def _open_rows(db: str) -> int:
    with Store.open(db) as s, s.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(OpenOrder.__table__)).scalar_one()


def test_only_open_orders_of_the_window_are_read(tmp_path, config, db):
    # five weeks earlier: orders never picked (open, but outside a 7-day window)
    old = [f"B{i},MD1,2026-07-27 13:00,2026-07-27 13:05,,,,SP1,6" for i in range(40)]
    old.append("C0,MD1,2026-07-27 12:00,2026-07-27 12:05,2026-07-27 12:30,,,SP1,6")  # the file tracks picking
    run_scan([_write(tmp_path / "old.csv", old)], config, db_url=db, as_of=datetime(2026, 7, 27, 14))
    run_scan([_write(tmp_path / "day.csv", _delivered(300, "2026-09-01") + OPEN)], config, db_url=db,
             as_of=datetime(2026, 9, 1, 15))
    assert _open_rows(db) == 40 + 3                                       # delivered orders are not kept

    with rows_read() as n:
        r = reevaluate(config, datetime(2026, 9, 1, 20), db_url=db)
    assert (r.orders_judged, r.lines_read, r.partitions_read) == (3, 3, 1)   # not the old partition
    assert r.flags_created == 2                                           # A1: 7 h unpicked, A3: 6 h not handed over
    assert n["open_orders"] == 3
    assert n["flags"] <= r.flags_found and n["order_lines"] <= 1          # lookups of what it stores

    # a re-export that says A2 was delivered takes it out of the set
    run_scan([_write(tmp_path / "later.csv", [OPEN[1].replace("15:00,,", "15:00,2026-09-02 09:00,")])],
             config, db_url=db, as_of=datetime(2026, 9, 2, 10))
    again = reevaluate(config, datetime(2026, 9, 2, 12), db_url=db)
    assert (again.orders_judged, again.lines_read) == (2, 2)


def test_a_database_from_before_the_open_set_is_rebuilt_once(tmp_path, config, db):
    run_scan([_write(tmp_path / "day.csv", _delivered(50, "2026-09-01") + OPEN)], config, db_url=db,
             as_of=datetime(2026, 9, 1, 15))
    with Store.open(db) as s, s.transaction() as conn:                    # as an upgraded database is
        conn.execute(delete(OpenOrder.__table__))
        conn.execute(JobState.__table__.update().where(JobState.name == open_set.STATE)
                     .values(value={"complete": False}))
    r = reevaluate(config, datetime(2026, 9, 1, 20), db_url=db)
    assert (r.orders_judged, r.flags_created) == (3, 2)
    assert _open_rows(db) == 3
    with Store.open(db) as s, s.engine.connect() as conn:
        assert open_set.complete(conn)
    with rows_read() as n:
        assert reevaluate(config, datetime(2026, 9, 1, 20, 5), db_url=db).orders_judged == 3
    assert n["open_orders"] == 3                                          # no second rebuild


def test_a_failed_scan_leaves_the_open_set_as_it_was(tmp_path, config, db, monkeypatch):
    import store.repository as repo

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(repo.Store, "add_quarantine", boom)
    with pytest.raises(RuntimeError):
        run_scan([_write(tmp_path / "day.csv", OPEN)], config, db_url=db, as_of=datetime(2026, 9, 1, 15))
    assert _open_rows(db) == 0                                            # one transaction with the scan
