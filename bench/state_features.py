"""``store_day_surge``'s day features of a one-day batch: from the baseline state ÷ from the raw
history window, on ``state_bench``'s split (90 days of history, ~15 k lines of the last day).

    python bench/state_features.py [--dir /tmp/owbench] [--site DIR]

The history is scanned once into a site (``--site``, kept for reruns), which keeps the state;
then, in this process, the detector computes the batch's store-days both ways, back to back:
each way's seconds (read included), what it read (state rows, raw lines) and, per feature, the
largest difference and how many store-days disagree on null — all 0 when the state is exact.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import state_bench  # noqa: E402


def _site(site: Path, meta: dict) -> Path:
    """A site whose database and history hold the split's history (scanned once)."""
    cfg = site / "config.yaml"
    if (site / "scan.history").exists():
        return cfg
    site.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f"instance_dir: {site / 'instance'}\ndatabase: {{url: 'sqlite:///{site / 'scan.db'}'}}\n",
                   encoding="utf-8")
    env = {**os.environ, "ORDERWATCH_CONFIG": str(cfg), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", "import sys; from datetime import datetime; "
                    "from contracts.config import load_config; from orderwatch.scan import run_scan; "
                    "run_scan([sys.argv[1]], load_config(), catalog=sys.argv[2], "
                    "as_of=datetime.fromisoformat(sys.argv[3]))",
                    meta["history"], meta["catalog"], meta["history_as_of"]], env=env, check=True, cwd=site)
    return cfg


def compare(site: Path, batch_path: str) -> list[str]:
    import ingest
    from contracts.config import load_config
    from detectors import REGISTRY, DetectContext
    from detectors.common import prepare
    from detectors.volume_surge import DAY_FEATURES
    from orderwatch.runner.partition import combined, history_of, since_of
    from orderwatch.runner.with_state import current, read_view
    from rules.loader import load_rules
    from store import History

    cfg = load_config()
    hist = History(site / "scan.history")
    batch = ingest.read_orders([batch_path], cfg).lines
    rule = next(r for r in load_rules(cfg) if r.id == "store_day_surge")
    p = REGISTRY["volume_surge"].with_defaults(rule.params)
    since = since_of(batch, cfg)
    if not current(hist, cfg):
        return ["the site's baseline state is not current: rescan (delete --site)"]
    t = time.perf_counter()
    view = read_view(hist, cfg, batch, since)
    lines = prepare(combined(batch, view.day_slice.lazy()), cfg).collect().lazy()
    ctx = DetectContext(lines=lines, catalog=None, as_of=since, config=cfg, state=view.tables, since=since)
    on_state = REGISTRY["volume_surge"].compute(ctx, p).collect()
    t_state = time.perf_counter() - t
    t = time.perf_counter()
    past = history_of(hist, since)
    raw_lines = prepare(combined(batch, past), cfg).collect()
    raw = REGISTRY["volume_surge"].compute(DetectContext(lines=raw_lines.lazy(), catalog=None, as_of=since,
                                                         config=cfg), p).collect()
    t_raw = time.perf_counter() - t
    out = [f"store_day_surge on {on_state.height:,} store-days of a {batch.height:,}-line batch: "
           f"state {t_state:.2f} s ({view.state_rows:,} state rows, {view.slice_rows:,} raw day-slice lines) ÷ "
           f"raw window {t_raw:.2f} s ({raw_lines.height - batch.height:,} history lines) = {t_state / t_raw:.2f}"]
    both = raw.select("subject", *DAY_FEATURES).join(on_state.select("subject", *DAY_FEATURES), on="subject",
                                                     how="full", suffix="_s")
    out.append(f"store-days: raw {raw.height:,}, state {on_state.height:,}, matched "
               f"{both.filter(pl.col('subject').is_not_null() & pl.col('subject_s').is_not_null()).height:,}")
    for c in DAY_FEATURES:
        a, b = both[c], both[c + "_s"]
        nulls = int((a.is_null() != b.is_null()).sum())
        if a.dtype.is_numeric():
            diff = (a.cast(pl.Float64) - b.cast(pl.Float64)).abs().max()
            out.append(f"  {c:<22} max |diff| {diff if diff is not None else 0.0:.3g}  null mismatches {nulls}")
        else:
            out.append(f"  {c:<22} unequal {int((a != b).sum())}  null mismatches {nulls}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/owbench"))
    ap.add_argument("--site", type=Path, default=None, help="site holding the scanned history (default under --dir)")
    ap.add_argument("--history-days", type=int, default=90)
    ap.add_argument("--day-lines", type=int, default=15_600)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    meta = state_bench.ensure_split(a.dir / f"state_{a.history_days}d_{a.day_lines}_{a.stores}",
                                    days=a.history_days, lines_per_day=a.day_lines, stores=a.stores, seed=a.seed)
    site = a.site or a.dir / f"state_site_{a.history_days}d_{a.day_lines}_{a.stores}"
    os.environ["ORDERWATCH_CONFIG"] = str(_site(site, meta))
    os.chdir(site)
    print("\n".join(compare(site, meta["batch"])))


if __name__ == "__main__":
    main()
