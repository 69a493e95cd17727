"""APScheduler 3 with a persistent job store on the orderwatch database.

Jobs and schedules come from ``jobs.schedules`` (and one ``pull:<name>`` per ``jobs.pulls``
entry): ``every_minutes`` -> IntervalTrigger, ``cron`` -> ``CronTrigger.from_crontab`` in the
configured timezone.  They are kept in an ``SQLAlchemyJobStore`` (table ``apscheduler_jobs``)
so a restarted worker knows when each job is next due and runs what it missed (once:
``coalesce``, within ``misfire_grace_time``).  What the store keeps for each job is a
reference to the module-level ``execute(name)`` below, never a closure.

Several processes may run a scheduler on the same store (``orderwatch worker`` and every
gunicorn worker of ``orderwatch serve`` with ``jobs.in_serve``): APScheduler itself does not
coordinate them, so ``execute`` runs the job through ``registry.run_job`` under the job's
lease (one runner at a time), and skips a fire time another scheduler already served
(``min_gap_seconds``: half the shortest distance between two fire times, at most an hour).
Job definitions are written to the store by ``sync_jobs`` under a lease of its own, so
workers starting together don't race to create the table or the rows.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from contracts.config import Config, ConfigError
from jobs.lease import Lease
from jobs.registry import UnknownJob, run_job, schedules

log = logging.getLogger("orderwatch.jobs")

JOBSTORE_TABLE = "apscheduler_jobs"
EXECUTE_REF = "jobs.scheduler:execute"
SYNC_LEASE = "_scheduler_sync"
#: a daily/weekly/monthly job missed while no scheduler ran still runs this late (once)
CRON_MISFIRE_GRACE_SECONDS = 6 * 3600
MAX_MIN_GAP_SECONDS = 3600

# the process's configuration and engine, for ``execute`` (set by build_scheduler)
_runtime: dict[str, Any] = {}
_background: BackgroundScheduler | None = None
_background_lock = threading.Lock()


# -- triggers ------------------------------------------------------------------------------------
def build_trigger(name: str, spec: dict[str, Any], tz: ZoneInfo) -> BaseTrigger:
    """The trigger of one ``jobs.schedules`` entry."""
    if spec.get("cron"):
        try:
            return CronTrigger.from_crontab(str(spec["cron"]), timezone=tz)
        except ValueError as exc:
            raise ConfigError(f"jobs.schedules.{name}.cron: {exc}") from None
    try:
        minutes = float(spec["every_minutes"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"jobs.schedules.{name}: every_minutes must be a number") from None
    if minutes <= 0:
        raise ConfigError(f"jobs.schedules.{name}: every_minutes must be positive")
    return IntervalTrigger(minutes=minutes, timezone=tz)


def _fire_times(trigger: BaseTrigger, tz: ZoneInfo, n: int = 12) -> list[datetime]:
    out: list[datetime] = []
    prev, now = None, datetime.now(tz)
    for _ in range(n):
        nxt = trigger.get_next_fire_time(prev, now if prev is None else prev)
        if nxt is None:
            break
        out.append(nxt)
        prev = nxt
        now = nxt + timedelta(microseconds=1)
    return out


def min_gap_seconds(trigger: BaseTrigger, tz: ZoneInfo) -> float:
    """Half the shortest distance between upcoming fire times (at most an hour)."""
    if isinstance(trigger, IntervalTrigger):
        return min(trigger.interval_length / 2, MAX_MIN_GAP_SECONDS)
    times = _fire_times(trigger, tz)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    return min(min(gaps) / 2 if gaps else 30.0, MAX_MIN_GAP_SECONDS)


def misfire_grace_seconds(trigger: BaseTrigger, config: Config) -> int:
    if isinstance(trigger, IntervalTrigger):
        return int(max(60, trigger.interval_length))
    return int(config.get("jobs.misfire_grace_seconds") or CRON_MISFIRE_GRACE_SECONDS)


def _signature(trigger: BaseTrigger) -> str:
    return f"{trigger}|{getattr(trigger, 'timezone', '')}"


def planned(config: Config) -> dict[str, tuple[dict[str, Any], BaseTrigger]]:
    """Every configured job -> (its schedule entry, its trigger)."""
    tz = ZoneInfo(config.timezone)
    return {name: (spec, build_trigger(name, spec, tz)) for name, spec in schedules(config).items()}


def describe(spec: dict[str, Any]) -> str:
    if spec.get("cron"):
        return f"cron {spec['cron']}"
    minutes = float(spec["every_minutes"])
    return f"every {minutes:g} min"


# -- what the job store calls --------------------------------------------------------------------
def _runtime_config_engine() -> tuple[Config, Engine]:
    if "config" not in _runtime:
        from contracts.config import load_config

        _runtime["config"] = load_config()
    if "engine" not in _runtime:
        from store import Store

        _runtime["engine"] = Store.open(_runtime["config"].database_url).engine
    return _runtime["config"], _runtime["engine"]


def execute(name: str) -> str:
    """Run job ``name`` as the scheduler does: under its lease, once per fire time."""
    config, engine = _runtime_config_engine()
    tz = ZoneInfo(config.timezone)
    try:
        spec = schedules(config).get(name)
        gap = min_gap_seconds(build_trigger(name, spec, tz), tz) if spec else None
        result = run_job(name, config=config, engine=engine, min_gap_seconds=gap)
    except UnknownJob:
        log.warning("job %s: no longer configured; not run", name)
        return "unknown"
    return result.status


# -- the job store ---------------------------------------------------------------------------------
def jobstore(engine: Engine) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)


class _StoreOnly(BaseScheduler):
    """A scheduler that never runs jobs: to read and edit the job store.

    Why not a paused BackgroundScheduler: its thread, woken by ``shutdown``, processes due
    jobs once on the way out (the state is then "stopped", not "paused"): it would advance a
    missed job's next run time, losing the run the real scheduler should catch up on.
    """

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass


@contextmanager
def store_only(engine: Engine, tz: ZoneInfo) -> Iterator[BaseScheduler]:
    """The persistent job store through a scheduler that runs nothing (started, paused)."""
    sched = _StoreOnly(jobstores={"default": jobstore(engine)}, timezone=tz)
    sched.start(paused=True)
    try:
        yield sched
    finally:
        sched.shutdown(wait=False)


def sync_jobs(config: Config, engine: Engine, wait_seconds: float = 60) -> list[str]:
    """Write the configured jobs into the persistent store; returns their names.

    ``replace_existing=True`` keeps definitions current; a job whose trigger is unchanged
    keeps its stored next run time (so a restart does not forget a due or missed run), and
    stored jobs no longer configured are removed.  Runs under a lease: concurrent starts queue.
    """
    jobs = planned(config)  # ConfigError before touching anything
    lease = Lease(engine, SYNC_LEASE, seconds=120)
    deadline = time.monotonic() + wait_seconds
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError("another process keeps the scheduler's job store busy")
        time.sleep(0.2)
    tz = ZoneInfo(config.timezone)
    try:
        with store_only(engine, tz) as sched:
            _sync(sched, jobs, config)
    finally:
        lease.release()
    return list(jobs)


def _sync(sched: BaseScheduler, jobs: dict[str, tuple[dict[str, Any], BaseTrigger]], config: Config) -> None:
    existing = {j.id: j for j in sched.get_jobs()}
    for name, (spec, trigger) in jobs.items():
        kwargs: dict[str, Any] = dict(
            id=name, name=name, args=[name], trigger=trigger, replace_existing=True,
            coalesce=True, max_instances=1, misfire_grace_time=misfire_grace_seconds(trigger, config),
        )
        old = existing.get(name)
        if old is not None and _signature(old.trigger) == _signature(trigger):
            kwargs["next_run_time"] = old.next_run_time   # None = paused by someone: stays paused
        sched.add_job(EXECUTE_REF, **kwargs)
    for job_id in set(existing) - set(jobs):
        sched.remove_job(job_id)
        log.info("job %s: removed from the job store (no longer configured)", job_id)


def _on_missed(event: JobExecutionEvent) -> None:
    log.warning("job %s: missed its run at %s (misfire grace passed)", event.job_id, event.scheduled_run_time)


def build_scheduler(config: Config, engine: Engine, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler (not started) on the persistent store, with the configured jobs synced in."""
    names = sync_jobs(config, engine)
    _runtime.update(config=config, engine=engine)
    cls = BlockingScheduler if blocking else BackgroundScheduler
    sched = cls(
        jobstores={"default": jobstore(engine)},
        executors={"default": ThreadPoolExecutor(max_workers=max(2, min(8, len(names))))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=ZoneInfo(config.timezone),
    )
    sched.add_listener(_on_missed, EVENT_JOB_MISSED)
    return sched


def start_background(config: Config, engine: Engine | None = None) -> BackgroundScheduler:
    """Start this process's background scheduler (once; later calls return the running one)."""
    global _background
    with _background_lock:
        if _background is not None and _background.running:
            return _background
        if engine is None:
            from store import Store

            engine = Store.open(config.database_url).engine
        sched = build_scheduler(config, engine)
        assert isinstance(sched, BackgroundScheduler)
        sched.start()
        atexit.register(_stop, sched)
        _background = sched
        log.info("scheduler started in process (jobs: %s)", ", ".join(j.id for j in sched.get_jobs()))
        return sched


def _stop(sched: BaseScheduler) -> None:
    if sched.running:
        sched.shutdown(wait=False)


def next_run_times(engine: Engine) -> dict[str, datetime | None]:
    """Each stored job's next run time (aware, UTC) straight from the job store's table."""
    from datetime import timezone

    from sqlalchemy import inspect, text

    if JOBSTORE_TABLE not in inspect(engine).get_table_names():
        return {}
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOBSTORE_TABLE}")).all()
    return {r.id: (datetime.fromtimestamp(r.next_run_time, timezone.utc) if r.next_run_time is not None else None)
            for r in rows}


__all__ = ["EXECUTE_REF", "JOBSTORE_TABLE", "build_scheduler", "build_trigger", "describe", "execute",
           "jobstore", "min_gap_seconds", "next_run_times", "planned", "start_background", "store_only",
           "sync_jobs"]
