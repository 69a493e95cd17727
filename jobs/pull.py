"""Incremental ingest from an order database: one ``pull:<name>`` job per ``jobs.pulls`` entry.

Each run executes the entry's ``query`` on its ``url`` with ``:watermark`` bound to the stored
watermark (``job_state`` ``pull:<name>`` -> ``watermark``; first run: ``initial_watermark``),
streams the rows to a JSON-lines file under ``{instance_dir}/pulls/<name>/`` and scans it with
``run_scan(..., source=<source>)``.  Only after the scan succeeded is the watermark moved to
the largest ``watermark_column`` value read, so a crash or restart anywhere in between
re-reads the same rows next time, and re-scanning them adds nothing twice (lines are keyed by
source/store/order/line).

Entry keys: ``name``, ``url`` (SQLAlchemy URL), ``query``, ``watermark_column``,
``initial_watermark`` (default 1970-01-01 00:00:00; a date-time string is bound as a
datetime, digits as an integer), ``every_minutes`` (default 5), optional ``source`` (the
configured source whose header mapping and defaults apply; default: one named like the pull,
created on the fly when not configured) and ``columns``/``defaults`` for that on-the-fly
source.  Use ``>`` in the query when the watermark column is strictly increasing (an id or a
commit sequence); with timestamps that several rows may share, ``>=`` re-reads the boundary
rows rather than risk missing late ones (harmless: re-scans are idempotent).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from contracts.config import Config, ConfigError
from jobs.registry import PULL_PREFIX, JobContext

FETCH_ROWS = 10_000
DEFAULT_INITIAL = "1970-01-01 00:00:00"


# -- watermark values <-> JSON -------------------------------------------------------------------
def encode_watermark(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"type": "str", "value": str(value)}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    return {"type": "str", "value": str(value)}


def decode_watermark(stored: dict[str, Any]) -> Any:
    kind, value = stored.get("type"), stored.get("value")
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "int":
        return int(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "float":
        return float(value)
    return value


def initial_watermark(entry: dict[str, Any]) -> Any:
    value = entry.get("initial_watermark", DEFAULT_INITIAL)
    if isinstance(value, str):
        s = value.strip()
        if s.lstrip("-").isdigit():
            return int(s)
        try:
            return datetime.fromisoformat(s)
        except ValueError:
            return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def current_watermark(ctx: JobContext, name: str) -> Any:
    """The stored watermark of pull ``name`` (None when it never completed a run)."""
    stored = ctx.state(PULL_PREFIX + name).get("watermark")
    return decode_watermark(stored) if stored else None


# -- the pull ------------------------------------------------------------------------------------
def _scan_config(config: Config, entry: dict[str, Any]) -> tuple[Config, str]:
    """The config to scan with and the source name (a source named like the pull if none)."""
    source = str(entry.get("source") or entry["name"])
    if any(s.name == source for s in config.sources):
        return config, source
    raw = copy.deepcopy(config.raw)
    raw["sources"] = [*(raw.get("sources") or []), {
        "name": source, "match": f"\x00pull:{source}",   # matches no file name: only by name
        "columns": dict(entry.get("columns") or {}), "defaults": dict(entry.get("defaults") or {}),
    }]
    return Config(raw=raw, base_dir=config.base_dir), source


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _max(a: Any, b: Any) -> Any:
    """The larger of two watermark values; on incomparable ones (types differ) ``b``, the newer."""
    if b is None:
        return a
    if a is None:
        return b
    try:
        return b if b > a else a
    except TypeError:
        return b


def fetch(entry: dict[str, Any], watermark: Any, out: Path) -> tuple[int, Any]:
    """Run the pull's query into ``out`` (JSON lines); (rows written, max watermark column)."""
    from store import make_engine

    column = str(entry["watermark_column"])
    engine = make_engine(str(entry["url"]))
    rows, top = 0, None
    try:
        with engine.connect() as conn, out.open("w", encoding="utf-8") as f:
            result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
                text(str(entry["query"])), {"watermark": watermark})
            keys = list(result.keys())
            if column not in keys:
                raise ConfigError(f"jobs.pulls {entry['name']}: watermark_column {column!r} is not a "
                                  f"column of the query (columns: {', '.join(keys)})")
            idx = keys.index(column)
            for part in result.partitions(FETCH_ROWS):
                for row in part:
                    f.write(json.dumps({k: _json_value(v) for k, v in zip(keys, row)}, ensure_ascii=False))
                    f.write("\n")
                    top = _max(top, row[idx])
                    rows += 1
    finally:
        engine.dispose()
    return rows, top


def run_scan(*args: Any, **kwargs: Any) -> Any:
    """``orderwatch.scan.run_scan`` (a seam: tests make it fail mid-pull)."""
    from orderwatch.scan import run_scan as real

    return real(*args, **kwargs)


def run_pull(ctx: JobContext, entry: dict[str, Any]) -> str:
    """One incremental pull: query past the watermark, scan, then advance the watermark."""
    name = str(entry["name"])
    state_name = PULL_PREFIX + name
    stored = current_watermark(ctx, name)
    watermark = stored if stored is not None else initial_watermark(entry)
    scan_config, source = _scan_config(ctx.config, entry)

    work = ctx.config.instance_dir / "pulls" / name
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{name}-{ctx.now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.jsonl"
    try:
        rows, top = fetch(entry, watermark, path)
        if rows == 0:
            return f"no new rows after {watermark}"
        result = run_scan([path], scan_config, source=source, as_of=ctx.now, db_url=ctx.db_url)
        new_mark = _max(watermark, top)
        ctx.set_state(state_name, watermark=encode_watermark(new_mark),
                      last_pull={"rows": rows, "scan_id": result.scan_id, "from": str(watermark),
                                 "to": str(new_mark), "new_lines": result.new_lines,
                                 "quarantined": result.quarantined})
        return (f"{rows} rows after {watermark} (scan {result.scan_id}: {result.new_lines} new lines, "
                f"{result.quarantined} quarantined, {result.flags.height} flags); watermark {new_mark}")
    finally:
        path.unlink(missing_ok=True)


__all__ = ["current_watermark", "decode_watermark", "encode_watermark", "fetch", "initial_watermark",
           "run_pull"]
