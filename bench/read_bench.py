#!/usr/bin/env python
"""Time the read stage of a scan (``ingest.read_orders``) against a bare ``pl.read_csv``.

    python bench/read_bench.py [--lines 1000000] [--dir /tmp/owbench] [--repeat 5]

The file is ``bench/make_orders.py``'s (the one ``scan_bench.py`` scans), generated once and
reused.  Runs are interleaved, in this process, and the minimum of each is reported: the
machine is shared, and the minimum is the figure least disturbed by neighbours.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from make_orders import make_orders  # noqa: E402

import ingest  # noqa: E402
from contracts.config import load_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "owbench")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    path = a.dir / f"orders_{a.lines}.csv"
    if not path.exists():
        make_orders(a.lines, path)
    config = load_config(overrides={"instance_dir": str(a.dir / "instance")})
    bare, ours = [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        pl.read_csv(path, infer_schema=False)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = ingest.read_orders([path], config)
        ours.append(time.perf_counter() - t)
    print(f"file: {path} ({result.read:,} lines, {result.accepted:,} accepted)")
    print(f"bare pl.read_csv (all text): min {min(bare):.3f} s  runs {[round(x, 2) for x in bare]}")
    print(f"ingest.read_orders:          min {min(ours):.3f} s  runs {[round(x, 2) for x in ours]}")
    print(f"read_orders / read_csv: {min(ours) / min(bare):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
