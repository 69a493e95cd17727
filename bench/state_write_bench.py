#!/usr/bin/env python
"""The baseline state's write path alone: the first build and a one-day update, per checkout.

    python bench/state_write_bench.py [--lines 1000000] [--day-lines 15600] [--days 90] [--runs 2]
                                      [--before /path/to/other/checkout] [--dir /tmp/owbench]

Two cases, each in a fresh subprocess (its own imports, its own peak), on canonical lines read
once by ``ingest`` and cached as Parquet:

* ``first``: the state's first build from a first scan's batch (``--lines`` lines of
  ``make_orders.py``): ``advance_scan`` on an empty history, the path a fresh database's first
  scan takes.  Wall, CPU and the peak resident memory *above* the process's memory when the
  call starts (sampled every 10 ms): what the build adds on top of the batch the scan holds.
  ``--build-lines`` sets ``history.state.build_lines`` (the lines one bucket job holds).
* ``day``: a one-day batch (``--day-lines``, 2,000 stores) on a state built from ``--days``
  days of history: the update a daily scan does after its commit.

With ``--before`` the same cases run on that checkout's code too, interleaved run by run
(before, after, before, after…), so machine load falls on both alike: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path
import polars as pl
from contracts.config import load_config
from orderwatch.baseline_state import advance_scan
from store import History
from detectors.state_tables import ALL_SCHEMAS

mode, lines_path, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
config = load_config()
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * page / 2**20
kept = {f"{t}|bench": pl.DataFrame(schema=ALL_SCHEMAS[t]) for t in ("judged_days", "day_bins")}
lines = pl.read_parquet(lines_path)
history = History(work / "h")
if mode == "first":
    history.append(1, lines)
    args = (1, lines, lines.head(0), [], kept, lines)
else:
    history.append(2, lines)
    args = (2, lines, lines.head(0), [1], kept, lines)
peak, stop = [rss()], []
def sample():
    while not stop:
        peak.append(rss()); time.sleep(0.01)
start = rss()
t = threading.Thread(target=sample, daemon=True); t.start()
w, c = time.perf_counter(), time.process_time()
out = advance_scan(history, config, *args)
wall, cpu = time.perf_counter() - w, time.process_time() - c
stop.append(1); t.join()
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "added_mib": max(peak) - start, "start_mib": start,
                  "rebuilt": out.rebuilt, "steps": len(getattr(out, "steps", []) or [1]),
                  "state_rows_read": out.state_rows_read}))
"""


def _canonical(csv: Path, cache: Path) -> Path:
    """The file's canonical lines (the project's reader), cached as Parquet."""
    if not cache.exists():
        sys.path.insert(0, str(ROOT))
        import ingest
        from contracts.config import load_config
        ingest.read_orders([csv], load_config()).lines.write_parquet(cache)
    return cache


def _data(a: argparse.Namespace) -> tuple[Path, Path, Path]:
    sys.path.insert(0, str(HERE))
    from make_orders import make_orders
    import state_bench
    a.dir.mkdir(parents=True, exist_ok=True)
    big = a.dir / f"orders_{a.lines}.csv"
    if not big.exists():
        make_orders(a.lines, big, stores=2000, seed=1)
    split = state_bench.ensure_split(a.dir / f"state_{a.days}d_{a.day_lines}_2000", days=a.days,
                                     lines_per_day=a.day_lines, stores=2000, seed=1)
    first = _canonical(big, a.dir / f"canonical_{a.lines}.parquet")
    hist = _canonical(Path(split["history"]), Path(split["history"]).with_suffix(".parquet"))
    day = _canonical(Path(split["batch"]), Path(split["batch"]).with_suffix(".parquet"))
    return first, hist, day


#: ``--build-lines``: the config the children load (``history.state.build_lines``)
CONFIG_ENV: dict[str, str] = {}


def _child(code: Path, mode: str, lines: Path, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), **CONFIG_ENV}
    r = subprocess.run([sys.executable, "-c", CHILD, mode, str(lines), str(work)], env=env, cwd=code,
                       capture_output=True, text=True, timeout=3600)
    if r.returncode:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _day_site(code: Path, hist: Path, where: Path) -> Path:
    """A history of ``--days`` days and its state (built by ``code``), copied for each run."""
    if not (where / "h" / "state" / "meta.json").exists():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        got = _child(code, "first", hist, where)
        if "error" in got:
            raise SystemExit(f"day set-up failed: {got['error']}")
    return where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--day-lines", type=int, default=15_600)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--cases", nargs="+", default=["first", "day"], choices=["first", "day"])
    ap.add_argument("--before", type=Path, help="another checkout to measure beside this one")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "owbench")
    ap.add_argument("--build-lines", type=int, help="history.state.build_lines (lines a bucket job holds)")
    a = ap.parse_args(argv)
    if a.build_lines:
        cfg = a.dir / f"state_write_{a.build_lines}.yaml"
        a.dir.mkdir(parents=True, exist_ok=True)
        cfg.write_text(f"history:\n  state:\n    build_lines: {a.build_lines}\n", encoding="utf-8")
        CONFIG_ENV["ORDERWATCH_CONFIG"] = str(cfg)
    first, hist, day = _data(a)
    codes = [("before", a.before.resolve())] if a.before else []
    codes.append(("after", ROOT))
    site = _day_site(ROOT, hist, a.dir / f"state_site_{a.days}d") if "day" in a.cases else None
    rows: dict[tuple[str, str], list[dict]] = {}
    for run in range(a.runs):
        for case in a.cases:
            for name, code in codes:
                with tempfile.TemporaryDirectory(dir=a.dir) as t:
                    work = Path(t)
                    if case == "day":
                        shutil.copytree(site / "h", work / "h")
                    got = _child(code, case, first if case == "first" else day, work)
                rows.setdefault((case, name), []).append(got)
                print(f"run {run + 1} {case:5s} {name:6s} {json.dumps(got)}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for case in a.cases:
        for name, _ in codes:
            ok = [r for r in rows[(case, name)] if "error" not in r]
            if ok:
                best = min(ok, key=lambda r: r["wall_s"])
                print(f"{case:5s} {name:6s} best wall {best['wall_s']:6.2f} s  cpu {best['cpu_s']:6.2f} s  "
                      f"added peak {max(r['added_mib'] for r in ok):7.0f} MiB (max of runs)  jobs {best['steps']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
