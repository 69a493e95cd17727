"""Store on SQLite and PostgreSQL: migrations, idempotent lines, flag upserts, quarantine.

Every test runs against both backends; PostgreSQL gets a throwaway database per test so
tests never see each other's data.  PostgreSQL being down is a failure, not a skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from contracts.schema import CANONICAL, PROVENANCE, QUARANTINE
from store import Base, Store, current_revision

T0 = datetime(2026, 11, 1, 9, 30)


@pytest.fixture
def pg_url(pg_database) -> str:
    """A fresh PostgreSQL database, dropped afterwards (connections terminated first)."""
    return pg_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'orderwatch.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


def lines(n: int = 3, order: str = "A1", store_id: str = "S001", **extra) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": [order] * n,
            "line_no": list(range(1, n + 1)),
            "source": ["demo"] * n,
            "store_id": [store_id] * n,
            "store_name": ["朝阳门店"] * n,
            "created_at": [T0 + timedelta(minutes=i) for i in range(n)],
            "sku": [f"SKU{i}" for i in range(n)],
            "quantity": [float(i + 1) for i in range(n)],
            "unit_price": [9.5] * n,
            "address": ["北京市朝阳区建国路88号"] * n,
            "source_file": ["orders.csv"] * n,
            "source_line": list(range(2, n + 2)),
            "goods": [True] * n,
            **extra,
        }
    )


def flags(level: str = "warn", subjects: tuple[str, ...] = ("order:S001:A1",)) -> pl.DataFrame:
    n = len(subjects)
    return pl.DataFrame(
        {
            "rule_id": ["big_qty"] * n, "kind": ["quantity"] * n, "level": [level] * n,
            "department": ["purchasing"] * n, "subject": list(subjects),
            "order_id": [s.rsplit(":", 1)[1] for s in subjects], "store_id": ["S001"] * n,
            "store_name": ["朝阳门店"] * n, "occurred_at": [T0] * n,
            "title": [f"数量异常 {level}"] * n, "reason": [f"quantity is {level}"] * n,
            "evidence": ['{"qty": 40, "median": 2, "备注": "大单"}'] * n,
        }
    )


# -- migrations ----------------------------------------------------------------------------
def test_migrations_create_schema_and_are_idempotent(db_url: str) -> None:
    s = Store.open(db_url)
    insp = inspect(s.engine)
    assert {"scans", "order_lines", "flags", "flag_events", "quarantined_rows"} <= set(
        insp.get_table_names()
    )
    flag_indexes = {i["name"] for i in insp.get_indexes("flags")}
    assert {"ix_flags_dept_status_id", "ix_flags_store_id"} <= flag_indexes
    assert "ix_flags_rule_id" not in flag_indexes      # 0012: the unique (rule_id, subject) serves it
    uniques = {u["name"]: u["column_names"] for u in insp.get_unique_constraints("order_lines")}
    assert uniques["uq_order_lines_key"] == ["source", "store_id", "order_id", "line_no"]
    assert current_revision(s.engine) == "0012"
    assert "skipped" in {c["name"] for c in insp.get_columns("scans")}       # what a scan could not judge
    sid = s.begin_scan(["a.csv"], T0)
    s.close()
    s2 = Store.open(db_url)  # second open: no error, nothing lost
    assert current_revision(s2.engine) == "0012"
    assert s2.get_scan(sid)["files"] == ["a.csv"]
    with s2.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    s2.close()


def test_models_match_migration(store: Store) -> None:
    """The hand-written migration and the models describe the same schema."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_order_line_table_covers_canonical(store: Store) -> None:
    cols = {c["name"] for c in inspect(store.engine).get_columns("order_lines")}
    assert set(CANONICAL) | set(PROVENANCE) | {"id", "scan_id"} == cols


def test_sqlite_pragmas_and_parent_dir(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "ow.db"
    with Store.open(f"sqlite:///{path}") as s:
        assert path.exists()
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_foreign_keys_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.add_quarantine(999_999, pl.DataFrame({"source_file": ["x"], "line": [1]}))


# -- scans ---------------------------------------------------------------------------------
def test_scan_lifecycle(store: Store) -> None:
    sid = store.begin_scan(["a.csv", "b.xlsx"], T0)
    scan = store.get_scan(sid)
    assert scan["status"] == "running" and scan["as_of"] == T0 and scan["finished_at"] is None
    store.finish_scan(sid, lines_read=10, lines_accepted=8, lines_quarantined=2,
                      lines_new=8, flags_new=1)
    scan = store.get_scan(sid)
    assert (scan["status"], scan["lines_read"], scan["lines_quarantined"]) == ("done", 10, 2)
    assert scan["finished_at"] is not None
    sid2 = store.begin_scan([], T0)
    store.finish_scan(sid2, lines_read=0, lines_accepted=0, lines_quarantined=0, lines_new=0,
                      flags_new=0, status="failed", error="boom: 文件损坏")
    assert store.get_scan(sid2)["error"] == "boom: 文件损坏"
    with pytest.raises(ValueError):
        store.finish_scan(sid2, lines_read=0, lines_accepted=0, lines_quarantined=0,
                          lines_new=0, flags_new=0, status="weird")


# -- order lines ---------------------------------------------------------------------------
def test_order_lines_idempotent_and_round_trip(store: Store) -> None:
    sid = store.begin_scan(["orders.csv"], T0)
    df = lines(3)
    assert store.add_order_lines(sid, df) == 3
    assert store.add_order_lines(sid, df) == 0
    more = pl.concat([df, lines(2, order="A2")], how="vertical")
    more = pl.concat([more, more.head(1)])  # a duplicate inside the batch too
    assert store.add_order_lines(store.begin_scan([], T0), more) == 2
    assert store.add_order_lines(sid, df.head(0)) == 0
    out = store.order_lines_frame(["A1", "A2", "missing"])
    assert out.height == 5
    assert out.columns == [*CANONICAL, *PROVENANCE, "scan_id"]
    a1 = out.filter(pl.col("order_id") == "A1").sort("line_no")
    assert a1["created_at"].to_list() == df["created_at"].to_list()
    assert a1["address"].to_list() == ["北京市朝阳区建国路88号"] * 3
    assert a1["quantity"].to_list() == [1.0, 2.0, 3.0]
    assert a1["goods"].to_list() == [True] * 3
    assert a1["paid_at"].null_count() == 3 and a1["scan_id"].to_list() == [sid] * 3
    assert store.order_lines_frame([]).height == 0


def test_order_lines_bulk_is_fast(store: Store) -> None:
    n = 100_000
    df = pl.DataFrame({
        "order_id": [f"O{i // 3:07d}" for i in range(n)], "line_no": [i % 3 + 1 for i in range(n)],
        "source": ["demo"] * n, "store_id": [f"S{i % 300:03d}" for i in range(n)],
        "created_at": [T0 + timedelta(minutes=i) for i in range(n)],
        "sku": [f"K{i % 500}" for i in range(n)], "quantity": [1.0] * n,
    })
    sid = store.begin_scan(["big.csv"], T0)
    t = time.perf_counter()
    assert store.add_order_lines(sid, df) == n
    assert store.add_order_lines(sid, df) == 0
    assert time.perf_counter() - t < 40  # measured ~3.5s SQLite, ~12s PostgreSQL here


# -- flags ---------------------------------------------------------------------------------
def test_flag_upsert_idempotent_and_raises_with_events(store: Store) -> None:
    s1 = store.begin_scan([], T0)
    assert store.upsert_flags(s1, flags("warn", ("order:S001:A1", "order:S001:A2"))) == (2, 0)
    assert store.upsert_flags(s1, flags("warn", ("order:S001:A1", "order:S001:A2"))) == (0, 0)
    assert store.upsert_flags(s1, flags("info")) == (0, 0)  # never lowered
    s2 = store.begin_scan([], T0)
    assert store.upsert_flags(s2, flags("critical"), actor="nightly") == (0, 1)
    assert store.upsert_flags(s2, flags("critical")) == (0, 0)

    all_flags = store.flags_frame().sort("subject")
    assert all_flags["level"].to_list() == ["critical", "warn"]
    assert all_flags["version"].to_list() == [2, 1]
    assert all_flags["status"].to_list() == ["open", "open"]
    a1 = all_flags.row(0, named=True)
    assert a1["title"] == "数量异常 critical" and a1["assignee"] is None
    assert '"备注": "大单"' in a1["evidence"] and a1["occurred_at"] == T0
    assert a1["updated_at"] >= a1["created_at"]

    events = store.flag_events(a1["id"])
    assert [e["action"] for e in events] == ["created", "level_raised"]
    assert (events[0]["to_status"], events[0]["to_level"]) == ("open", "warn")
    assert (events[1]["from_level"], events[1]["to_level"], events[1]["actor"]) == (
        "warn", "critical", "nightly")

    assert store.flags_frame(s1).height == 2
    assert store.flags_frame(s2)["subject"].to_list() == ["order:S001:A1"]
    assert store.flags_frame(store.begin_scan([], T0)).height == 0


def test_flag_upsert_input_variants(store: Store) -> None:
    sid = store.begin_scan([], T0)
    both = pl.concat([flags("info"), flags("critical")])  # same key twice: most severe wins
    assert store.upsert_flags(sid, both) == (1, 0)
    assert store.flags_frame()["level"].to_list() == ["critical"]
    minimal = flags().select("rule_id", "kind", "level", "department", "subject")
    minimal = minimal.with_columns(subject=pl.lit("store:S002"))
    assert store.upsert_flags(sid, minimal) == (1, 0)
    dict_ev = flags(subjects=("order:S001:A9",)).with_columns(
        evidence=pl.struct(pl.lit(3).alias("n"), pl.lit("x").alias("why")))
    assert store.upsert_flags(sid, dict_ev) == (1, 0)
    assert store.flags_frame().filter(pl.col("subject") == "order:S001:A9")["evidence"][0] == (
        '{"n": 3, "why": "x"}')
    assert store.upsert_flags(sid, flags().head(0)) == (0, 0)
    with pytest.raises(ValueError, match="level"):
        store.upsert_flags(sid, flags("urgent"))
    with pytest.raises(ValueError, match="department"):
        store.upsert_flags(sid, flags().drop("department"))
    with pytest.raises(ValueError, match="JSON"):
        store.upsert_flags(sid, flags().with_columns(evidence=pl.lit("{nope")))


# -- quarantine ----------------------------------------------------------------------------
def test_quarantine_round_trip_chinese(store: Store) -> None:
    sid = store.begin_scan(["订单.csv"], T0)
    q = pl.DataFrame({
        "source_file": ["订单.csv", "订单.csv", "b.xlsx"],
        "line": [3, 7, 12],
        "reason": ["数量无法解析: '三个'", "缺少必填字段 store_id", None],
        "raw": ["A1,S001,三个,¥9.5", "A2,,1,2", '{"a": "引号\\"和,逗号"}'],
    })
    assert store.add_quarantine(sid, q) == 3
    assert store.add_quarantine(sid, q.head(0)) == 0
    out = store.quarantine_frame(sid)
    assert out.schema == pl.Schema(QUARANTINE)
    assert out.equals(q)
    assert store.quarantine_frame(store.begin_scan([], T0)).height == 0
