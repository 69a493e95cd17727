"""A scan on a current baseline state raises the flags of a scan that reads the raw history window.

A bench world's history is scanned once; then the same one-day batch (new orders of a few
stores, one of them keyed with an extra zero, one placed again half an hour after a stored
order, one cash-on-delivery order of a fortune) is scanned on two copies of the site: one with
its state (the detectors read ``ctx.state`` and the batch's slice), one with the state removed
(stale: the raw window, then rebuilt).  Every rule's flags, evidence and reasons are the same.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl

from orderwatch.runner.with_state import current
from orderwatch.scan import run_scan
from store import History
from tests.runner_support import copy_site, flag_rows, one_day_batch, world_config, world_fixtures

scanned, world, one_piece = world_fixtures("erp_cases", "one_piece")


def _batch(history_dir: Path, out: Path) -> tuple[Path, list[str]]:
    """The runner's one-day batch, and a stored order of the history's last day placed again
    30 minutes later under a new number (a duplicate against a stored order)."""
    path, stores = one_day_batch(history_dir, out)
    lines = History(history_dir).scan().collect()
    last = lines.filter(pl.col("created_at").dt.date() == lines.get_column("created_at").max().date())
    first = last.filter(pl.col("order_id") == last.sort("created_at").get_column("order_id")[0])
    again = first.select(("D" + pl.col("order_id")).alias("order_id"), "store_id", "store_name",
                         (pl.col("created_at") + timedelta(minutes=30)).dt.strftime("%Y-%m-%d %H:%M:%S").alias("created_at"),
                         "sku", "quantity", "unit_price", "line_no")
    day = pl.read_csv(path, schema_overrides={"order_id": pl.String, "store_id": pl.String})
    # one store's last new order, again an hour later as a cash-on-delivery order of a fortune
    big = day.filter(pl.col("order_id") == day.get_column("order_id")[-1]).with_columns(
        ("B" + pl.col("order_id")).alias("order_id"), (pl.col("unit_price") * 200).alias("unit_price"),
        (pl.col("created_at").str.to_datetime() + timedelta(hours=1)).dt.strftime("%Y-%m-%d %H:%M:%S").alias("created_at"),
        pl.lit("货到付款").alias("payment_method"))
    batch = pl.concat([day, again.with_columns(pl.col("line_no").cast(pl.Int64)), big], how="diagonal_relaxed")
    batch.write_csv(path)
    return path, stores


def _scan(world, site: Path, batch: Path):
    """The batch scanned as the world's site scans (its store master: credit limits)."""
    return run_scan([batch], world_config(world, site), db_url=f"sqlite:///{site / 'scan.db'}")


def test_a_batch_on_the_state_raises_the_flags_of_the_raw_window(world, one_piece, tmp_path):
    where, _ = one_piece
    batch, _stores = _batch(where / "site" / "scan.history", tmp_path)
    on_state, on_raw = copy_site(where / "site", tmp_path / "state"), copy_site(where / "site", tmp_path / "raw")
    cfg = world_config(world, on_state)
    assert current(History(on_state / "scan.history"), cfg)
    shutil.rmtree(on_raw / "scan.history" / "state")
    assert not current(History(on_raw / "scan.history"), cfg)
    state, raw = _scan(world, on_state, batch), _scan(world, on_raw, batch)
    assert not state.state.rebuilt and raw.state.rebuilt
    kinds = set(raw.flags["kind"])
    assert {"volume_surge", "duplicate_order", "price_deviation", "credit_limit"} <= kinds, kinds
    assert flag_rows(state) == flag_rows(raw)
