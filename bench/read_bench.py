#!/usr/bin/env python
"""One large file read in parts on Ray beside the in-process read (issue 14, input that does
not fit one machine).

    python bench/read_bench.py [--sizes 1000000 4000000] [--chunk-mb 64] [--workers 2]

For each size, one CSV of ``bench/make_orders.py`` (cached under ``--dir``), each read in its
own subprocess:

* in-process: ``ingest.read_orders([file])``;
* Ray: ``ray.init(num_cpus=--workers)``, a warm-up read of a small file in parts (the workers'
  first imports), then ``RayRunner(read_chunk_mb=--chunk-mb).read([file])``.

Printed: seconds of each, Ray ÷ in-process, the peak RSS of the reading process (the Ray
driver: its workers and object store are other processes), the parts, and whether the lines
and quarantine are the same (a hash of every row).  The machine is shared: read the ratios,
and the load average printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scan_bench import ensure_data, run_child  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import polars as pl
from contracts.config import load_config
a = json.loads(sys.argv[1])
cfg = load_config(overrides={"instance_dir": a["tmp"]})
out = {}
def digest(r):
    return [r.lines.height, r.quarantine.height, int(r.lines.hash_rows().sum()), int(r.quarantine.hash_rows().sum())]
if a["runner"] == "ray":
    import ray
    from orderwatch.runner.on_ray import RayRunner
    t = time.perf_counter()
    ray.init(num_cpus=a["workers"], include_dashboard=False, log_to_driver=False, configure_logging=False)
    RayRunner(read_chunk_mb=a["warmup_chunk_mb"]).read([a["warmup"]], cfg)
    out["start_s"] = time.perf_counter() - t
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    r = RayRunner(read_chunk_mb=a["chunk_mb"]).read([a["path"]], cfg)
    out["parts"] = next((n.split()[2] for n in r.files[0].report.notes if n.startswith("read in ")), "1")
else:
    import ingest
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    r = ingest.read_orders([a["path"]], cfg)
    out["parts"] = "1"
out["read_s"] = time.perf_counter() - t
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["base_mib"] = base
out["lines_mib"] = r.lines.estimated_size() / 2**20
out["digest"] = digest(r)
out["reconciled"] = r.reconciled
print("RESULT " + json.dumps(out))
"""


def _child(args: dict, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    r = run_child([sys.executable, "-c", CHILD, json.dumps(args)], env=env, timeout=timeout, cwd=ROOT)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if not r.ok or line is None:
        return {"error": f"exit {r.rc}: " + " | ".join((r.stderr or r.stdout).strip().splitlines()[-5:])}
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--chunk-mb", type=float, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "owbench")
    a = ap.parse_args(argv)
    warm, _ = ensure_data(20_000, a.dir / "read_warmup", 50, a.seed)
    rows = []
    for size in a.sizes:
        path, meta = ensure_data(size, a.dir / f"read_{a.stores}", a.stores, a.seed)
        row = {"lines": meta["lines"], "mib": path.stat().st_size / 2**20}
        for runner in ("local", "ray"):
            with tempfile.TemporaryDirectory(prefix=f"read_{runner}_", dir=a.dir) as tmp:
                row[runner] = _child({"runner": runner, "path": str(path), "tmp": tmp, "workers": a.workers,
                                      "chunk_mb": a.chunk_mb, "warmup": str(warm),
                                      "warmup_chunk_mb": warm.stat().st_size / 2**20 / 3}, a.timeout)
            print(f"{runner} {size:,}: {row[runner]} (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
        rows.append(row)
    head = ["lines", "MiB", "in-process s", "ray s", "ray/in-process", "in-process peak MiB", "ray driver peak MiB",
            "lines frame MiB", "parts", "same", "load"]
    print(" | ".join(head))
    for r in rows:
        loc, ray = r["local"], r["ray"]
        ok = "read_s" in loc and "read_s" in ray
        print(" | ".join(str(x) for x in [
            f"{r['lines']:,}", f"{r['mib']:.0f}", f"{loc.get('read_s', 0):.1f}", f"{ray.get('read_s', 0):.1f}",
            f"{ray['read_s'] / loc['read_s']:.2f}" if ok else "—", f"{loc.get('peak_mib', 0):,.0f}",
            f"{ray.get('peak_mib', 0):,.0f}", f"{loc.get('lines_mib', 0):,.0f}", ray.get("parts", "—"),
            ok and loc["digest"] == ray["digest"] and ray.get("reconciled"), f"{os.getloadavg()[0]:.1f}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
