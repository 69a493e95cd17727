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
import os
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
if a.get("split") is not None:     # ray: the lines on the workers (True) or back on the driver (False)
    cfg.raw["scan"] = {**(cfg.raw.get("scan") or {}), "runner": {"kind": "ray", "split": a["split"]}}
out = {}
if a["runner"] == "ray":
    import ray
    t = time.perf_counter()
    ray.init(num_cpus=a["workers"], include_dashboard=False, log_to_driver=False, configure_logging=False)
    run_scan([a["warmup"]], cfg, catalog=a["warmup_catalog"], as_of=datetime.fromisoformat(a["as_of"]),
             db_url=a["warmup_db"], runner="ray")
    out["start_s"] = time.perf_counter() - t
out["base_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t = time.perf_counter()
r = run_scan([a["path"]], cfg, catalog=a["catalog"], as_of=datetime.fromisoformat(a["as_of"]), db_url=a["db"],
             runner=a["runner"])
out["scan_s"] = time.perf_counter() - t
out["cpu_s"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - c0
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


#: what each row runs: (name, runner, split)
VARIANTS = (("local", "local", None), ("ray", "ray", True), ("ray_driver", "ray", False))


def section(a: argparse.Namespace, run_child: Callable, child_env: Callable, ensure_data: Callable) -> list[dict]:
    """Measure and print the table; returns its rows (for ``--json``).

    Rows: each store count at ``--runner-size``, and each other ``--runner-sizes`` at the first
    store count (the driver's peak against the batch's size).  In each row the three variants
    run one after the other (interleaved, the same load): in-process, Ray with the lines on the
    workers (``split``, the default), Ray with the lines back on the driver (``split: false``)."""
    rows = []
    warm_path, warm_meta = ensure_data(5_000, a.dir / "runner_warmup", 50, a.seed)
    shapes = [(a.runner_size, s) for s in a.runner_stores]
    shapes += [(z, a.runner_stores[0]) for z in getattr(a, "runner_sizes", None) or [] if z != a.runner_size]
    for size, stores in shapes:
        where = f"runner_stores_{stores}" if size == a.runner_size else f"runner_{size}_stores_{stores}"
        path, meta = ensure_data(size, a.dir / where, stores, a.seed)
        row: dict = {"lines": meta["lines"], "stores": stores, "load": os.getloadavg()[0]}
        for name, runner, split in VARIANTS:
            tmp = Path(tempfile.mkdtemp(prefix=f"runner_{name}_", dir=a.dir))
            args = {"runner": runner, "split": split, "workers": a.ray_workers, "path": str(path),
                    "catalog": meta["catalog"], "as_of": meta["as_of"], "db": f"sqlite:///{tmp / 'scan.db'}",
                    "warmup": str(warm_path), "warmup_catalog": warm_meta["catalog"],
                    "warmup_db": f"sqlite:///{tmp / 'warm.db'}"}
            row[name] = _child(run_child, child_env, tmp, args, a.timeout)
            print(f"{name} {size:,} lines {stores:,} stores: {row[name]}", file=sys.stderr)
            if not a.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        rows.append(row)
    print("\n" + "\n".join(table(rows, a.ray_workers)))
    return rows


def table(rows: list[dict], workers: int) -> list[str]:
    def f(x: float | None, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    head = ["lines", "stores", "load", "in-process s", "ray s", "ray/in-process", "ray driver CPU s",
            "in-process peak MiB", "ray driver peak MiB", "lines-on-driver peak MiB", "lines-on-driver s",
            "flags (same?)"]
    out = []
    for r in rows:
        loc, ray, back = r.get("local", {}), r.get("ray", {}), r.get("ray_driver", {})
        ratio = ray["scan_s"] / loc["scan_s"] if "scan_s" in ray and "scan_s" in loc else None
        same = "—" if "flags" not in ray or "flags" not in loc else \
            f"{ray['flags']:,} ({ray['flags'] == loc['flags'] == back.get('flags')})"
        out.append([f"{r['lines']:,}", f"{r['stores']:,}", f(r.get("load"), ".1f"), f(loc.get("scan_s"), ".1f"),
                    f(ray.get("scan_s"), ".1f"), f(ratio, ".2f"), f(ray.get("cpu_s"), ".1f"),
                    f(loc.get("peak_mib"), ",.0f"), f(ray.get("peak_mib"), ",.0f"), f(back.get("peak_mib"), ",.0f"),
                    f(back.get("scan_s"), ".1f"), same])
    widths = [max(len(h), *(len(t[i]) for t in out)) for i, h in enumerate(head)]
    lines = [" | ".join(h.rjust(w) for h, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(t, widths)) for t in out]

    def ratio_of(a: dict, b: dict, what: str, target: str) -> None:
        for name, label in (("ray", "ray driver peak"), ("ray_driver", "lines-on-driver peak")):
            x, y = a.get(name, {}).get("peak_mib"), b.get(name, {}).get("peak_mib")
            if x and y:
                lines.append(f"{label}, {what}: {x / y:.2f}{target if name == 'ray' else ''}")

    same_size = [r for r in rows if r["lines"] == rows[0]["lines"]]
    if len(same_size) > 1:
        ratio_of(same_size[-1], same_size[0], f"{same_size[-1]['stores']:,} ÷ {same_size[0]['stores']:,} stores",
                 " (target ≤ 1.2)")
    sized = sorted((r for r in rows if r["stores"] == rows[0]["stores"]), key=lambda r: r["lines"])
    if len(sized) > 1:
        ratio_of(sized[-1], sized[0], f"{sized[-1]['lines']:,} ÷ {sized[0]['lines']:,} lines",
                 " (flat: the driver holds no line)")
    lines.append(f"(ray: {workers} local workers, warm; ray/in-process target ≤ 1.5; peak = ru_maxrss of the "
                 "scanning process, RUSAGE_SELF; CPU: the driver's user+system seconds, workers not included; "
                 "lines-on-driver: scan.runner.split false, the read's lines back on the driver as before)")
    return lines


__all__ = ["section", "table"]
