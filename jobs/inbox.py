"""The drop folder: order files put into ``jobs.inbox.dir`` are scanned, then filed away.

A file is read only once it has settled: its size and mtime unchanged for
``jobs.inbox.settle_seconds``, judged by the mtime's age and by the previous observation of
the file kept in ``job_state`` (``inbox`` -> ``observed``), so a file still being copied in
is left alone even when its mtime is old (``cp -p``) or the clocks disagree (network shares).
Dotfiles and ``*.part``/``*.tmp``/``*.crdownload`` (uploads in progress) are never read, nor
are subdirectories.

Each file is scanned on its own (``orderwatch.scan.run_scan``, source by file name) and then
moved to ``processed/`` with ``<name>.result.json`` (the scan's summary) beside it, or to
``failed/`` with ``<name>.reason.txt`` (the error).  Errors that are not the file's fault (bad
rules, configuration, the database down) leave the file where it is and fail the job, so it
is retried next run.  A crash between scan and move rescans the file next time, which adds
nothing twice (scans are idempotent by line key).
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from contracts.config import ConfigError
from jobs.registry import JobContext

IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".filepart")
STATE_KEY = "observed"


def inbox_dir(config: Any) -> Path:
    value = str(config.get("jobs.inbox.dir") or "{instance_dir}/inbox")
    return config._path(value)


def candidates(directory: Path) -> list[Path]:
    """Regular files directly in ``directory`` that are not hidden or in-progress uploads."""
    out = []
    for p in sorted(directory.iterdir()):
        name = p.name
        if name.startswith(".") or name.lower().endswith(IGNORED_SUFFIXES) or name.startswith("~$"):
            continue
        if p.is_file() and not p.is_symlink():
            out.append(p)
    return out


def settled_files(files: list[Path], observed: dict[str, dict[str, Any]], now: float,
                  settle: float) -> tuple[list[Path], dict[str, dict[str, Any]]]:
    """(files that have settled, the new observations to keep).

    Settled: unchanged since an observation at least ``settle`` seconds old, or last
    modified at least ``settle`` seconds ago and not changed since the last observation.
    """
    ready: list[Path] = []
    new_obs: dict[str, dict[str, Any]] = {}
    for p in files:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        cur = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        prev = observed.get(p.name)
        unchanged = prev is not None and prev.get("size") == cur["size"] and prev.get("mtime_ns") == cur["mtime_ns"]
        seen = float(prev["seen"]) if unchanged else now
        new_obs[p.name] = {**cur, "seen": seen}
        mtime_age = now - st.st_mtime_ns / 1e9
        if (unchanged and now - seen >= settle) or (mtime_age >= settle and (prev is None or unchanged)):
            ready.append(p)
    return ready, new_obs


def _free_name(directory: Path, name: str, stamp: str) -> Path:
    target = directory / name
    if not target.exists() and not (directory / f"{name}.result.json").exists() \
            and not (directory / f"{name}.reason.txt").exists():
        return target
    i = 0
    while True:
        cand = directory / (f"{stamp}-{name}" if i == 0 else f"{stamp}-{i}-{name}")
        if not cand.exists():
            return cand
        i += 1


def _summary(result: Any, path: Path) -> dict[str, Any]:
    return {
        "file": path.name,
        "scan_id": result.scan_id,
        "as_of": result.as_of.isoformat(sep=" "),
        "read": result.read,
        "accepted": result.accepted,
        "quarantined": result.quarantined,
        "new_lines": result.new_lines,
        "flags": result.flags.height,
        "flags_created": result.flags_created,
        "late_done": result.late_done.height,
        "flags_raised": result.flags_raised,
        "reconciled": result.reconciled,
        "understood": [r.to_dict() for r in getattr(result, "reports", [])],
    }


def _not_the_files_fault(exc: BaseException) -> bool:
    from rules.loader import RulesInvalid

    return isinstance(exc, (RulesInvalid, ConfigError, DBAPIError, OSError)) and not _is_ingest(exc)


def _is_ingest(exc: BaseException) -> bool:
    from ingest import IngestError

    return isinstance(exc, IngestError)


def run(ctx: JobContext) -> str:
    """Scan every settled file in the inbox; move it to processed/ or failed/."""
    from orderwatch.scan import run_scan

    config = ctx.config
    directory = inbox_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    processed_dir, failed_dir = directory / "processed", directory / "failed"
    settle = float(config.get("jobs.inbox.settle_seconds", 10))

    observed = dict(ctx.state().get(STATE_KEY) or {})
    ready, new_obs = settled_files(candidates(directory), observed, ctx.epoch, settle)
    ctx.set_state(**{STATE_KEY: new_obs})

    stamp = ctx.now.strftime("%Y%m%dT%H%M%S")
    done, failed, lines = 0, 0, 0
    for path in ready:
        try:
            result = run_scan([path], config, as_of=ctx.now, db_url=ctx.db_url)
        except Exception as exc:  # noqa: BLE001 - the file's problem goes with the file
            if _not_the_files_fault(exc):
                raise
            failed_dir.mkdir(exist_ok=True)
            target = _free_name(failed_dir, path.name, stamp)
            reason = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=10)}"
            (failed_dir / f"{target.name}.reason.txt").write_text(reason, encoding="utf-8")
            os.replace(path, target)
            ctx.log.warning("inbox: %s failed: %s", path.name, exc)
            failed += 1
        else:
            processed_dir.mkdir(exist_ok=True)
            target = _free_name(processed_dir, path.name, stamp)
            summary = _summary(result, path)
            (processed_dir / f"{target.name}.result.json").write_text(
                json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(path, target)
            ctx.log.info("inbox: %s scanned (scan %s, %s lines, %s flags)", path.name, result.scan_id,
                         result.read, result.flags.height)
            done += 1
            lines += result.read
        new_obs.pop(path.name, None)
    if ready:
        ctx.set_state(**{STATE_KEY: new_obs})
    waiting = len(new_obs)
    parts = [f"{done} processed ({lines} lines)", f"{failed} failed"]
    if waiting:
        parts.append(f"{waiting} waiting to settle")
    return ", ".join(parts)


__all__ = ["candidates", "inbox_dir", "run", "settled_files"]
