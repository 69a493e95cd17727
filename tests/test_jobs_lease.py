"""The one-runner lease: semantics of the conditional upsert, and two real processes racing
for the same job on SQLite and on PostgreSQL (runs never overlap)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jobs.lease import Lease, holder
from jobs.registry import register, run_job, unregister
from store import Store
from tests.test_jobs_fixtures import any_db_url, jobs_config  # noqa: F401  (fixtures)

T0 = datetime(2026, 11, 30, 8, 0, 0)


@pytest.fixture
def engine(any_db_url: str):  # noqa: F811
    store = Store.open(any_db_url)
    yield store.engine
    store.close()


def test_acquire_free_held_expired_and_own(engine) -> None:
    a = Lease(engine, "inbox", "A", seconds=60)
    b = Lease(engine, "inbox", "B", seconds=60)
    assert a.acquire(T0) is True                                   # absent -> ours
    assert b.acquire(T0 + timedelta(seconds=30)) is False          # live, someone else's
    assert holder(engine, "inbox") == ("A", T0 + timedelta(seconds=60))
    assert a.acquire(T0 + timedelta(seconds=40)) is True           # ours: renewed
    assert holder(engine, "inbox") == ("A", T0 + timedelta(seconds=100))
    assert b.acquire(T0 + timedelta(seconds=99)) is False
    assert b.acquire(T0 + timedelta(seconds=101)) is True          # expired: taken over
    assert holder(engine, "inbox")[0] == "B"
    assert a.renew(T0 + timedelta(seconds=102)) is False and not a.held   # A lost it
    a.release()                                                    # not ours: no effect
    assert holder(engine, "inbox")[0] == "B"
    b.release()
    assert holder(engine, "inbox") is None
    assert a.acquire(T0 + timedelta(seconds=103)) is True          # free again


def test_leases_are_per_job(engine) -> None:
    assert Lease(engine, "inbox", "A", 60).acquire(T0)
    assert Lease(engine, "notify", "B", 60).acquire(T0)


def test_keepalive_renews_a_long_run(engine) -> None:
    lease = Lease(engine, "long", "A", seconds=0.6)
    assert lease.acquire()
    lease.keepalive(every=0.1)
    time.sleep(1.2)                                                # twice the lease length
    assert Lease(engine, "long", "B", 0.6).acquire() is False
    lease.release()
    assert Lease(engine, "long", "B", 0.6).acquire() is True


# -- two processes ---------------------------------------------------------------------------------
def _sleepy(log_path: str, ctx) -> str:  # noqa: ANN001 - a job function
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(f"start {os.getpid()} {time.time():.6f}\n")
    time.sleep(0.4)
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(f"end {os.getpid()} {time.time():.6f}\n")
    return "slept"


def _contender(db_url: str, instance_dir: str, log_path: str, seconds: float, go, out) -> None:  # noqa: ANN001
    """A separate process: its own engine and registry, trying to run the job for ``seconds``."""
    import functools

    from contracts.config import load_config

    config = load_config(overrides={"instance_dir": instance_dir, "database": {"url": db_url},
                                    "jobs": {"lease_seconds": 30}})
    register("sleepy", functools.partial(_sleepy, log_path))
    store = Store.open(db_url)
    statuses = []
    try:
        go.wait(30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            statuses.append(run_job("sleepy", config=config, engine=store.engine).status)
            time.sleep(0.005)
    finally:
        store.close()
    out.put((os.getpid(), statuses))


def test_two_processes_never_run_the_same_job_at_once(any_db_url: str, tmp_path: Path) -> None:  # noqa: F811
    Store.open(any_db_url).close()                    # migrate before the race
    log_path = tmp_path / "runs.log"
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_contender, args=(any_db_url, str(tmp_path / "instance"), str(log_path),
                                                  3.0, go, out)) for _ in range(2)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    go.set()                                          # both start trying at the same moment
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0

    # the first attempts were simultaneous: exactly one ran, the other found the lease taken
    firsts = sorted(statuses[0] for statuses in results.values())
    assert firsts == ["ok", "skipped"]
    assert all(set(s) <= {"ok", "skipped"} for s in results.values())
    oks = sum(s.count("ok") for s in results.values())

    # every run is a start/end pair of one process, and runs never overlap
    events = [line.split() for line in log_path.read_text().splitlines()]
    runs = []
    open_run: tuple[str, float] | None = None
    for kind, pid, at in events:
        if kind == "start":
            assert open_run is None, f"run by {pid} started while {open_run} was running"
            open_run = (pid, float(at))
        else:
            assert open_run is not None and open_run[0] == pid
            runs.append((pid, open_run[1], float(at)))
            open_run = None
    assert open_run is None
    assert len(runs) == oks >= 3
    for (_, _, end), (_, start, _) in zip(runs, runs[1:]):
        assert start >= end
    # the lease really passed between processes, not one process running alone
    assert len({pid for pid, _, _ in runs}) == 2


def test_run_job_records_state_and_skips_when_leased(tmp_path: Path) -> None:
    config = jobs_config(tmp_path)
    store = Store.open(config.database_url)
    try:
        register("hello", lambda ctx: f"hello at {ctx.now:%H:%M}")
        held = Lease(store.engine, "hello", "someone-else", 60)
        assert held.acquire()
        r = run_job("hello", config=config, engine=store.engine)
        assert r.status == "skipped"
        held.release()
        r = run_job("hello", datetime(2026, 11, 30, 9, 15), config=config, engine=store.engine)
        assert r.ok and r.summary == "hello at 09:15"
        from jobs.state import get_state
        st = get_state(store.engine, "hello")
        assert st["last_status"] == "ok" and st["last_summary"] == "hello at 09:15"
        assert st["last_started_at"] == "2026-11-30 01:15:00"      # naive UTC (Asia/Shanghai is +8)
        assert holder(store.engine, "hello") is None                # released after the run
    finally:
        unregister("hello")
        store.close()
