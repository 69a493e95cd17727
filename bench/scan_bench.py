#!/usr/bin/env python
"""Benchmark ``orderwatch scan``: against a bare ``pl.read_csv``, and storing many flags.

    python bench/scan_bench.py [--sections read history flags] [--sizes 1000000 10000000] [--runner ray]
                               [--dir /tmp/owbench] [--backends sqlite postgresql]

Section ``read`` — for each size: generate ``DIR/orders_<N>.csv`` with ``make_orders.py`` (unless it is already
there with a matching ``.meta.json``), then, each in its own subprocess,

(a) ``pl.read_csv(path)``: wall time (parent clock, interpreter start included) and peak RSS;
(b) ``orderwatch scan PATH --catalog CAT --db sqlite:///<fresh>.db --as-of ... --out ... --quarantine ...``
    with ``ORDERWATCH_CONFIG`` pointing at a fresh temp config (instance_dir in a temp dir):
    wall time and peak RSS.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``.  The command used for (b) is, first
found: ``$ORDERWATCH_CMD`` (split like a shell), ``orderwatch`` on PATH (or beside this Python),
``python -m orderwatch.cli``.  If none works the scan half is reported as missing, the
read_csv half still runs, and the exit status is 2.

Section ``history`` — a one-day batch (``--day-lines``) on ``--history-days`` (90) days of
history ÷ the same batch alone, per backend, wall time and peak memory (``state_bench.py``).

Section ``runner`` (``--runner ray``; ``runner_bench.py``) — the same scan on the Ray runner with
2 local workers beside the in-process one, on 1 M lines of 2,000 and of 20,000 stores: time
ratio and the driver's peak memory.

Section ``flags`` — the ``--flags-size`` file scanned with the rule pack (~3 k flags) and with
a loose copy of it (~300 k flags), on SQLite and on a throwaway PostgreSQL database
(``--pg``): time, stage times and peak memory of each, and the ratio (``flag_bench.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from make_orders import make_orders, paths_for  # noqa: E402

SECTIONS = ("read", "history", "flags")
#: dividing the pack's lower thresholds by this makes the 1 M-line file raise ~100x its flags
LOOSE_FACTOR = 1000.0
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

READ_CSV_CHILD = (
    "import sys, time, polars as pl\n"
    "t = time.perf_counter()\n"
    "df = pl.read_csv(sys.argv[1])\n"
    "print(f'{time.perf_counter() - t:.3f} {df.height}')\n"
)


@dataclass
class Run:
    ok: bool
    wall: float
    peak_mib: float
    rc: int
    stdout: str
    stderr: str


def run_child(cmd: list[str], *, env: dict | None = None, timeout: float | None = None,
              cwd: Path | None = None) -> Run:
    """Run ``cmd``; return wall time and the child's peak RSS (os.wait4 ru_maxrss)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                             cwd=cwd, start_new_session=True)
        deadline = None if timeout is None else t + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                os.killpg(p.pid, 9)
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting
        out.seek(0)
        err.seek(0)
        return Run(p.returncode == 0, wall, ru.ru_maxrss / 1024, p.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def scan_command() -> tuple[list[str] | None, str]:
    """The argv prefix that runs ``orderwatch``, or (None, why not)."""
    if os.environ.get("ORDERWATCH_CMD"):
        return shlex.split(os.environ["ORDERWATCH_CMD"]), "$ORDERWATCH_CMD"
    beside = Path(sys.executable).parent / "orderwatch"
    exe = shutil.which("orderwatch") or (str(beside) if beside.exists() else None)
    if exe:
        return [exe], exe
    sys.path.insert(0, str(ROOT))
    try:
        if importlib.util.find_spec("orderwatch.cli") is not None:
            return [sys.executable, "-m", "orderwatch.cli"], "python -m orderwatch.cli"
    finally:
        sys.path.remove(str(ROOT))
    return None, "no `orderwatch` on PATH and no orderwatch.cli module"


def check_scan(cmd: list[str], env: dict) -> str | None:
    """None if ``orderwatch scan --help`` works, else a message saying what is wrong."""
    try:
        r = run_child([*cmd, "scan", "--help"], env=env, timeout=120, cwd=ROOT)
    except OSError as exc:
        return f"cannot run `{' '.join(cmd)}`: {exc}"
    if not r.ok:
        tail = (r.stderr or r.stdout).strip().splitlines()[-5:]
        return f"`{' '.join(cmd)} scan --help` exited {r.rc}:\n    " + "\n    ".join(tail)
    missing = [o for o in ("--catalog", "--as-of", "--db") if o not in r.stdout]
    if missing:
        return f"`{' '.join(cmd)} scan` lacks the options {missing}"
    return None


def child_env(tmp: Path, rules_dir: Path | None = None, db_url: str | None = None) -> dict:
    """Environment for a scan child: a fresh site config whose instance_dir is ``tmp``."""
    cfg = tmp / "config.yaml"
    cfg.write_text(yaml.safe_dump({
        "instance_dir": str(tmp / "instance"),
        "database": {"url": db_url or f"sqlite:///{tmp / 'scan.db'}"},
        "rules_dir": str(rules_dir or ROOT / "rules" / "pack"),
    }, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ)
    env["ORDERWATCH_CONFIG"] = str(cfg)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def ensure_data(size: int, d: Path, stores: int, seed: int) -> tuple[Path, dict]:
    path = d / f"orders_{size}.csv"
    _, meta_path = paths_for(path)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("lines") == size and meta.get("stores") == stores and meta.get("seed") == seed \
                and Path(meta["catalog"]).exists():
            return path, meta
    print(f"generating {size:,} lines -> {path}", file=sys.stderr)
    return path, make_orders(size, path, stores=stores, seed=seed)


def fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def read_vs_scan(a: argparse.Namespace, cmd: list[str] | None, scan_problem: str | None) -> tuple[list[dict], int]:
    """Section ``read``: each size's full scan (SQLite) against a bare ``pl.read_csv``."""
    results = []
    for size in a.sizes:
        path, meta = ensure_data(size, a.dir, a.stores, a.seed)
        row: dict = {"lines": meta["lines"], "mib_on_disk": meta["bytes"] / 2**20}
        r = run_child([sys.executable, "-c", READ_CSV_CHILD, str(path)], timeout=a.timeout)
        if not r.ok:
            print(f"!! read_csv of {path} failed ({r.rc}): {r.stderr[-2000:]}", file=sys.stderr)
            return results, 1
        row["read_s"], row["read_peak_mib"] = r.wall, r.peak_mib
        row["read_s_inproc"] = float(r.stdout.split()[0])
        print(f"read_csv {size:,}: {r.wall:.2f} s, {r.peak_mib:.0f} MiB", file=sys.stderr)
        if not scan_problem:
            tmp = Path(tempfile.mkdtemp(prefix="scan_", dir=a.dir))
            flags, quar = tmp / "flags.csv", tmp / "quarantine.csv"
            argv_scan = [*cmd, "scan", str(path), "--catalog", meta["catalog"],
                         "--db", f"sqlite:///{tmp / 'scan.db'}", "--as-of", meta["as_of"],
                         "--out", str(flags), "--quarantine", str(quar)]
            s = run_child(argv_scan, env=child_env(tmp), timeout=a.timeout, cwd=tmp)
            if s.ok:
                row["scan_s"], row["scan_peak_mib"] = s.wall, s.peak_mib
                if flags.exists():
                    with flags.open("rb") as fh:
                        row["flags"] = max(0, sum(1 for _ in fh) - 1)
                print(f"scan {size:,}: {s.wall:.2f} s, {s.peak_mib:.0f} MiB", file=sys.stderr)
            else:
                row["scan_error"] = f"exit {s.rc}: " + " | ".join(s.stderr.strip().splitlines()[-5:])
                row["scan_failed_after_s"], row["scan_failed_peak_mib"] = s.wall, s.peak_mib
                print(f"!! scan of {path} failed (exit {s.rc}); its stderr ends:\n"
                      + "\n".join(s.stderr.strip().splitlines()[-15:]), file=sys.stderr)
            if not a.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        results.append(row)

    head = ["lines", "MiB", "read_csv s", "(in-proc)", "scan s", "scan lines/s", "read_csv peak MiB", "scan peak MiB",
            "scan/read_csv time", "scan/read_csv mem", "flags"]
    table = []
    for r in results:
        scan_s, scan_m = r.get("scan_s"), r.get("scan_peak_mib")
        table.append([
            f"{r['lines']:,}", fmt(r["mib_on_disk"], ",.0f"), fmt(r["read_s"], ".2f"),
            fmt(r["read_s_inproc"], ".2f"), "failed" if "scan_error" in r else fmt(scan_s, ".2f"),
            fmt(r["lines"] / scan_s if scan_s else None, ",.0f"), fmt(r["read_peak_mib"], ",.0f"),
            fmt(scan_m, ",.0f"), fmt(scan_s / r["read_s"] if scan_s else None, ".1f"),
            fmt(scan_m / r["read_peak_mib"] if scan_m else None, ".1f"),
            str(r.get("flags", "—")),
        ])
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    print(" | ".join(h.rjust(w) for h, w in zip(head, widths)))
    print("-+-".join("-" * w for w in widths))
    for t in table:
        print(" | ".join(c.rjust(w) for c, w in zip(t, widths)))
    print("(times are wall clock of a fresh subprocess, interpreter start and imports included; "
          "(in-proc) is read_csv alone; peak = ru_maxrss of the child)")
    return results, 1 if any("scan_error" in r for r in results) else 0


def history_section(a: argparse.Namespace) -> dict | None:
    """Section ``history``: a one-day batch (``--day-lines``, ~15 k) scanned on top of
    ``--history-days`` (90) of history ÷ the same batch with no history (target ≤ 1.5), per
    backend (``state_bench.py``)."""
    import state_bench  # noqa: PLC0415

    meta = state_bench.ensure_split(a.dir / f"state_{a.history_days}d_{a.day_lines}_{a.stores}",
                                    days=a.history_days, lines_per_day=a.day_lines, stores=a.stores, seed=a.seed)
    rows = state_bench.measure(run_child, child_env, meta, backends=a.backends, pg_admin=a.pg, workdir=a.dir,
                               timeout=a.timeout)
    print()
    print("\n".join(state_bench.table(rows, meta)))
    print("(wall = fresh subprocess incl. imports; peak = ru_maxrss; the history set-up scan is not in the ratio)")
    return {"meta": meta, "rows": rows}


def flags_section(a: argparse.Namespace) -> tuple[list[dict], int]:
    """Section ``flags``: the same file raising ~3 k and ~300 k flags, per backend (flag_bench)."""
    import flag_bench  # noqa: PLC0415

    path, meta = ensure_data(a.flags_size, a.dir, a.stores, a.seed)
    rows = flag_bench.measure(run_child, child_env, path, meta, backends=a.backends, pg_admin=a.pg,
                              factor=a.loose_factor, workdir=a.dir, timeout=a.timeout)
    print()
    print("\n".join(flag_bench.table(rows, meta["lines"])))
    print("(wall = fresh subprocess incl. imports; stage times from the scan itself; peak = ru_maxrss)")
    failed = any("error" in r.get(k, {"error": 1}) for r in rows for k in ("pack", "loose"))
    return rows, 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="orderwatch scan: speed and memory against the bare read, "
                                             "and the cost of storing many flags")
    ap.add_argument("--sections", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/owbench"))
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child (default 3600)")
    ap.add_argument("--keep", action="store_true", help="keep each scan's temp dir (db, flags)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--history-days", type=int, default=90, help="days of history of section history")
    ap.add_argument("--day-lines", type=int, default=15_600, help="lines of the one-day batch of section history")
    ap.add_argument("--flags-size", type=int, default=1_000_000, help="lines of the file of section flags")
    ap.add_argument("--loose-factor", type=float, default=LOOSE_FACTOR,
                    help="lower thresholds of the loose pack are divided by this")
    ap.add_argument("--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    ap.add_argument("--pg", default=PG_ADMIN, help="PostgreSQL to create throwaway databases on")
    ap.add_argument("--runner", choices=("local", "ray"), default="local",
                    help="ray: also run section runner (the Ray runner beside the in-process scan)")
    ap.add_argument("--runner-size", type=int, default=1_000_000, help="lines of the file of section runner")
    ap.add_argument("--runner-stores", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--runner-sizes", type=int, nargs="*", default=[250_000],
                    help="other batch sizes of section runner, at the first store count (driver peak ÷ size)")
    ap.add_argument("--ray-workers", type=int, default=2, help="CPUs of the local Ray (section runner)")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)

    cmd, how = scan_command()
    scan_problem = None
    if cmd is None:
        scan_problem = f"orderwatch scan is not available: {how}"
    else:
        with tempfile.TemporaryDirectory(dir=a.dir) as t:
            scan_problem = check_scan(cmd, child_env(Path(t)))
    if scan_problem:
        print(f"!! {scan_problem}\n!! measuring read_csv only", file=sys.stderr)
    else:
        print(f"scan command: {' '.join(cmd)}", file=sys.stderr)

    report: dict = {"scan_command": cmd, "scan_problem": scan_problem}
    rc = 0
    if "read" in a.sections:
        report["results"], rc = read_vs_scan(a, cmd, scan_problem)
    if "history" in a.sections:
        report["history"] = history_section(a)
    if "flags" in a.sections and not scan_problem:
        report["flags"], flags_rc = flags_section(a)
        rc = rc or flags_rc
    if a.runner == "ray" and not scan_problem:
        import runner_bench  # noqa: PLC0415
        report["runner"] = runner_bench.section(a, run_child, child_env, ensure_data)
    if a.json:
        a.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    if scan_problem:
        print(f"\nscan not measured: {scan_problem}", file=sys.stderr)
        return 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
