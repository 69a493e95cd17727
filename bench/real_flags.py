#!/usr/bin/env python
"""Flags per 1,000 orders on real exports, scanned as a new user meets orderwatch (no site config).

    python bench/real_flags.py [FILE ...] [--out DIR] [--read N] [--seed S]

Not a test: it prints figures.  Each file (default: every export in ``../shared/data/real``)
is scanned alone into a fresh SQLite database under DIR, judged as a backfill at its own
newest event; the script prints its orders, flags and flags per 1,000 orders by rule, and the
reasons of N flags picked at random (``--read``, default 5) so a person can judge them.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from contracts.config import load_config  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
EXPORTS = ("tmall_order_report1.csv", "mrtb_data.xlsx", "JDdata.xls")


def scan_one(path: Path, out: Path, read: int, rng: random.Random) -> dict:
    """Scan one file alone; its counts, flags by rule and a few reasons."""
    from orderwatch.scan import run_scan

    where = out / path.stem
    where.mkdir(parents=True, exist_ok=True)
    config = load_config(overrides={"instance_dir": str(where / "instance")})
    res = run_scan([path], config, db_url=f"sqlite:///{where / 'scan.db'}")
    from ingest import read_orders

    lines = read_orders([path], config).lines
    orders = lines.select("source", "store_id", "order_id").unique().height
    by_rule = (res.flags.group_by("rule_id", "level").len().sort("len", descending=True).rows()
               if res.flags.height else [])
    picked = rng.sample(range(res.flags.height), min(read, res.flags.height))
    reasons = [res.flags.row(i, named=True) for i in sorted(picked)]
    skipped = {d: why for r in res.reports for d, why in r.skipped_detectors.items()}
    return {"file": path.name, "orders": orders, "flags": res.flags.height, "by_rule": by_rule,
            "reasons": reasons, "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help=f"exports to scan (default: {', '.join(EXPORTS)} in {REAL})")
    ap.add_argument("--out", help="working directory (default: a new temporary one)")
    ap.add_argument("--read", type=int, default=5, help="reasons to print per file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    files = [Path(f) for f in args.files] or [REAL / n for n in EXPORTS]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        print(f"not found: {', '.join(missing)} (the real exports live in ../shared/data/real)")
        return 2
    out = Path(args.out or tempfile.mkdtemp(prefix="real_flags_"))
    rng = random.Random(args.seed)
    print(f"real_flags: no site config; working directory {out}")
    print(f"{'file':<26} {'orders':>7} {'flags':>6} {'per 1,000':>9}")
    results = [scan_one(f, out, args.read, rng) for f in files]
    for r in results:
        print(f"{r['file']:<26} {r['orders']:>7,} {r['flags']:>6,} {1000 * r['flags'] / max(r['orders'], 1):>9.1f}")
    for r in results:
        print(f"\n== {r['file']}: {r['flags']:,} flags on {r['orders']:,} orders")
        for rule, level, n in r["by_rule"]:
            print(f"   {rule:<26} {level:<8} {n:>6,} = {1000 * n / max(r['orders'], 1):.1f} per 1,000")
        if r["skipped"]:
            print("   not judged: " + "; ".join(f"{d} ({why})" for d, why in r["skipped"].items()))
        for f in r["reasons"]:
            print(f"   - [{f['rule_id']} {f['level']}] {f['reason']}")
    return 0


if __name__ == "__main__":
    pl.Config.set_tbl_rows(50)
    sys.exit(main())
