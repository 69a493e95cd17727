"""One scan, one outcome: out-of-range values never reach the store, a scan that fails
half-way leaves nothing half-stored, dead scans are marked, re-scans add no copies."""

from __future__ import annotations

import csv
import os
from datetime import datetime

import polars as pl
import pytest
from sqlalchemy import func, select

from contracts.config import history_dir_for
from orderwatch.cli import main
from orderwatch.scan import run_scan
from store import Flag, FlagEvent, History, OrderLine, QuarantinedRow, Scan, Store
from store import scans as scan_log
from store.recovery import recover
from store.flagged_lines import FlaggedLines
from tests.test_scan import HEADER, _rows

AS_OF = datetime(2026, 9, 22, 18, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ow.db'}"
    return request.getfixturevalue("pg_database")()


def export(path, extra=()):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(_rows())
        w.writerows(extra)
    return path


def counts(url: str) -> dict[str, int]:
    with Store.open(url) as s, s.engine.connect() as c:
        return {m.__tablename__: c.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Flag, FlagEvent, OrderLine, QuarantinedRow)}


def bad_row(order: str, when: str = "2026/09/22 13:00", qty: object = 12, store: str = "MD4") -> list:
    return [order, store, when, "", "SP1", qty, "￥10.00", "微信支付", "张三", "13812345678",
            "浙江省", "杭州市", "西湖区", "文三路90号"]


def test_out_of_range_values_are_quarantined_not_fatal(db_url, tmp_path, site_config, capsys):
    p = export(tmp_path / "o.csv", [bad_row("Y1", when="0001-01-01 00:00"), bad_row("Y2", qty="1e308"),
                                    bad_row("Y3", store="MD\x004"), bad_row("Y4", when="2999-01-01")])
    code = main(["scan", str(p), "--db", db_url, "--as-of", "2026-09-22 18:00:00"])
    assert code == 0, capsys.readouterr().err
    with Store.open(db_url) as s:
        scan = s.recent_scans(1)[0]
        q = s.quarantine_frame(scan["id"])
        assert scan["status"] == "done"
        flags = s.flags_frame()
    reasons = dict(zip(q["raw"].str.extract(r'"订单编号":"(Y\d)"').to_list(), q["reason"].to_list()))
    assert "下单时间超出范围" in reasons["Y1"] and "下单时间超出范围" in reasons["Y4"]
    assert "超出范围" in reasons["Y2"] and "NUL" in reasons["Y3"]
    assert not flags["reason"].str.contains("inf").any()


def _boom(*_a, **_k):
    raise RuntimeError("disk full (injected)")


@pytest.mark.parametrize("where", ["lines.stage", "add_quarantine", "stage"])
def test_a_scan_that_fails_half_way_stores_nothing(db_url, tmp_path, site_config, monkeypatch, where):
    p = export(tmp_path / "o.csv")
    before = counts(db_url)
    # the flagged orders' lines (store.flagged_lines) are staged like the history partition
    target = {"stage": History, "lines.stage": FlaggedLines}.get(where, Store)
    monkeypatch.setattr(target, where.split(".")[-1], _boom)
    with pytest.raises(RuntimeError, match="injected"):
        run_scan([p], site_config, as_of=AS_OF, db_url=db_url)
    assert counts(db_url) == before                       # no flags without their lines
    with Store.open(db_url) as s:
        scan = s.recent_scans(1)[0]
    assert scan["status"] == "failed" and "injected" in scan["error"]
    h = History(history_dir_for(db_url, site_config))
    assert h.partition_scan_ids() == [] and h.pending_scan_ids() == []
    assert FlaggedLines(h.dir).scan_ids() == [] and FlaggedLines(h.dir).pending_scan_ids() == []
    monkeypatch.undo()
    r = run_scan([p], site_config, as_of=AS_OF, db_url=db_url)   # the re-run lands whole
    after = counts(db_url)
    assert r.flags_created > 0 and after["flags"] == r.flags_created
    assert after["quarantined_rows"] == r.quarantined


def test_rescanning_a_file_keeps_one_copy_of_its_quarantined_rows(db_url, tmp_path, site_config):
    p = export(tmp_path / "o.csv")
    first = run_scan([p], site_config, as_of=AS_OF, db_url=db_url)
    second = run_scan([p], site_config, as_of=AS_OF, db_url=db_url)
    assert first.quarantined == second.quarantined > 0
    assert counts(db_url)["quarantined_rows"] == first.quarantined
    with Store.open(db_url) as s:   # the rows now belong to the latest scan that saw them
        assert s.quarantine_frame(second.scan_id).height == second.quarantined


def test_dead_scans_are_marked_interrupted_and_listed(db_url, tmp_path, site_config, capsys):
    with Store.open(db_url) as s:
        dead = s.begin_scan(["gone.csv"], AS_OF)
        with s.engine.begin() as c:   # a process of this host that no longer exists
            c.execute(Scan.__table__.update().where(Scan.__table__.c.id == dead)
                      .values(owner=f"{scan_log.owner_id().rpartition(':')[0]}:{2**22 + 12345}"))
        stale = s.begin_scan(["far.csv"], AS_OF)
        with s.engine.begin() as c:   # another host, silent for longer than the lease
            c.execute(Scan.__table__.update().where(Scan.__table__.c.id == stale)
                      .values(owner="elsewhere:1", heartbeat_at=datetime(2026, 1, 1)))
        alive = s.begin_scan(["live.csv"], AS_OF)
    assert main(["scans", "--db", db_url]) == 0
    out = capsys.readouterr().out
    with Store.open(db_url) as s:
        status = {r["id"]: r["status"] for r in s.recent_scans(10)}
    assert status == {dead: "interrupted", stale: "interrupted", alive: "running"}
    assert "interrupted" in out and "gone.csv" in out


def test_staged_partitions_are_settled_on_start(db_url, tmp_path, site_config):
    h = History(history_dir_for(db_url, site_config))
    df = pl.DataFrame({"order_id": ["A"], "store_id": ["S"], "line_no": [1], "source": ["t"], "sku": ["K"],
                       "quantity": [1.0], "created_at": [AS_OF]})
    with Store.open(db_url) as s:
        done, failed, running = (s.begin_scan([], AS_OF) for _ in range(3))
        lines = FlaggedLines(h.dir)
        for sid in (done, failed, running):
            h.stage(sid, df)
            lines.stage(sid, df)
        s.finish_scan(done, lines_read=1, lines_accepted=1, lines_quarantined=0, lines_new=1, flags_new=0)
        s.finish_scan(failed, lines_read=1, lines_accepted=1, lines_quarantined=0, lines_new=0, flags_new=0,
                      status="failed", error="x")
        orphan = s.begin_scan([], AS_OF)
        h.append(orphan, df)
        s.finish_scan(orphan, lines_read=0, lines_accepted=0, lines_quarantined=0, lines_new=0, flags_new=0,
                      status="failed", error="x")
        out = recover(s, h)
    assert out == {"promoted": [done], "discarded": [failed], "removed": [orphan]}
    assert h.partition_scan_ids() == [done] and h.pending_scan_ids() == [running]
    assert os.path.exists(h._partition(done))
    assert lines.scan_ids() == [done] and lines.pending_scan_ids() == [running]   # its flagged lines alike


def test_a_scan_whose_lease_was_taken_does_not_land(db_url, tmp_path, site_config, monkeypatch):
    """Marked interrupted by another process mid-way (a heartbeat too old): its commit is refused."""
    p = export(tmp_path / "o.csv")
    before = counts(db_url)
    real = Store.heartbeat

    def meanwhile(self, scan_id):
        real(self, scan_id)
        other = Store.open(db_url)   # another process with a short lease, as if this one hung
        with other.engine.begin() as c:
            c.execute(Scan.__table__.update().where(Scan.__table__.c.id == scan_id)
                      .values(status="interrupted"))
        other.close()

    monkeypatch.setattr(Store, "heartbeat", meanwhile)
    with pytest.raises(scan_log.LeaseLost):
        run_scan([p], site_config, as_of=AS_OF, db_url=db_url)
    assert counts(db_url) == before
    with Store.open(db_url) as s:
        assert s.recent_scans(1)[0]["status"] == "interrupted"


def test_nul_bytes_in_rejected_raw_rows_are_stored_escaped(db_url, tmp_path, site_config):
    p = tmp_path / "nul.csv"
    p.write_bytes(",".join(HEADER).encode() + b"\nX1,MD1,2026/09/22 13:00\x00,ragged\n")
    r = run_scan([p], site_config, as_of=AS_OF, db_url=db_url)
    assert r.quarantined == 1
    with Store.open(db_url) as s:
        (raw,) = s.quarantine_frame(r.scan_id)["raw"].to_list()
    assert "\\x00" in raw and "\x00" not in raw
