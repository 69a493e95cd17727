"""Job names -> functions, and ``run_job``: one run of one job under its lease, recorded.

A job is a function ``(ctx: JobContext) -> str`` returning a one-line summary.  Built in:
``inbox`` (``jobs.inbox``) and one ``pull:<name>`` per ``jobs.pulls`` entry (``jobs.pull``).
The alerting and report jobs are looked up lazily, by module, when they run::

    reevaluate -> jobs.reevaluate.run    escalate -> jobs.escalate.run    notify -> jobs.notify.run
    store_digest -> jobs.digests.run     weekly_report, monthly_report -> jobs.reports.run

(``ctx.name`` tells ``jobs.reports.run`` which report is due).  Any other name configured in
``jobs.schedules`` is looked up as ``jobs.<name>.run``.  A module that does not exist yet
makes the job report "not available" instead of failing the scheduler.

``run_job`` takes the job's lease (``jobs.lease_seconds``, renewed while the job runs), and
records in ``job_state`` under the job's name: ``last_started_at``, ``last_finished_at``
(naive UTC), ``last_status`` (ok, error, unavailable), ``last_summary``, ``last_error``
(with ``last_traceback``), ``last_seconds``, ``last_owner`` and, for scheduled runs,
``last_scheduled_at``.  A run that finds the lease held elsewhere is skipped and records nothing.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from contracts.config import Config, ConfigError
from jobs.lease import Lease, new_owner
from jobs.state import get_state, iso, parse_iso, update_state

log = logging.getLogger("orderwatch.jobs")

JobFunc = Callable[["JobContext"], Any]

#: job name -> module providing ``run(ctx)``, imported when the job runs
LAZY_MODULES: dict[str, str] = {
    "inbox": "jobs.inbox",
    "reevaluate": "jobs.reevaluate",
    "escalate": "jobs.escalate",
    "notify": "jobs.notify",
    "store_digest": "jobs.digests",
    "weekly_report": "jobs.reports",
    "monthly_report": "jobs.reports",
}

#: functions registered in this process (tests, plugins); they win over LAZY_MODULES
_REGISTERED: dict[str, JobFunc] = {}

PULL_PREFIX = "pull:"


class JobUnavailable(Exception):
    """The job's module is not installed (yet)."""


class UnknownJob(KeyError):
    """No such job in the configuration or the registry."""

    def __str__(self) -> str:
        return f"no job named {self.args[0]!r}"


@dataclass
class JobContext:
    """What a job gets: the database, the configuration and the time of this run."""

    name: str
    engine: Engine
    config: Config
    now: datetime                     # naive wall-clock time in config.timezone (like scans' as_of)
    utcnow: datetime                  # the same instant, naive UTC (audit columns, leases)
    log: logging.Logger = field(default=log)
    owner: str = ""

    @property
    def epoch(self) -> float:
        """The run's instant as a POSIX timestamp (to compare with file mtimes)."""
        return self.utcnow.replace(tzinfo=timezone.utc).timestamp()

    @property
    def db_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def state(self, name: str | None = None) -> dict[str, Any]:
        """The stored state object of ``name`` (default: this job)."""
        return get_state(self.engine, name or self.name)

    def set_state(self, name: str | None = None, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the state object of ``name`` (default: this job)."""
        return update_state(self.engine, name or self.name, **values)


@dataclass
class RunResult:
    name: str
    status: str                       # ok, error, skipped (lease held elsewhere / already ran), unavailable
    summary: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# -- which jobs exist ----------------------------------------------------------------------------
def register(name: str, func: JobFunc) -> None:
    """Make ``name`` run ``func`` in this process (overrides the lazy module lookup)."""
    _REGISTERED[name] = func


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def pull_entries(config: Config) -> dict[str, dict[str, Any]]:
    """``jobs.pulls`` by name (ConfigError for an entry without name, url or query)."""
    out: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(config.get("jobs.pulls") or []):
        if not isinstance(entry, dict):
            raise ConfigError(f"jobs.pulls[{i}]: each pull is a mapping")
        for key in ("name", "url", "query", "watermark_column"):
            if not entry.get(key):
                raise ConfigError(f"jobs.pulls[{i}]: {key} is required")
        name = str(entry["name"])
        if name in out:
            raise ConfigError(f"jobs.pulls[{i}]: the name {name!r} is used twice")
        out[name] = dict(entry)
    return out


def schedules(config: Config) -> dict[str, dict[str, Any]]:
    """Every configured job -> its schedule ({every_minutes: N} or {cron: "..."}), pulls included."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in (config.get("jobs.schedules") or {}).items():
        if spec is None:          # a site file may switch a job off with `name: null`
            continue
        if not isinstance(spec, dict) or not ({"every_minutes", "cron"} & set(spec)):
            raise ConfigError(f"jobs.schedules.{name}: expected {{every_minutes: N}} or {{cron: \"m h dom mon dow\"}}")
        out[str(name)] = dict(spec)
    for name, entry in pull_entries(config).items():
        out[PULL_PREFIX + name] = {"every_minutes": entry.get("every_minutes", 5)}
    return out


def job_names(config: Config) -> list[str]:
    return list(schedules(config))


def resolve(name: str, config: Config) -> JobFunc:
    """The function of job ``name``; JobUnavailable if its module is missing, UnknownJob if unknown."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name.startswith(PULL_PREFIX):
        entries = pull_entries(config)
        pull = name[len(PULL_PREFIX):]
        if pull not in entries:
            raise UnknownJob(name)
        from jobs.pull import run_pull

        entry = entries[pull]
        return lambda ctx: run_pull(ctx, entry)
    module_name = LAZY_MODULES.get(name)
    if module_name is None:
        if name not in (config.get("jobs.schedules") or {}) or not name.isidentifier():
            raise UnknownJob(name)
        module_name = f"jobs.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # only the job's own module missing means "not available"; a missing import inside
        # an existing module is a real error and must surface
        if exc.name in (module_name, *_parents(module_name)):
            raise JobUnavailable(f"{module_name} is not installed") from None
        raise
    func = getattr(module, "run", None)
    if not callable(func):
        raise JobUnavailable(f"{module_name} has no run(ctx)")
    return func


def _parents(module_name: str) -> list[str]:
    parts = module_name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


# -- running one job -----------------------------------------------------------------------------
def _times(config: Config, now: datetime | None) -> tuple[datetime, datetime]:
    """(local naive, UTC naive) for ``now`` (a naive local time, or aware) or the current time."""
    zone = ZoneInfo(config.timezone)
    if now is None:
        aware = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        aware = now.replace(tzinfo=zone)
    else:
        aware = now
    local = aware.astimezone(zone).replace(tzinfo=None)
    utc = aware.astimezone(timezone.utc).replace(tzinfo=None)
    return local, utc


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_job(name: str, now: datetime | None = None, *, config: Config | None = None,
            engine: Engine | None = None, min_gap_seconds: float | None = None) -> RunResult:
    """Run job ``name`` once if its lease is free; the outcome is logged and recorded.

    ``now`` is the run's time (naive = wall clock in ``config.timezone``; default: now).
    ``min_gap_seconds`` (given by the scheduler) skips the run when the job already started
    that recently: with several schedulers sharing one job store, two of them may both see
    the same fire time due; the second one then finds it already served.
    Never raises for a job's own failure (status "error"); raises UnknownJob for a bad name.
    """
    from contracts.config import load_config

    config = config or load_config()
    own_engine = engine is None
    if own_engine:
        from store import Store

        engine = Store.open(config.database_url).engine
    assert engine is not None
    try:
        return _run(name, now, config, engine, min_gap_seconds)
    finally:
        if own_engine:
            engine.dispose()


def _run(name: str, now: datetime | None, config: Config, engine: Engine,
         min_gap_seconds: float | None) -> RunResult:
    local, utc = _times(config, now)
    try:
        func = resolve(name, config)
    except JobUnavailable as exc:
        summary = f"not available ({exc})"
        log.warning("job %s: %s", name, summary)
        update_state(engine, name, last_status="unavailable", last_summary=summary, last_error=None,
                     last_started_at=iso(utc), last_finished_at=iso(utc))
        return RunResult(name, "unavailable", summary)

    owner = new_owner()
    lease = Lease(engine, name, owner, float(config.get("jobs.lease_seconds", 300)))
    if not lease.acquire(utc):
        log.info("job %s: skipped, another process holds the lease", name)
        return RunResult(name, "skipped", "another process is running it")
    t0 = time.perf_counter()
    try:
        started: dict[str, Any] = {"last_started_at": iso(utc), "last_owner": owner}
        if min_gap_seconds:
            # only scheduled runs count here: a manual `jobs run` must not eat a fire time
            last = parse_iso(get_state(engine, name).get("last_scheduled_at"))
            if last is not None and timedelta(0) <= utc - last < timedelta(seconds=min_gap_seconds):
                log.info("job %s: skipped, this fire time was served at %s UTC", name, iso(last))
                return RunResult(name, "skipped", f"already ran at {iso(last)} UTC")
            started["last_scheduled_at"] = iso(utc)
        lease.keepalive()
        update_state(engine, name, **started)
        ctx = JobContext(name=name, engine=engine, config=config, now=local, utcnow=utc, owner=owner)
        log.info("job %s: started (%s)", name, owner)
        try:
            summary = str(func(ctx) or "done")
        except Exception as exc:  # noqa: BLE001 - recorded, logged, reported; the scheduler carries on
            seconds = time.perf_counter() - t0
            log.exception("job %s: failed after %.1fs", name, seconds)
            err = _short_error(exc)
            update_state(engine, name, last_status="error", last_error=err,
                         last_traceback=traceback.format_exc(limit=20)[-4000:],
                         last_finished_at=iso(utc + timedelta(seconds=seconds)),
                         last_seconds=round(seconds, 3))
            return RunResult(name, "error", "", err, seconds)
        seconds = time.perf_counter() - t0
        log.info("job %s: %s (%.1fs)", name, summary, seconds)
        update_state(engine, name, _remove=("last_traceback",), last_status="ok", last_summary=summary,
                     last_error=None, last_finished_at=iso(utc + timedelta(seconds=seconds)),
                     last_seconds=round(seconds, 3))
        return RunResult(name, "ok", summary, None, seconds)
    finally:
        lease.release()


__all__ = ["JobContext", "JobUnavailable", "LAZY_MODULES", "PULL_PREFIX", "RunResult", "UnknownJob",
           "job_names", "pull_entries", "register", "resolve", "run_job", "schedules", "unregister"]
