"""``orderwatch worker`` and ``orderwatch jobs list|run NAME`` (wired in orderwatch/cli.py)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from contracts.config import Config, load_config


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def _open(config: Config) -> Any:
    from store import Store

    return Store.open(config.database_url)


def cmd_worker(args: argparse.Namespace) -> int:
    """The blocking scheduler; Ctrl-C (or SIGTERM) waits for running jobs, then exits 0."""
    from jobs.scheduler import build_scheduler

    _setup_logging(getattr(args, "verbose", False))
    log = logging.getLogger("orderwatch.jobs")
    config = load_config(args.config)
    store = _open(config)
    sched = build_scheduler(config, store.engine, blocking=True)

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    log.info("worker: %d jobs on %s", len(config.get("jobs.schedules") or {}), config.database_url)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker: stopping (waiting for running jobs; Ctrl-C again to abort)")
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            if sched.running:
                sched.shutdown(wait=True)
        except KeyboardInterrupt:
            log.warning("worker: aborted; leases of interrupted jobs expire on their own")
        store.close()
    return 0


def _fmt_local(dt: datetime | None, zone: ZoneInfo) -> str:
    if dt is None:
        return "-"
    if dt.tzinfo is None:          # stored audit times are naive UTC
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def job_rows(config: Config, engine: Any) -> list[dict[str, Any]]:
    """What ``jobs list`` shows, one dict per configured job."""
    from jobs.lease import holder
    from jobs.registry import JobUnavailable, UnknownJob, resolve
    from jobs.scheduler import describe, next_run_times, planned
    from jobs.state import get_states, parse_iso
    from store.models import utcnow

    zone = ZoneInfo(config.timezone)
    plan = planned(config)
    stored_next = next_run_times(engine)
    states = get_states(engine, list(plan))
    rows = []
    for name, (spec, trigger) in plan.items():
        st = states.get(name, {})
        if name in stored_next:
            nxt = stored_next[name]
            next_text = _fmt_local(nxt, zone) if nxt else "paused"
        else:
            nxt = trigger.get_next_fire_time(None, datetime.now(zone))
            next_text = f"{_fmt_local(nxt, zone)}*"   # * = per schedule; no scheduler has run yet
        try:
            resolve(name, config)
            available = True
        except (JobUnavailable, UnknownJob):
            available = False
        except Exception as exc:  # noqa: BLE001 - a module that fails to import: show, don't crash
            available = True
            st = {**st, "last_status": "error", "last_error": f"cannot import: {type(exc).__name__}: {exc}"}
        h = holder(engine, name)
        running = h is not None and h[1] > utcnow()
        status = st.get("last_status") or "-"
        detail = st.get("last_error") if status == "error" else st.get("last_summary")
        rows.append({
            "name": name, "schedule": describe(spec), "next_run": next_text,
            "last_run": _fmt_local(parse_iso(st.get("last_started_at")), zone),
            "status": ("running" if running else status) if available else "not available",
            "detail": detail or "", "owner": h[0] if running and h else None,
        })
    return rows


def cmd_jobs(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.jobs_command == "list":
        store = _open(config)
        try:
            rows = job_rows(config, store.engine)
        finally:
            store.close()
        head = f"{'job':<18} {'schedule':<20} {'next run':<20} {'last run':<20} {'status':<14} last summary / error"
        print(head)
        for r in rows:
            detail = str(r["detail"]).replace("\n", " ")
            if len(detail) > 120:
                detail = detail[:117] + "..."
            if r["owner"]:
                detail = f"[{r['owner']}] {detail}"
            print(f"{r['name']:<18} {r['schedule']:<20} {r['next_run']:<20} {r['last_run']:<20} "
                  f"{r['status']:<14} {detail}")
        if any(r["next_run"].endswith("*") for r in rows):
            print("* per schedule: not in the job store yet (no worker or serve has started a scheduler)")
        return 0
    if args.jobs_command == "run":
        from jobs.registry import UnknownJob, run_job

        _setup_logging(getattr(args, "verbose", False))
        try:
            result = run_job(args.name, config=config)
        except UnknownJob as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if result.ok:
            print(f"{result.name}: {result.summary}")
            return 0
        msg = result.error if result.status == "error" else result.summary
        print(f"{result.name}: {result.status}: {msg}", file=sys.stderr)
        return 1
    return 1


def add_parsers(sub: Any) -> None:
    """Add ``worker`` and ``jobs`` to the ``orderwatch`` sub-command parser."""
    w = sub.add_parser("worker", help="run the scheduled jobs (blocking; Ctrl-C stops)")
    w.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    w.set_defaults(func=cmd_worker)

    j = sub.add_parser("jobs", help="scheduled jobs: list them, or run one now")
    jsub = j.add_subparsers(dest="jobs_command", required=True)
    jsub.add_parser("list", help="each job's schedule, next run, last run and outcome")
    jr = jsub.add_parser("run", help="run one job now under its lease (exit 1 unless it succeeded)")
    jr.add_argument("name", metavar="NAME")
    jr.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    j.set_defaults(func=cmd_jobs)


__all__ = ["add_parsers", "cmd_jobs", "cmd_worker", "job_rows"]
