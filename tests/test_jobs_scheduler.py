"""The scheduler: configured jobs with the right triggers in the persistent job store, kept
across restarts; a real background scheduler firing a job; run_job's records and outcomes;
the `worker`/`jobs` command line."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from contracts.config import ConfigError
from jobs import registry
from jobs.registry import register, run_job, unregister
from jobs.scheduler import (
    EXECUTE_REF,
    JOBSTORE_TABLE,
    build_scheduler,
    build_trigger,
    execute,
    min_gap_seconds,
    next_run_times,
    store_only,
    sync_jobs,
)
from jobs.state import get_state
from store import Store, make_engine
from tests.test_jobs_fixtures import any_db_url, jobs_config  # noqa: F401  (fixtures)

TZ = ZoneInfo("Asia/Shanghai")
SHIPPED = ("inbox", "reevaluate", "escalate", "notify", "store_digest", "weekly_report", "monthly_report")
PULL = {"name": "erp", "url": "sqlite://", "query": "SELECT 1 AS x WHERE 1 > :watermark",
        "watermark_column": "x", "every_minutes": 7}


def stored_jobs(engine):
    """The jobs as a fresh scheduler process would load them from the store."""
    with store_only(engine, TZ) as sched:
        return {j.id: j for j in sched.get_jobs()}


def test_configured_jobs_are_persisted_with_their_triggers(any_db_url: str, tmp_path: Path) -> None:  # noqa: F811
    config = jobs_config(tmp_path, any_db_url, jobs={"pulls": [PULL]})
    store = Store.open(any_db_url)
    try:
        names = sync_jobs(config, store.engine)
        assert set(names) == {*SHIPPED, "pull:erp"}
        assert JOBSTORE_TABLE in inspect(store.engine).get_table_names()
        jobs = stored_jobs(store.engine)
        assert set(jobs) == set(names)
        for name, job in jobs.items():
            assert job.func_ref == EXECUTE_REF and job.args == (name,)   # by reference, the name as argument
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
        def interval(name: str) -> float:
            t = jobs[name].trigger
            assert isinstance(t, IntervalTrigger)
            return t.interval_length
        assert interval("inbox") == 60 and interval("escalate") == 60 and interval("notify") == 60
        assert interval("reevaluate") == 300 and interval("pull:erp") == 420

        def cron(name: str) -> dict[str, str]:
            t = jobs[name].trigger
            assert isinstance(t, CronTrigger) and str(t.timezone) == "Asia/Shanghai"
            return {f.name: str(f) for f in t.fields}
        assert cron("store_digest")["hour"] == "8" and cron("store_digest")["minute"] == "0"
        assert cron("store_digest")["day_of_week"] == "*"
        assert cron("weekly_report")["day_of_week"] == "mon" and cron("weekly_report")["hour"] == "8"
        assert cron("monthly_report")["day"] == "1" and cron("monthly_report")["hour"] == "8"
        nxt = jobs["store_digest"].next_run_time.astimezone(TZ)
        assert (nxt.hour, nxt.minute) == (8, 0)
        assert jobs["weekly_report"].next_run_time.astimezone(TZ).weekday() == 0
        assert jobs["monthly_report"].next_run_time.astimezone(TZ).day == 1
        assert set(next_run_times(store.engine)) == set(names)
    finally:
        store.close()


def test_restart_keeps_due_times_replaces_changed_and_drops_removed(tmp_path: Path) -> None:
    config = jobs_config(tmp_path, jobs={"pulls": [PULL]})
    store = Store.open(config.database_url)
    try:
        sync_jobs(config, store.engine)
        # pretend the worker was down when these were due: the stored times are in the past
        missed = datetime.now(TZ).replace(microsecond=0) - timedelta(hours=1)
        with store_only(store.engine, TZ) as sched:
            sched.modify_job("store_digest", next_run_time=missed)
            sched.modify_job("inbox", next_run_time=missed)

        changed = jobs_config(tmp_path, jobs={"schedules": {"inbox": {"every_minutes": 2}}})   # pull removed
        sync_jobs(changed, store.engine)
        jobs = stored_jobs(store.engine)
        assert "pull:erp" not in jobs
        assert jobs["store_digest"].next_run_time == missed            # unchanged trigger: still due
        assert jobs["inbox"].trigger.interval_length == 120           # changed trigger: replaced ...
        assert jobs["inbox"].next_run_time > datetime.now(TZ)         # ... and rescheduled
    finally:
        store.close()


def test_bad_schedules_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cron"):
        build_trigger("x", {"cron": "61 8 * * *"}, TZ)
    with pytest.raises(ConfigError, match="every_minutes"):
        build_trigger("x", {"every_minutes": 0}, TZ)
    with pytest.raises(ConfigError, match="expected"):
        registry.schedules(jobs_config(tmp_path, jobs={"schedules": {"x": {"hourly": True}}}))
    with pytest.raises(ConfigError, match="url"):
        registry.schedules(jobs_config(tmp_path, jobs={"pulls": [{"name": "a", "query": "q"}]}))


def test_min_gap_is_half_the_shortest_distance_between_fire_times() -> None:
    assert min_gap_seconds(build_trigger("a", {"every_minutes": 1}, TZ), TZ) == 30
    assert min_gap_seconds(build_trigger("a", {"cron": "0 8,9 * * *"}, TZ), TZ) == 1800
    assert min_gap_seconds(build_trigger("a", {"cron": "0 8 * * *"}, TZ), TZ) == 3600   # capped


def test_background_scheduler_fires_the_job_once(tmp_path: Path) -> None:
    off = {name: None for name in SHIPPED}
    config = jobs_config(tmp_path, jobs={"schedules": {**off, "tick": {"every_minutes": 1}}})
    store = Store.open(config.database_url)
    calls: list[str] = []
    register("tick", lambda ctx: calls.append(ctx.name) or f"tick {len(calls)}")
    try:
        sched = build_scheduler(config, store.engine)
        sched.start()
        try:
            sched.modify_job("tick", next_run_time=datetime.now(TZ))     # due now
            deadline = time.monotonic() + 20
            while get_state(store.engine, "tick").get("last_status") != "ok" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            sched.shutdown(wait=True)
        st = get_state(store.engine, "tick")
        assert calls == ["tick"] and st["last_summary"] == "tick 1" and st["last_scheduled_at"]
        # a second scheduler sharing the store that also saw this fire time due does not rerun it
        assert execute("tick") == "skipped"
        assert calls == ["tick"]
        # the job was rescheduled a minute on in the persistent store
        nxt = next_run_times(store.engine)["tick"]
        assert nxt is not None and nxt > datetime.now(timezone.utc) + timedelta(seconds=30)
        # a manual run is not subject to the scheduler's once-per-fire-time rule
        assert run_job("tick", config=config, engine=store.engine).ok and calls == ["tick", "tick"]
    finally:
        unregister("tick")
        store.close()


def test_missing_job_module_reports_not_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.LAZY_MODULES, "ghost", "jobs.ghost_not_written_yet")
    config = jobs_config(tmp_path, jobs={"schedules": {"ghost": {"every_minutes": 5}}})
    store = Store.open(config.database_url)
    try:
        r = run_job("ghost", config=config, engine=store.engine)
        assert r.status == "unavailable" and "not available" in r.summary
        assert get_state(store.engine, "ghost")["last_status"] == "unavailable"
        assert execute.__module__ == "jobs.scheduler"
        with pytest.raises(registry.UnknownJob):
            run_job("no_such_job", config=config, engine=store.engine)
    finally:
        store.close()


def test_failing_job_is_recorded_and_does_not_raise(tmp_path: Path) -> None:
    config = jobs_config(tmp_path)
    store = Store.open(config.database_url)

    def boom(ctx):  # noqa: ANN001
        raise RuntimeError("disk full")

    register("boom", boom)
    try:
        r = run_job("boom", config=config, engine=store.engine)
        assert r.status == "error" and r.error == "RuntimeError: disk full"
        st = get_state(store.engine, "boom")
        assert st["last_status"] == "error" and "disk full" in st["last_traceback"]
        register("boom", lambda ctx: "fine again")
        assert run_job("boom", config=config, engine=store.engine).ok
        st = get_state(store.engine, "boom")
        assert st["last_error"] is None and "last_traceback" not in st
    finally:
        unregister("boom")
        store.close()


def test_cli_jobs_list_and_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from orderwatch.cli import main

    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance"),
                                    "jobs": {"schedules": {"ghost": {"every_minutes": 3}}}}), encoding="utf-8")
    assert main(["--config", str(site), "jobs", "run", "inbox"]) == 0
    assert "0 processed" in capsys.readouterr().out
    assert main(["--config", str(site), "jobs", "run", "ghost"]) == 1      # jobs/ghost.py doesn't exist
    assert "not available" in capsys.readouterr().err
    assert main(["--config", str(site), "jobs", "run", "nope"]) == 1
    assert main(["--config", str(site), "jobs", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert {*SHIPPED, "ghost"} <= set(lines)
    assert "every 1 min" in lines["inbox"] and "ok" in lines["inbox"] and "0 processed" in lines["inbox"]
    assert "cron 0 8 * * mon" in lines["weekly_report"]
    assert "not available" in lines["ghost"]


def test_worker_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    p = subprocess.Popen([sys.executable, "-m", "orderwatch.cli", "--config", str(site), "worker"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        started = False
        engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'orderwatch.db'}")   # reads only
        try:
            while time.monotonic() < deadline and not started:
                time.sleep(0.2)
                try:
                    started = len(next_run_times(engine)) == len(SHIPPED)
                except Exception:  # noqa: BLE001 - the worker is still creating the database
                    pass
        finally:
            engine.dispose()
        assert started, "the worker never wrote its jobs to the store"
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, out
    assert "stopping" in out and "Traceback" not in out
