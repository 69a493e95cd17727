"""``python -m orderwatch.demo OUT_DIR``: write the demo order files and say what was seeded."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from orderwatch.demo import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orderwatch.demo",
                                 description="Write the demo order files with seeded anomalies.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--stores", type=int, default=300)
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--end", help='"YYYY-MM-DD HH:MM" (default: today 16:00)')
    ap.add_argument("--seeded-json", type=Path, help="also write the seeded ids to this file")
    a = ap.parse_args(argv)
    end = datetime.fromisoformat(a.end) if a.end else None
    ds = generate(a.out_dir, stores=a.stores, days=a.days, seed=a.seed, end=end)
    print(f"{ds.orders} orders, {ds.lines} lines from {ds.stores} stores; as of {ds.as_of}")
    print(f"promotion day: {ds.promotion_day}")
    for p in ds.order_files:
        print(f"  {p}")
    print(f"  {ds.catalog}")
    for k, v in ds.seeded.items():
        print(f"  seeded {k}: {len(v)}")
    if a.seeded_json:
        a.seeded_json.write_text(json.dumps({"as_of": ds.as_of.isoformat(sep=" "), **ds.seeded},
                                            ensure_ascii=False, indent=1), encoding="utf-8")
    return 0
