"""Section ``runner`` of ``scan_bench.py --runner ray``: the Ray runner beside the in-process scan.

For each store count (``--runner-stores``, default 2,000 and 20,000) on one file of
``--runner-size`` lines (default 1 M), each scan in its own subprocess (``orderwatch.scan.run_scan``
in the child, SQLite, the shipped rule pack):

* in-process: the default runner, one piece;
* Ray: ``ray.init(num_cpus=--ray-workers)`` (2 local workers), a small warm-up scan (the workers'
  first imports, as in a service that keeps its Ray), then the same scan with ``runner="ray"``.

Printed: scan seconds of each, Ray ÷ in-process (target ≤ 1.5), the driver's peak RSS
(``RUSAGE_SELF`` of the scanning process: Ray's workers and object store processes are not
the driver) and the Ray driver's peak at the most stores ÷ at the fewest (target ≤ 1.2: the
driver must stay flat in the number of stores).  Ray start and warm-up are printed apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from datetime import datetime
from contracts.config import load_config
from orderwatch.scan import run_scan

a = json.loads(sys.argv[1])
cfg = load_config()
out = {}
if a["runner"] == "ray":
    import ray
    t = time.perf_counter()
    ray.init(num_cpus=a["workers"], include_dashboard=False, log_to_driver=False, configure_logging=False)
    run_scan([a["warmup"]], cfg, catalog=a["warmup_catalog"], as_of=datetime.fromisoformat(a["as_of"]),
             db_url=a["warmup_db"], runner="ray")
    out["start_s"] = time.perf_counter() - t
t = time.perf_counter()
r = run_scan([a["path"]], cfg, catalog=a["catalog"], as_of=datetime.fromisoformat(a["as_of"]), db_url=a["db"],
             runner=a["runner"])
out["scan_s"] = time.perf_counter() - t
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["flags"] = r.flags.height
out["partitions"] = len(r.partitions)
out["timings"] = {k: round(v, 2) for k, v in r.timings.items()}
print("RESULT " + json.dumps(out))
"""


def _child(run_child: Callable, child_env: Callable, tmp: Path, args: dict, timeout: float) -> dict:
    r = run_child([sys.executable, "-c", CHILD, json.dumps(args)], env=child_env(tmp), timeout=timeout, cwd=tmp)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if not r.ok or line is None:
        return {"error": f"exit {r.rc}: " + " | ".join((r.stderr or r.stdout).strip().splitlines()[-5:])}
    return json.loads(line[len("RESULT "):])


def section(a: argparse.Namespace, run_child: Callable, child_env: Callable, ensure_data: Callable) -> list[dict]:
    """Measure and print the table; returns its rows (for ``--json``)."""
    rows = []
    warm_path, warm_meta = ensure_data(5_000, a.dir / "runner_warmup", 50, a.seed)
    for stores in a.runner_stores:
        path, meta = ensure_data(a.runner_size, a.dir / f"runner_stores_{stores}", stores, a.seed)
        row: dict = {"lines": meta["lines"], "stores": stores}
        for runner in ("local", "ray"):
            tmp = Path(tempfile.mkdtemp(prefix=f"runner_{runner}_", dir=a.dir))
            args = {"runner": runner, "workers": a.ray_workers, "path": str(path), "catalog": meta["catalog"],
                    "as_of": meta["as_of"], "db": f"sqlite:///{tmp / 'scan.db'}", "warmup": str(warm_path),
                    "warmup_catalog": warm_meta["catalog"], "warmup_db": f"sqlite:///{tmp / 'warm.db'}"}
            row[runner] = _child(run_child, child_env, tmp, args, a.timeout)
            print(f"{runner} {stores:,} stores: {row[runner]}", file=sys.stderr)
            if not a.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        rows.append(row)
    print("\n" + "\n".join(table(rows, a.ray_workers)))
    return rows


def table(rows: list[dict], workers: int) -> list[str]:
    def f(x: float | None, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    head = ["lines", "stores", "in-process s", "ray s", "ray/in-process", "in-process peak MiB",
            "ray driver peak MiB", "ray start+warm-up s", "flags (same?)"]
    out = []
    for r in rows:
        loc, ray = r.get("local", {}), r.get("ray", {})
        ratio = ray["scan_s"] / loc["scan_s"] if "scan_s" in ray and "scan_s" in loc else None
        same = "—" if "flags" not in ray or "flags" not in loc else f"{ray['flags']:,} ({ray['flags'] == loc['flags']})"
        out.append([f"{r['lines']:,}", f"{r['stores']:,}", f(loc.get("scan_s"), ".1f"), f(ray.get("scan_s"), ".1f"),
                    f(ratio, ".2f"), f(loc.get("peak_mib"), ",.0f"), f(ray.get("peak_mib"), ",.0f"),
                    f(ray.get("start_s"), ".1f"), same])
    widths = [max(len(h), *(len(t[i]) for t in out)) for i, h in enumerate(head)]
    lines = [" | ".join(h.rjust(w) for h, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(t, widths)) for t in out]
    peaks = [r.get("ray", {}).get("peak_mib") for r in rows]
    if len(peaks) > 1 and all(peaks):
        lines.append(f"ray driver peak, {rows[-1]['stores']:,} stores ÷ {rows[0]['stores']:,} stores: "
                     f"{peaks[-1] / peaks[0]:.2f} (target ≤ 1.2)")
    lines.append(f"(ray: {workers} local workers, warm; ray/in-process target ≤ 1.5; peak = ru_maxrss of the "
                 "scanning process, RUSAGE_SELF)")
    return lines


__all__ = ["section", "table"]
