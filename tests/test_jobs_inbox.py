"""The drop folder: complete files are scanned and filed with their result, files still being
written wait until they settle, unreadable files go to failed/ with the reason."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.registry import run_job
from jobs.state import get_state
from store import Scan, Store
from tests.test_jobs_fixtures import jobs_config

HEADER = ["订单编号", "门店编号", "下单时间", "商品编码", "订购数量", "单价"]


def order_csv(n_orders: int = 6, prefix: str = "A") -> str:
    start = datetime(2026, 11, 20, 10, 0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for i in range(n_orders):
        at = start + timedelta(hours=i)
        for sku, qty in (("SP1", 12), ("SP2", 6)):
            w.writerow([f"{prefix}{i:03d}", f"MD{i % 3}", f"{at:%Y-%m-%d %H:%M}", sku, qty, "10.00"])
    return buf.getvalue()


def _now(offset: float = 0.0) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=offset)


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def env(tmp_path: Path):
    config = jobs_config(tmp_path, jobs={"inbox": {"dir": "{instance_dir}/inbox", "settle_seconds": 10}})
    store = Store.open(config.database_url)
    inbox = tmp_path / "instance" / "inbox"
    inbox.mkdir(parents=True)
    yield config, store, inbox
    store.close()


def test_complete_file_is_scanned_and_moved_with_its_result(env) -> None:
    config, store, inbox = env
    f = inbox / "orders_1120.csv"
    f.write_text(order_csv(), encoding="utf-8")
    _age(f, 60)
    r = run_job("inbox", config=config, engine=store.engine)
    assert r.ok, r.error
    assert r.summary.startswith("1 processed (12 lines), 0 failed")
    assert not f.exists()
    moved = inbox / "processed" / "orders_1120.csv"
    assert moved.read_text(encoding="utf-8") == order_csv()
    result = json.loads((inbox / "processed" / "orders_1120.csv.result.json").read_text(encoding="utf-8"))
    assert result["read"] == 12 and result["accepted"] == 12 and result["quarantined"] == 0
    assert result["reconciled"] is True
    with store.engine.connect() as c:
        scan = c.execute(select(Scan).where(Scan.id == result["scan_id"])).one()
    assert scan.status == "done" and scan.lines_read == 12 and scan.files == [str(f)]

    # the same name dropped again is filed beside the first, not over it
    f.write_text(order_csv(), encoding="utf-8")
    _age(f, 60)
    assert run_job("inbox", config=config, engine=store.engine).ok
    again = [p.name for p in (inbox / "processed").iterdir() if p.name.endswith("-orders_1120.csv")]
    assert len(again) == 1 and (inbox / "processed" / f"{again[0]}.result.json").exists()
    assert json.loads((inbox / "processed" / f"{again[0]}.result.json").read_text())["new_lines"] == 0


def test_growing_file_waits_until_it_settles(env) -> None:
    config, store, inbox = env
    text = order_csv(n_orders=10)
    half = len(text) // 2
    f = inbox / "big_export.csv"
    f.write_text(text[:half], encoding="utf-8")          # the copy has started...
    r = run_job("inbox", _now(), config=config, engine=store.engine)
    assert r.ok and "0 processed" in r.summary and "1 waiting" in r.summary
    assert f.exists()
    obs = get_state(store.engine, "inbox")["observed"]["big_export.csv"]
    assert obs["size"] == len(text[:half].encode())

    with f.open("a", encoding="utf-8") as out:           # ... and goes on
        out.write(text[half:])
    r = run_job("inbox", _now(5), config=config, engine=store.engine)
    assert "0 processed" in r.summary and f.exists()      # it changed since the last look

    # even with an old mtime (cp -p), a file that changed since the last look is not read
    os.truncate(f, len(text.encode()) - 1)
    _age(f, 3600)
    r = run_job("inbox", _now(8), config=config, engine=store.engine)
    assert "0 processed" in r.summary and f.exists()
    f.write_text(text, encoding="utf-8")
    _age(f, 3600)
    r = run_job("inbox", _now(9), config=config, engine=store.engine)
    assert "0 processed" in r.summary                    # changed again since the look at +8s

    # unchanged since the look at +9s, and its mtime is an hour old: settled
    r = run_job("inbox", _now(15), config=config, engine=store.engine)
    assert r.summary.startswith("1 processed (20 lines)"), r.summary
    assert not f.exists() and (inbox / "processed" / "big_export.csv").exists()
    assert "big_export.csv" not in get_state(store.engine, "inbox")["observed"]


def test_unchanged_file_settles_by_observation_even_if_its_mtime_is_recent(env) -> None:
    config, store, inbox = env
    f = inbox / "clock_skew.csv"
    f.write_text(order_csv(2), encoding="utf-8")
    future = time.time() + 3600                           # a share whose clock runs ahead
    os.utime(f, (future, future))
    assert "1 waiting" in run_job("inbox", _now(), config=config, engine=store.engine).summary
    assert "1 waiting" in run_job("inbox", _now(5), config=config, engine=store.engine).summary
    r = run_job("inbox", _now(11), config=config, engine=store.engine)
    assert r.summary.startswith("1 processed (4 lines)"), r.summary


def test_in_progress_and_hidden_files_are_never_read(env) -> None:
    config, store, inbox = env
    for name in (".orders.csv", "orders.csv.part", "orders.csv.tmp", "upload.crdownload"):
        (inbox / name).write_text(order_csv(1), encoding="utf-8")
        _age(inbox / name, 3600)
    (inbox / "sub").mkdir()
    (inbox / "sub" / "x.csv").write_text(order_csv(1), encoding="utf-8")
    r = run_job("inbox", config=config, engine=store.engine)
    assert r.summary == "0 processed (0 lines), 0 failed"
    assert sorted(p.name for p in inbox.iterdir()) == sorted(
        [".orders.csv", "orders.csv.part", "orders.csv.tmp", "upload.crdownload", "sub"])


def test_bad_file_goes_to_failed_with_the_reason(env) -> None:
    config, store, inbox = env
    bad = inbox / "broken.xlsx"
    bad.write_bytes(b"this is not a spreadsheet")
    odd = inbox / "notes.docx"
    odd.write_text("hello", encoding="utf-8")
    good = inbox / "good.csv"
    good.write_text(order_csv(3), encoding="utf-8")
    for p in (bad, odd, good):
        _age(p, 60)
    r = run_job("inbox", config=config, engine=store.engine)
    assert r.ok and r.summary.startswith("1 processed (6 lines), 2 failed"), r.summary
    failed = inbox / "failed"
    assert (failed / "broken.xlsx").read_bytes() == b"this is not a spreadsheet"
    reason = (failed / "broken.xlsx.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("IngestError: ") and "broken.xlsx" in reason
    assert "IngestError" in (failed / "notes.docx.reason.txt").read_text(encoding="utf-8")
    assert (inbox / "processed" / "good.csv").exists()
    assert sorted(p.name for p in inbox.iterdir()) == ["failed", "processed"]


def test_a_problem_that_is_not_the_files_fault_leaves_the_file_for_a_retry(env, tmp_path: Path) -> None:
    _, store, inbox = env
    rules = tmp_path / "bad_rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    config = jobs_config(tmp_path, rules_dir=str(rules), jobs={"inbox": {"settle_seconds": 10}})
    f = inbox / "orders.csv"
    f.write_text(order_csv(2), encoding="utf-8")
    _age(f, 60)
    r = run_job("inbox", config=config, engine=store.engine)
    assert r.status == "error" and "RulesInvalid" in r.error
    assert f.exists() and not (inbox / "failed").exists()
    with store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Scan)).scalar_one() == 0
