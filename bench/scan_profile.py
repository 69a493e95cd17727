#!/usr/bin/env python
"""Where a full scan's time goes: one in-process ``run_scan`` of a bench file, by stage.

    python bench/scan_profile.py [--lines 1000000] [--dir /tmp/owbench] [--runs 1] [--out prof.txt] [--memory]
                                 [--partitions N] [--loose 1000]
                                 [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Generates ``DIR/orders_<N>.csv`` with ``make_orders.py`` when it is not there, scans it into a
fresh SQLite database with the rule pack and the file's catalog, and prints the scan's wall and
CPU time, its stage timings (``ScanResult.timings``) and — when ``pyinstrument`` is installed
(``pip install pyinstrument``) — the seconds spent under each named step below, summed over
the call tree (a step inside another is counted in both; polars' own threads are not split).
Why a script and not the README's word: the profile of one machine at one load is what the
README quotes; anyone can re-run it on theirs, before and after a change
(``PYTHONPATH=<other checkout> python bench/scan_profile.py`` profiles that checkout's code).
``--memory`` (Linux) also samples the process's resident memory every 20 ms and prints its peak
within each stage the scan reports progress for (``detect`` holds the features and rules,
``history`` the history partition and the baseline state update): where a bigger file will
run out of memory first.  ``--partitions N`` scans with ``scan.runner: {kind: local, partitions: N}``
(the in-process partitioned path: platform frames over every store first, then N store groups).
``--loose FACTOR`` scans with the loose copy of the pack that ``flag_bench.py`` uses (every lower
threshold divided by FACTOR: the scan that raises ~100x the flags), ``--pg ADMIN_URL`` into a
throwaway PostgreSQL database instead of SQLite: where the 300 k-flag scan spends, per backend.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from flag_bench import loose_pack  # noqa: E402
from flag_fill import create_database, drop_database  # noqa: E402
from make_orders import make_orders, paths_for  # noqa: E402

#: (file path ending, function) -> what the step is (in pipeline order)
STEPS: dict[tuple[str, str], str] = {
    ("ingest/__init__.py", "read_orders"): "read (ingest.read_orders)",
    ("detectors/needs.py", "presence"): "presence (what each file carries)",
    ("detectors/base.py", "__post_init__"): "orders_of (one row per order)",
    ("orderwatch/decide.py", "_feature_frames"): "feature frames (every rule's candidates)",
    ("detectors/volume_day.py", "day_frame"): "  volume_surge day passes (eager part)",
    ("detectors/stage_overdue.py", "_order_frame"): "  stage clocks' order frame",
    ("rules/flags.py", "build_flags"): "flag frames and reasons",
    ("rules/inhibit.py", "apply"): "inhibitions",
    ("store/repository.py", "write_flags"): "write flags and events",
    ("store/sla_reports.py", "write"): "write SLA report rows",
    ("orderwatch/scan.py", "correlate"): "correlation pass",
    ("store/repository.py", "add_order_lines"): "flagged orders' lines",
    ("orderwatch/open_orders.py", "scan_states"): "open set",
    ("store/open_orders.py", "track"): "open set",
    ("store/history.py", "stage"): "history partition",
    ("orderwatch/baseline_state.py", "after_commit"): "baseline state",
}


def _walk(frame: Any, totals: dict[str, float], inside: frozenset[str] = frozenset()) -> None:  # noqa: ANN401
    """Add each named step's time once per call path (a recursive call is not counted twice)."""
    path = (frame.file_path or "").replace("\\", "/")
    label = next((v for (end, fn), v in STEPS.items() if frame.function == fn and path.endswith(end)), None)
    if label is not None and label not in inside:
        totals[label] = totals.get(label, 0.0) + frame.time
        inside = inside | {label}
    for child in frame.children:
        _walk(child, totals, inside)


class _Memory:
    """Peak resident memory per scan stage, sampled by a daemon thread (Linux ``/proc``)."""

    def __init__(self) -> None:
        self.stage, self.peaks = "start", {}
        self._page = os.sysconf("SC_PAGE_SIZE")
        threading.Thread(target=self._sample, daemon=True).start()

    def progress(self, stage: str, _frac: float) -> None:
        self.stage = "read" if stage.startswith("read") else stage

    def _sample(self) -> None:
        while True:
            with open("/proc/self/statm", encoding="ascii") as f:
                mib = int(f.read().split()[1]) * self._page / 2**20
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), mib)
            time.sleep(0.02)


def _data(lines: int, d: Path, stores: int, seed: int) -> tuple[Path, dict]:
    path = d / f"orders_{lines}.csv"
    _, meta_path = paths_for(path)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("lines") == lines and meta.get("stores") == stores and Path(meta["catalog"]).exists():
            return path, meta
    d.mkdir(parents=True, exist_ok=True)
    return path, make_orders(lines, path, stores=stores, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "owbench")
    ap.add_argument("--runs", type=int, default=1, help="scans in a row (each into a fresh database)")
    ap.add_argument("--out", type=Path, help="write pyinstrument's text tree here")
    ap.add_argument("--memory", action="store_true", help="peak resident memory per stage (Linux)")
    ap.add_argument("--partitions", type=int, default=1, help="in-process store partitions (scan.runner)")
    ap.add_argument("--loose", type=float, help="scan with the pack's lower thresholds divided by this")
    ap.add_argument("--pg", help="PostgreSQL admin URL: scan into a throwaway database there")
    a = ap.parse_args(argv)
    path, meta = _data(a.lines, a.dir, a.stores, a.seed)
    from contracts.config import load_config
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None  # noqa: N806
        print("pyinstrument is not installed: stage timings only (pip install pyinstrument)", file=sys.stderr)
    for run in range(a.runs):
        tmp = Path(tempfile.mkdtemp(prefix="scanprof_", dir=a.dir))
        cfg_path = tmp / "config.yaml"
        created, url = create_database(a.pg) if a.pg else (None, f"sqlite:///{tmp / 'scan.db'}")
        site: dict[str, Any] = {"instance_dir": str(tmp / "instance"), "database": {"url": url}}
        if a.loose:
            site["rules_dir"] = str(loose_pack(tmp / "loose_rules", a.loose))
        if a.partitions > 1:
            site["scan"] = {"runner": {"kind": "local", "partitions": a.partitions}}
        cfg_path.write_text(yaml.safe_dump(site), encoding="utf-8")
        os.environ["ORDERWATCH_CONFIG"] = str(cfg_path)
        from orderwatch.scan import run_scan
        config = load_config()
        memory = _Memory() if a.memory else None
        prof = Profiler(interval=0.005) if Profiler else None
        if prof:
            prof.start()
        t, c = time.perf_counter(), time.process_time()
        try:
            result = run_scan([path], config, catalog=meta["catalog"], as_of=datetime.fromisoformat(meta["as_of"]),
                              db_url=url, progress=memory.progress if memory else None)
        finally:
            if created:
                drop_database(a.pg, created)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        if prof:
            prof.stop()
        print(f"run {run + 1}: {meta['lines']:,} lines, wall {wall:.2f} s, cpu {cpu:.2f} s, "
              f"{result.flags.height:,} flags, {result.late_done.height:,} late-done rows")
        print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))
        if prof:
            totals: dict[str, float] = {}
            _walk(prof.last_session.root_frame(), totals)
            for label in STEPS.values():
                if label in totals:
                    print(f"  {label:44s} {totals[label]:7.2f} s  {totals[label] / wall:5.1%}")
            if a.out:
                a.out.write_text(prof.output_text(unicode=False, color=False), encoding="utf-8")
        if memory:
            time.sleep(0.05)
            print("  peak memory by stage: " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in memory.peaks.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
