#!/usr/bin/env python
"""Benchmark the rules workbench's dry run (``orderwatch rules test``): 90 days of 2,000 stores.

    python bench/rules_test_bench.py [--lines 1800000] [--stores 2000] [--days 90] [--dir /tmp/owbench]
                                     [--per-day-sample 3]

Generates the order file with ``make_orders.py`` (unless it is there with a matching meta),
scans it once into a fresh SQLite database with the shipped pack (the stored history), then
times, in this process:

* the dry run of the whole period with a changed pack — every rule's lowest level with its
  first threshold at 0.8× (every rule changes, so every rule is judged twice: the worst case);
* a sample of one-day dry runs, extrapolated to the period: what judging it a scan per day
  would cost.

Prints the figures, the ratio, and whether the target (the whole period in under 60 s) is met.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from make_orders import make_orders, paths_for  # noqa: E402

TARGET_SECONDS = 60.0


def changed_pack(src: Path, dest: Path) -> Path:
    """A copy of the pack with each rule's lowest level's first threshold at 0.8×."""
    from contracts.config import load_config
    from rules.edit import set_levels
    from rules.loader import read_rule_files
    from rules.suggest import thresholds, with_values

    shutil.copytree(src, dest)
    rules, _ = read_rule_files(dest, load_config())
    for r in rules:
        level = r.lowest_level
        ts = thresholds(r.level_text[level])
        if not ts:
            continue
        path = dest / r.file.name
        new = with_values(r.level_text[level], {0: round(ts[0].value * 0.8, 4)})
        path.write_text(set_levels(path.read_text(encoding="utf-8"), r.id, {level: new}), encoding="utf-8")
    return dest


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_800_000)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/owbench"))
    ap.add_argument("--per-day-sample", type=int, default=3, help="one-day dry runs timed (0: skip)")
    a = ap.parse_args(argv)

    from contracts.config import load_config
    from orderwatch import dryrun_compare as cmp
    from orderwatch.dryrun import dry_run
    from orderwatch.scan import run_scan
    from rules import load_rules

    src = a.dir / f"rules_test_{a.stores}x{a.days}_{a.lines}.csv"
    cat_path, meta_path = paths_for(src)
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and src.exists() else None
    if not meta or meta.get("lines") != a.lines or meta.get("days") != a.days or meta.get("stores") != a.stores:
        meta = make_orders(a.lines, src, stores=a.stores, days=a.days)
    as_of = datetime.fromisoformat(meta["as_of"])

    with tempfile.TemporaryDirectory(prefix="ow-rules-test-bench-") as tmp:
        tmp_path = Path(tmp)
        cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "jobs": {"in_serve": False}})
        url = f"sqlite:///{tmp_path / 'bench.db'}"
        t = time.perf_counter()
        scanned = run_scan([src], cfg, catalog=cat_path, as_of=as_of, db_url=url)
        scan_s = time.perf_counter() - t
        live = load_rules(cfg)
        candidate = load_rules(cfg, changed_pack(cfg.rules_dir, tmp_path / "rules"))
        first = as_of.date() - timedelta(days=a.days - 1)

        t = time.perf_counter()
        run = dry_run(cfg, live, candidate, db_url=url, since=first, until=as_of.date())
        whole_s = time.perf_counter() - t
        levels = cmp.by_level(run).filter(cmp.pl.col("level") == cmp.ALL)
        added, removed = int(levels["added"].sum()), int(levels["removed"].sum())

        sample = []
        for k in range(a.per_day_sample):
            day = as_of.date() - timedelta(days=k * max(1, a.days // max(1, a.per_day_sample)))
            t = time.perf_counter()
            dry_run(cfg, live, candidate, db_url=url, since=day, until=day)
            sample.append(time.perf_counter() - t)

    print(f"rules test benchmark, {datetime.now():%Y-%m-%d %H:%M}: {a.days} days × {a.stores:,} stores, "
          f"{run.lines:,} order lines ({meta['lines']:,} generated), {len(live)} rules, all changed")
    print(f"  scan of the file (stored history, for scale): {scan_s:.1f} s, {scanned.flags.height:,} flags")
    print(f"  dry run of the whole period, one pass:        {whole_s:.1f} s "
          f"(now {run.live.height:,} flags, with the change {run.new.height:,}: +{added:,} / -{removed:,})")
    if sample:
        per_day = sum(sample) / len(sample)
        print(f"  one-day dry run (mean of {len(sample)}):            {per_day:.1f} s "
              f"→ a dry run per day over {a.days} days ≈ {per_day * a.days:.0f} s "
              f"= {per_day * a.days / whole_s:.1f}× the one pass")
    print(f"  peak memory of this process: {_peak_mib():,.0f} MiB")
    met = whole_s < TARGET_SECONDS
    print(f"  target: the whole period in under {TARGET_SECONDS:.0f} s — {'met' if met else 'NOT met'} "
          f"({whole_s / TARGET_SECONDS:.2f} of it)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
