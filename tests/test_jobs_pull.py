"""Incremental pulls from an order database on the real PostgreSQL: only rows past the
watermark are read, the watermark moves only after a successful scan, and a crash in the
middle is resumed without losing or duplicating lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, func, select, text

import jobs.pull as pull
from contracts.config import history_dir_for
from contracts.schema import LINE_KEY
from jobs.registry import run_job
from jobs.state import get_state
from store import History, OrderLine, Scan, Store
from tests.test_jobs_fixtures import jobs_config

T0 = datetime(2026, 11, 20, 9, 0)
QUERY = ("SELECT order_id, line_no, store_id, sku, quantity, unit_price, created_at, updated_at "
         "FROM order_lines WHERE updated_at > :watermark ORDER BY updated_at")


def add_rows(engine, first: int, count: int) -> None:
    """Orders ``first`` .. ``first+count-1``, two lines each, updated one minute apart."""
    rows = []
    for i in range(first, first + count):
        for line_no, (sku, qty) in enumerate((("SP1", 12), ("SP2", 6)), start=1):
            rows.append({"order_id": f"E{i:04d}", "line_no": line_no, "store_id": f"MD{i % 4}", "sku": sku,
                         "quantity": qty, "unit_price": 10.5, "created_at": T0 + timedelta(hours=i),
                         "updated_at": T0 + timedelta(hours=i, minutes=line_no)})
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO order_lines VALUES (:order_id, :line_no, :store_id, :sku, :quantity, "
                          ":unit_price, :created_at, :updated_at)"), rows)


@pytest.fixture
def world(pg_database, tmp_path: Path):  # noqa: F811
    src_url, ow_url = pg_database(), pg_database()
    src = create_engine(src_url)
    with src.begin() as conn:
        conn.execute(text("CREATE TABLE order_lines (order_id text, line_no int, store_id text, sku text, "
                          "quantity numeric(12, 3), unit_price numeric(12, 2), created_at timestamp, "
                          "updated_at timestamp)"))
    entry = {"name": "erp", "url": src_url, "query": QUERY, "watermark_column": "updated_at",
             "initial_watermark": "1970-01-01 00:00:00", "every_minutes": 5}
    config = jobs_config(tmp_path, ow_url, jobs={"pulls": [entry]})
    store = Store.open(ow_url)
    yield config, store, src
    store.close()
    src.dispose()


def stored_lines(config, store) -> pl.DataFrame:
    url = store.engine.url.render_as_string(hide_password=False)
    return History(history_dir_for(url, config)).scan().collect()


def watermark(store):
    stored = get_state(store.engine, "pull:erp").get("watermark")
    return pull.decode_watermark(stored) if stored else None


def check_store(config, store, orders: int) -> None:
    """Exactly the source's lines, once each."""
    lines = stored_lines(config, store)
    assert lines.height == 2 * orders
    assert lines.select(LINE_KEY).unique().height == 2 * orders
    assert set(lines["source"].unique()) == {"erp"}
    assert sorted(lines["order_id"].unique()) == [f"E{i:04d}" for i in range(orders)]
    with store.engine.connect() as c:   # flagged orders' lines in the database: no duplicates either
        n = c.execute(select(func.count()).select_from(OrderLine)).scalar_one()
        keys = c.execute(select(func.count()).select_from(
            select(OrderLine.source, OrderLine.store_id, OrderLine.order_id, OrderLine.line_no)
            .distinct().subquery())).scalar_one()
    assert n == keys


def run(config, store, now: datetime | None = None):
    return run_job("pull:erp", now, config=config, engine=store.engine)


def test_pull_reads_only_new_rows_and_advances_the_watermark(world) -> None:
    config, store, src = world
    add_rows(src, 0, 5)
    r = run(config, store)
    assert r.ok, r.error
    assert r.summary.startswith("10 rows after 1970-01-01 00:00:00")
    assert watermark(store) == T0 + timedelta(hours=4, minutes=2)
    st = get_state(store.engine, "pull:erp")
    assert st["last_pull"]["rows"] == 10 and st["last_pull"]["new_lines"] == 10
    assert st["last_status"] == "ok"                          # run record and watermark share the row
    check_store(config, store, 5)

    r = run(config, store)
    assert r.ok and r.summary.startswith("no new rows")
    assert watermark(store) == T0 + timedelta(hours=4, minutes=2)

    add_rows(src, 5, 3)
    r = run(config, store)
    assert r.ok and r.summary.startswith(f"6 rows after {T0 + timedelta(hours=4, minutes=2)}")
    st = get_state(store.engine, "pull:erp")
    assert st["last_pull"]["rows"] == 6 and st["last_pull"]["new_lines"] == 6
    assert watermark(store) == T0 + timedelta(hours=7, minutes=2)
    check_store(config, store, 8)
    assert not list((config.instance_dir / "pulls" / "erp").iterdir())   # temp files removed


def test_a_crash_mid_pull_is_resumed_without_loss_or_duplicates(world, monkeypatch: pytest.MonkeyPatch) -> None:
    config, store, src = world
    add_rows(src, 0, 4)
    assert run(config, store).ok
    mark = watermark(store)
    add_rows(src, 4, 3)
    real = pull.run_scan

    # 1. killed after reading the rows, before the scan stored anything
    def dies_before(*args, **kwargs):
        raise RuntimeError("worker killed before scanning")

    monkeypatch.setattr(pull, "run_scan", dies_before)
    r = run(config, store)
    assert r.status == "error" and "killed" in r.error
    assert watermark(store) == mark
    check_store(config, store, 4)

    # 2. killed after the scan stored the lines, before the watermark was written
    def dies_after(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("worker killed after scanning")

    monkeypatch.setattr(pull, "run_scan", dies_after)
    r = run(config, store)
    assert r.status == "error" and watermark(store) == mark
    check_store(config, store, 7)

    # 3. restarted: re-reads the same rows (nothing skipped), adds nothing twice
    monkeypatch.setattr(pull, "run_scan", real)
    r = run(config, store)
    assert r.ok, r.error
    st = get_state(store.engine, "pull:erp")
    assert st["last_pull"]["rows"] == 6 and st["last_pull"]["new_lines"] == 0
    assert watermark(store) == T0 + timedelta(hours=6, minutes=2)
    check_store(config, store, 7)
    with store.engine.connect() as c:
        statuses = c.execute(select(Scan.status).order_by(Scan.id)).scalars().all()
    assert statuses == ["done", "done", "done"]            # the crash before scanning left no scan
    assert run(config, store).summary.startswith("no new rows")


def test_pull_with_a_query_missing_the_watermark_column_fails_clearly(world) -> None:
    config, store, src = world
    add_rows(src, 0, 1)
    bad = {**config.raw["jobs"]["pulls"][0], "watermark_column": "changed_at"}
    config.raw["jobs"]["pulls"] = [bad]
    r = run(config, store)
    assert r.status == "error" and "changed_at" in r.error and "updated_at" in r.error
    assert watermark(store) is None
