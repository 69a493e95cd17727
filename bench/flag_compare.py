#!/usr/bin/env python
"""Same flags before and after a speed change: dump one scan's flags, compare two dumps.

    python bench/flag_compare.py dump FILE OUT.parquet [--loose] [--db URL] [--profile OUT.prof]
    python bench/flag_compare.py diff A.parquet B.parquet

Why: a change to how flags are stored or how their sentences are chosen must not change a
single flag.  ``dump`` scans ``FILE`` (a ``make_orders.py`` file: its ``.meta.json`` gives the
catalog and ``as_of``) into a fresh database with the rule pack (or ``--loose``: the pack with
every lower threshold divided by 1000, as ``flag_bench.py`` scans) and writes every flag and
every late-but-done report row, with their levels, reason ids, figures and texts.  ``diff``
says, per column, how many rows differ (keyed by rule and subject) and shows a few.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

COLUMNS = ["rule_id", "subject", "kind", "level", "department", "order_id", "store_id", "title",
           "reason", "reason_id", "reason_args", "evidence"]
KEY = ["rule_id", "subject", "_report"]


def dump(path: Path, out: Path, *, loose: bool, db: str | None, profile: Path | None) -> None:
    """Scan ``path`` into a fresh database and write its flags and report rows to ``out``."""
    import yaml

    from flag_bench import loose_pack

    meta = json.loads(path.with_suffix(".meta.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rules = loose_pack(tmp / "loose", 1000.0) if loose else HERE.parent / "rules" / "pack"
        url = db or f"sqlite:///{tmp / 'scan.db'}"
        cfg = tmp / "config.yaml"
        cfg.write_text(yaml.safe_dump({"instance_dir": str(tmp / "instance"), "database": {"url": url},
                                       "rules_dir": str(rules)}), encoding="utf-8")
        os.environ["ORDERWATCH_CONFIG"] = str(cfg)
        from contracts.config import load_config
        from orderwatch.scan import run_scan

        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        r = run_scan([str(path)], load_config(), catalog=meta["catalog"],
                     as_of=datetime.fromisoformat(meta["as_of"]), db_url=url)
        wall = time.perf_counter() - t0
        if prof:
            prof.disable()
            prof.dump_stats(str(profile))
    frames = [r.flags.select(COLUMNS).with_columns(_report=pl.lit(False)),
              r.late_done.select(COLUMNS).with_columns(_report=pl.lit(True))]
    pl.concat(frames).sort(KEY).write_parquet(out)
    print(json.dumps({"flags": r.flags.height, "late_done": r.late_done.height, "wall_s": round(wall, 2),
                      "timings": {k: round(v, 2) for k, v in r.timings.items()}}))


def _canonical_json(col: pl.Series) -> pl.Series:
    """JSON text with its keys sorted (two encoders may order or space it differently)."""
    return pl.Series(col.name, [None if v is None else json.dumps(json.loads(v), sort_keys=True, ensure_ascii=False)
                                for v in col.to_list()], dtype=pl.String)


def diff(a: Path, b: Path, show: int = 3) -> int:
    """Rows and columns that differ between two dumps; exit status 1 when any does."""
    left, right = pl.read_parquet(a), pl.read_parquet(b)
    print(f"{a.name}: {left.height:,} rows; {b.name}: {right.height:,} rows")
    only_l = left.join(right, on=KEY, how="anti")
    only_r = right.join(left, on=KEY, how="anti")
    bad = only_l.height + only_r.height
    for name, only in ((a.name, only_l), (b.name, only_r)):
        if only.height:
            print(f"  only in {name}: {only.height:,}", only.select(KEY).head(show).to_dicts())
    both = left.join(right, on=KEY, suffix="_b")
    for c in COLUMNS:
        if c in KEY:
            continue
        x, y = both.get_column(c), both.get_column(f"{c}_b")
        exact = int((~x.eq_missing(y)).sum())
        if exact and c in ("reason_args", "evidence"):
            same = _canonical_json(x).eq_missing(_canonical_json(y))
            print(f"  {c}: {exact:,} differ as text, {int((~same).sum()):,} as JSON")
            exact = int((~same).sum())
        elif exact:
            print(f"  {c}: {exact:,} differ")
        if exact:
            bad += exact
            rows = both.filter(~x.eq_missing(y)).select(*KEY, c, f"{c}_b").head(show)
            for r in rows.to_dicts():
                print("    ", r)
    print("identical" if not bad else f"{bad:,} differences")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("file", type=Path)
    d.add_argument("out", type=Path)
    d.add_argument("--loose", action="store_true")
    d.add_argument("--db")
    d.add_argument("--profile", type=Path)
    c = sub.add_parser("diff")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "dump":
        dump(a.file, a.out, loose=a.loose, db=a.db, profile=a.profile)
        return 0
    return diff(a.a, a.b)


if __name__ == "__main__":
    sys.exit(main())
