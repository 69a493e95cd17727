"""Flags stored in linear time: one write (and one scan) that both creates and raises
thousands of flags gets every id and event right, on SQLite and PostgreSQL, and SQLite's
plans probe the indexes instead of scanning the tables."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest
import yaml
from sqlalchemy import event, func, select

from contracts.config import history_dir_for, load_config
from orderwatch.scan import run_scan
from store import Store, flagged_lines
from store.flagged_lines import FlaggedLines
from store.models import Flag, FlagEvent
from tests.test_store import db_url, pg_url, store  # noqa: F401  (fixtures)

T0 = datetime(2026, 11, 1, 9, 30)


def _flags(keys: range, level: str | list[str], prefix: str = "order:S:") -> pl.DataFrame:
    n = len(keys)
    return pl.DataFrame({
        "rule_id": ["big_qty"] * n, "kind": ["quantity"] * n,
        "level": level if isinstance(level, list) else [level] * n, "department": ["purchasing"] * n,
        "subject": [f"{prefix}{i}" for i in keys], "order_id": [str(i) for i in keys], "store_id": ["S"] * n,
        "occurred_at": [T0] * n, "title": ["数量异常"] * n,
        "reason": [f"quantity #{i}" for i in keys],
        "evidence": [json.dumps({"qty": i, "备注": level if isinstance(level, str) else "x"}, ensure_ascii=False)
                     for i in keys],
    })


def _stored(store: Store) -> pl.DataFrame:
    t = Flag.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.subject, t.c.level, t.c.version)).all()
    return pl.DataFrame(rows, schema={"flag_id": pl.Int64, "subject": pl.String, "level": pl.String,
                                      "version": pl.Int64}, orient="row")


def _events(store: Store) -> pl.DataFrame:
    e = FlagEvent.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(select(e.c.flag_id, e.c.action, e.c.from_level, e.c.to_level, e.c.scan_id)).all()
    return pl.DataFrame(rows, schema={"flag_id": pl.Int64, "action": pl.String, "from_level": pl.String,
                                      "to_level": pl.String, "scan_id": pl.Int64}, orient="row")


def test_one_write_creates_and_raises_thousands(store: Store) -> None:
    s1 = store.begin_scan([], T0)
    first = store.write_flags(s1, _flags(range(4000), "warn"))
    assert (first.created, first.raised, first.ids.height) == (4000, 0, 4000)
    s2 = store.begin_scan([], T0)
    batch = pl.concat([
        _flags(range(0, 3000), "critical"),                      # raised
        _flags(range(3000, 4000), "info"),                       # lower: untouched
        _flags(range(4000, 7000), ["warn", "critical"] * 1500),  # new
        _flags(range(0, 500), "warn"),                           # the same keys again, less severe
    ])
    w = store.write_flags(s2, batch)
    assert (w.created, w.raised) == (3000, 3000)

    stored = _stored(store)
    assert stored.height == 7000 and stored["subject"].n_unique() == 7000
    ids = w.ids.join(stored, on="subject", how="left", suffix="_db")
    assert ids.height == 7000 and (ids["flag_id"] == ids["flag_id_db"]).all()   # every key, its own id
    by_subject = stored.with_columns(n=pl.col("subject").str.extract(r"(\d+)$").cast(pl.Int64))
    raised = by_subject.filter(pl.col("n") < 3000)
    assert (raised["level"] == "critical").all() and (raised["version"] == 2).all()
    kept = by_subject.filter(pl.col("n").is_between(3000, 3999))
    assert (kept["level"] == "warn").all() and (kept["version"] == 1).all()

    ev = _events(store)
    assert ev.height == 4000 + 3000 + 3000
    ups = ev.filter(pl.col("action") == "level_raised")
    assert ups.height == 3000 and set(ups["flag_id"]) == set(raised["flag_id"])
    assert (ups["from_level"] == "warn").all() and (ups["to_level"] == "critical").all()
    assert (ups["scan_id"] == s2).all()
    made = ev.filter((pl.col("action") == "created") & (pl.col("scan_id") == s2))
    new = by_subject.filter(pl.col("n") >= 4000)
    assert set(made["flag_id"]) == set(new["flag_id"])
    assert made.join(new, on="flag_id").filter(pl.col("to_level") != pl.col("level")).height == 0
    one = store.flags_frame().filter(pl.col("subject") == "order:S:7")
    assert json.loads(one["evidence"][0]) == {"qty": 7, "备注": "critical"}       # a raise brings its evidence

    again = store.write_flags(store.begin_scan([], T0), batch)              # idempotent
    assert (again.created, again.raised, again.ids.height) == (0, 0, 7000)
    assert _events(store).height == ev.height


def test_sqlite_plans_probe_indexes(tmp_path) -> None:
    """No statement of a flag write or a line lookup scans the flags or order-line tables."""
    s = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    s.write_flags(None, _flags(range(2000), "warn"))
    plans: list[tuple[str, str]] = []

    @event.listens_for(s.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if executemany or not statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            return
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute("EXPLAIN QUERY PLAN " + statement, params)
            plans.extend((statement, row[3]) for row in cur.fetchall())
        finally:
            cur.close()

    s.write_flags(None, pl.concat([_flags(range(0, 100), "critical"), _flags(range(5000, 5100), "warn")]))
    s.order_lines_frame(["1", "2"])
    s.close()
    assert plans
    scans = [(stmt[:80], p) for stmt, p in plans
             if p.startswith("SCAN ") and p.split()[1] in ("flags", "order_lines", "flag_events")]
    assert scans == []


def test_one_scan_creates_and_raises_thousands(tmp_path, db_url: str) -> None:  # noqa: F811
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "paid.yaml").write_text(yaml.safe_dump({"rules": [{
        "id": "paid_off", "title": {"zh": "实付不符", "en": "Paid amount off"}, "detector": "payment_mismatch",
        "levels": {"warn": "abs_gap >= 1", "critical": "abs_gap >= 100"},
        "department": "finance", "notify_store": False, "enabled": True}]}), encoding="utf-8")
    config = load_config(overrides={"instance_dir": str(tmp_path / "inst"), "rules_dir": str(rules)})
    head = "order_id,store_id,created_at,sku,quantity,order_amount,paid_amount,payment_method\n"

    first_file = tmp_path / "a.csv"
    first_file.write_text(head + "".join(f"P{i},MD{i % 50},2026-09-01 13:{i % 60:02d},SP1,1,100,110,微信支付\n"
                                         for i in range(3000)), encoding="utf-8")
    first = run_scan([first_file], config, db_url=db_url, as_of=datetime(2026, 9, 1, 15))
    assert (first.flags_created, first.flags_raised) == (3000, 0)
    # the same 3,000 orders now 200 off (critical: raised) and 3,000 new ones 10 off (created)
    both = tmp_path / "b.csv"
    both.write_text(head + "".join(
        f"P{i},MD{i % 50},2026-09-01 13:{i % 60:02d},SP1,1,100,{300 if i < 3000 else 110},微信支付\n"
        for i in range(6000)), encoding="utf-8")
    second = run_scan([both], config, db_url=db_url, as_of=datetime(2026, 9, 1, 16))
    assert (second.flags_created, second.flags_raised) == (3000, 3000)
    assert second.flags.height == 6000 and second.flags["flag_id"].null_count() == 0
    with Store.open(db_url) as s:
        stored = _stored(s)
        ev = _events(s)
        with s.engine.connect() as conn:
            n_flags = conn.execute(select(func.count()).select_from(Flag.__table__)).scalar_one()
    assert n_flags == 6000
    got = second.flags.select("subject", "flag_id", "level").join(stored, on="subject", suffix="_db")
    assert got.height == 6000 and (got["flag_id"] == got["flag_id_db"]).all() and (got["level"] == got["level_db"]).all()
    mine = ev.filter(pl.col("scan_id") == second.scan_id)
    assert mine.group_by("action").len().sort("action").rows() == [("created", 3000), ("level_raised", 3000)]
    assert mine["flag_id"].n_unique() == 6000
    # the flagged orders' lines: one file per scan that created or raised flags, the newest version shown
    archive = FlaggedLines(history_dir_for(db_url, config))
    assert archive.scan_ids() == [first.scan_id, second.scan_id]
    third = run_scan([both], config, db_url=db_url, as_of=datetime(2026, 9, 1, 16))
    assert (third.flags_created, third.flags_raised) == (0, 0) and archive.scan_ids() == [first.scan_id, second.scan_id]
    with Store.open(db_url) as s:
        shown = flagged_lines.order_lines(s.engine, archive, [("MD0", "P0"), ("MD0", "P5000"), ("MD1", "P1")])
    assert [ln["paid_amount"] for ln in shown[("MD0", "P0")]] == [300.0]        # raised: the re-export's version
    assert [ln["scan_id"] for ln in shown[("MD0", "P5000")]] == [second.scan_id]  # created by the second scan
    assert [ln["order_id"] for ln in shown[("MD1", "P1")]] == ["P1"]


@pytest.mark.parametrize("bad", ["{nope", "[1, 2"])
def test_bad_evidence_names_the_flag(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match=r"order:S:1.*not valid JSON"):
        store.write_flags(None, _flags(range(1, 2), "warn").with_columns(evidence=pl.lit(bad)))
    assert _stored(store).height == 0


def test_staged_rows_round_trip(store: Store) -> None:
    """What a stage holds reads back as it went in: nulls, empty and awkward text, times, flags."""
    from store.staging import staged

    df = pl.DataFrame({"s": ["", None, "\\.", 'a,"b"\nc', "门店"], "n": [1, None, 3, 4, 5],
                       "b": [True, None, False, True, False], "x": [1.5e-7, None, 2.0, 1e20, -3.25],
                       "t": [T0, None, T0, T0, T0]})
    with store.engine.begin() as conn, staged(conn, df) as t:
        back = pl.DataFrame(conn.execute(select(*t.c)).all(), schema=df.schema, orient="row")
    assert back.sort("n", nulls_last=True).equals(df.sort("n", nulls_last=True))


def test_bulk_insert_skips_rows_already_stored(store: Store) -> None:
    """A line a concurrent scan stored first is skipped (PostgreSQL: the COPY falls back)."""
    from store.bulk import insert_rows
    from store.models import OrderLine
    from tests.test_store import lines

    sid = store.begin_scan([], T0)
    t = OrderLine.__table__
    first = lines(3).with_columns(scan_id=pl.lit(sid))
    with store.engine.begin() as conn:
        assert insert_rows(conn, t, first) == 3
    with store.engine.begin() as conn:
        assert insert_rows(conn, t, pl.concat([first, lines(2, order="A2").with_columns(scan_id=pl.lit(sid))])) == 2
    assert store.order_lines_frame(["A1", "A2"]).height == 5


def test_recent_flags_take_the_scans_new_flags_from_memory(store: Store) -> None:
    """Correlation input: what the scan created comes from its frame, the rest from the table —
    the same rows as reading everything back."""
    s1 = store.begin_scan([], T0)
    store.write_flags(s1, _flags(range(0, 300), "warn"))
    s2 = store.begin_scan([], T0)
    batch = pl.concat([_flags(range(0, 100), "critical"), _flags(range(100, 200), "warn"),
                       _flags(range(300, 500), "warn")])                 # raised, unchanged, new
    w = store.write_flags(s2, batch)
    mine = batch.join(w.ids, on=["rule_id", "subject"]).rename({"flag_id": "id"})
    since = datetime(2026, 10, 1)
    read_back = store.recent_flags(["S"], since).sort("id")
    taken = store.recent_flags(["S"], since, written=(s2, mine)).sort("id")
    assert read_back.height == 500 and taken.equals(read_back)


@pytest.mark.parametrize("where", [
    "rule_id = 'big_qty' AND resolution IN ('confirmed', 'false_positive')",      # rule suggestions
    "rule_id IN ('big_qty', 'x') AND occurred_at >= '2026-11-01' AND occurred_at < '2026-11-02'",  # dry run
    "rule_id = 'big_qty' AND store_id = 'S' AND id <> 3",                          # a flag's siblings
])
def test_lookups_by_rule_use_the_unique_index(tmp_path, where: str) -> None:
    """0012 dropped ``ix_flags_rule_id``: a lookup by rule searches ``(rule_id, subject)``."""
    s = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    s.write_flags(None, _flags(range(2000), "warn"))
    with s.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        plan = [r[3] for r in cur.execute(f"EXPLAIN QUERY PLAN SELECT id FROM flags WHERE {where}")]
    s.close()
    assert not any(p.startswith("SCAN flags") for p in plan), plan
    assert any(p.startswith("SEARCH flags USING INDEX") for p in plan), plan


def test_keys_another_scan_stored_meanwhile_are_skipped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys stored by a concurrent scan after this write looked them up: the direct load rolls
    back whole (no half of it stays), the set-based path skips those keys and raises them as
    usual, and every key still gets the stored id."""
    from store import flag_write

    s1 = store.begin_scan([], T0)
    store.write_flags(s1, _flags(range(0, 1500), "warn"))        # "the other scan"
    before = _stored(store)
    real = flag_write.stored_keys
    calls: list[int] = []

    def blind_first(conn, keys):  # noqa: ANN001, ANN202 - the first lookup ran before the other scan's commit
        calls.append(keys.height)
        return real(conn, keys.head(0)) if len(calls) == 1 else real(conn, keys)

    monkeypatch.setattr(flag_write, "stored_keys", blind_first)
    skipping = flag_write._insert_skipping
    fallbacks: list[int] = []
    monkeypatch.setattr(flag_write, "_insert_skipping", lambda *a: fallbacks.append(1) or skipping(*a))
    s2 = store.begin_scan([], T0)
    w = store.write_flags(s2, pl.concat([_flags(range(1000, 1500), "critical"), _flags(range(1500, 4000), "warn")]))
    assert fallbacks == [1]                                       # the direct load gave way
    assert (w.created, w.raised) == (2500, 500)
    stored = _stored(store)
    assert stored.height == 4000 and stored["subject"].n_unique() == 4000
    ids = w.ids.join(stored, on="subject", how="left", suffix="_db")
    assert ids.height == 3000 and (ids["flag_id"] == ids["flag_id_db"]).all()
    kept = before.join(stored, on="subject", suffix="_now")
    assert (kept["flag_id"] == kept["flag_id_now"]).all()          # the other scan's flags keep their ids
    ev = _events(store).filter(pl.col("scan_id") == s2)
    assert ev.filter(pl.col("action") == "created").height == 2500
    assert ev.filter(pl.col("action") == "level_raised").height == 500
    assert ev["flag_id"].n_unique() == 3000


def test_new_flags_get_ids_no_other_flag_has(store: Store) -> None:
    """Ids given before the load continue after every stored flag, one per new key."""
    a = store.write_flags(None, _flags(range(0, 300), "warn"))
    b = store.write_flags(None, _flags(range(200, 900), "warn", prefix="order:T:"))
    c = store.write_flags(None, _flags(range(250, 400), "critical"))
    assert (b.created, c.created, c.raised) == (700, 100, 50)
    assert b.ids["flag_id"].min() > a.ids["flag_id"].max()
    assert c.ids.filter(pl.col("subject") == "order:S:399")["flag_id"].item() > b.ids["flag_id"].max()
    stored = _stored(store)
    assert stored.height == 1100 and stored["flag_id"].n_unique() == 1100
