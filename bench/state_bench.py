"""The history part of ``scan_bench.py``: a one-day batch on 90 days of history ÷ the same
batch with no history, per backend (issue 9, target ≤ 1.5).

One file of ``days + 1`` days is generated (``make_orders.py``: ``lines_per_day`` lines a day,
``stores`` stores) and split at the last day: ``history.csv`` (90 days) and ``batch.csv`` (the
last day, ~15 k lines at the defaults).  Per backend, each in a fresh database and its own
subprocess: (a) the batch scanned alone; (b) the history scanned (set-up, its time is shown)
and then the batch on top of it.  The figure is (b)'s batch scan ÷ (a): wall time and peak
memory (``ru_maxrss``), with the scan's own stage times and what it read of the history and
of the baseline state.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import flag_bench  # noqa: E402
from make_orders import make_orders  # noqa: E402

#: flag_bench's scan child, and what the scan read of the history and of the baseline state
SCAN_CHILD = flag_bench.SCAN_CHILD + (
    "s = r.state\n"
    "print(json.dumps({'lines': r.accepted,\n"
    "                  'history_rows': sum(p.history_rows for p in r.partitions) if r.partitions else None,\n"
    "                  'state': None if s is None else {'rebuilt': s.rebuilt, 'state_rows_read': s.state_rows_read,\n"
    "                           'raw_rows_read': s.raw_rows_read},\n"
    "                  'read_state': r.state_read}))\n"
)


def ensure_split(d: Path, *, days: int, lines_per_day: int, stores: int, seed: int) -> dict:
    """``history.csv`` and ``batch.csv`` under ``d`` (generated once per parameters)."""
    d.mkdir(parents=True, exist_ok=True)
    meta_path = d / "split.json"
    want = {"days": days, "lines_per_day": lines_per_day, "stores": stores, "seed": seed}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if all(meta.get(k) == v for k, v in want.items()) and Path(meta["batch"]).exists():
            return meta
    end = datetime(2026, 11, 30, 16, 0)
    full = d / "all.csv"
    gen = make_orders(lines_per_day * (days + 1), full, stores=stores, seed=seed, days=days + 1, end=end)
    df = pl.read_csv(full, infer_schema_length=0)
    last = end.strftime("%Y-%m-%d")
    is_last = pl.col("created_at").str.starts_with(last)
    hist, batch = d / "history.csv", d / "batch.csv"
    df.filter(~is_last).write_csv(hist)
    df.filter(is_last).write_csv(batch)
    meta = {**want, "history": str(hist), "batch": str(batch), "catalog": gen["catalog"],
            "history_lines": df.filter(~is_last).height, "batch_lines": df.filter(is_last).height,
            "as_of": gen["as_of"], "history_as_of": (end - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")}
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    full.unlink(missing_ok=True)
    return meta


def _scan(run_child, child_env, path: str, catalog: str, as_of: str, db_url: str, tmp: Path,
          timeout: float) -> dict:
    r = run_child([sys.executable, "-c", SCAN_CHILD, path, catalog, as_of, db_url],
                  env=child_env(tmp, db_url=db_url), timeout=timeout, cwd=tmp)
    if not r.ok:
        return {"error": f"exit {r.rc}: " + " | ".join(r.stderr.strip().splitlines()[-5:])}
    *_, scan, read = r.stdout.strip().splitlines()
    return {"wall_s": r.wall, "peak_mib": r.peak_mib, **json.loads(scan), **json.loads(read)}


def measure(run_child, child_env, meta: dict, *, backends: list[str], pg_admin: str, workdir: Path,
            timeout: float) -> list[dict]:
    """Per backend: the batch alone, the history (set-up), the batch on the history."""
    out = []
    for backend in backends:
        row: dict = {"backend": backend}
        for case in ("alone", "on_history"):
            with tempfile.TemporaryDirectory(dir=workdir) as t:
                tmp = Path(t)
                db_name = None
                if backend == "sqlite":
                    url = f"sqlite:///{tmp / 'scan.db'}"
                else:
                    from flag_fill import create_database  # noqa: PLC0415
                    db_name, url = create_database(pg_admin)
                try:
                    if case == "on_history":
                        row["history_setup"] = _scan(run_child, child_env, meta["history"], meta["catalog"],
                                                     meta["history_as_of"], url, tmp, timeout)
                    row[case] = _scan(run_child, child_env, meta["batch"], meta["catalog"], meta["as_of"],
                                      url, tmp, timeout)
                finally:
                    if db_name:
                        from flag_fill import drop_database  # noqa: PLC0415
                        drop_database(pg_admin, db_name)
        out.append(row)
    return out


def table(rows: list[dict], meta: dict) -> list[str]:
    head = (f"one-day batch ({meta['batch_lines']:,} lines, {meta['stores']:,} stores) on {meta['days']} days of "
            f"history ({meta['history_lines']:,} lines) ÷ the same batch alone (target ≤ 1.5)")
    lines = [head, "backend    | alone s | on history s | ratio | alone MiB | on history MiB | mem ratio | "
                   "history set-up s | state rows read (detect / update) | raw day-slice rows"]
    for r in rows:
        a, h = r.get("alone", {}), r.get("on_history", {})
        if "error" in a or "error" in h:
            lines.append(f"{r['backend']:<10} | failed: {a.get('error') or h.get('error')}")
            continue
        st, rs = h.get("state") or {}, h.get("read_state") or {}
        lines.append(f"{r['backend']:<10} | {a['wall_s']:7.2f} | {h['wall_s']:12.2f} | {h['wall_s'] / a['wall_s']:5.2f} | "
                     f"{a['peak_mib']:9.0f} | {h['peak_mib']:14.0f} | {h['peak_mib'] / a['peak_mib']:9.2f} | "
                     f"{r.get('history_setup', {}).get('wall_s', float('nan')):16.1f} | "
                     f"{rs.get('state_rows', '—')} / {st.get('state_rows_read', '—')} | {rs.get('slice_rows', '—')}")
        stages = " ".join(f"{k} {v:.2f}" for k, v in h.get("timings", {}).items())
        alone = " ".join(f"{k} {v:.2f}" for k, v in a.get("timings", {}).items())
        lines.append(f"    stages on history: {stages}  |  alone: {alone}")
    return lines


__all__ = ["ensure_split", "measure", "table"]
