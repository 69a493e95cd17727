"""Store partitions give the flags of one piece, and read only their stores' history.

The partitioned path is what a cluster runs (``orderwatch.runner.partition``): platform frames
first, then each store group alone.  Run in this process (``scan.runner.partitions``) it must
raise exactly the flags, evidence and reasons of the scan in one piece — on a bench world with
history, catalog, store master, inhibitions and correlation — and a one-day batch must read
only the history of the stores in it.
"""

from __future__ import annotations

import polars as pl
import pytest

from contracts.config import ConfigError, load_config
from orderwatch.runner import runner_settings
from store import History
from tests.runner_support import copy_site, flag_rows, one_day_batch, scan_world, world_fixtures


scanned, world, one_piece = world_fixtures("erp_cases", "one_piece")


def test_partitions_raise_the_flags_of_one_piece(world, one_piece, tmp_path):
    _, whole = one_piece
    parts = scan_world(world, tmp_path / "site", partitions=3)
    # enough flags for the comparison to mean something: the world seeds three of each kind (the
    # bound was 50 while amount spikes still raised false alarms at five times a store's median)
    assert whole.flags.height > 30 and whole.partitions == []
    assert len(parts.partitions) == 3 and sum(p.batch_rows for p in parts.partitions) == whole.accepted
    assert flag_rows(parts) == flag_rows(whole)
    assert {"volume_surge", "amount_spike", "credit_limit", "price_deviation"} <= set(whole.flags["kind"])
    assert (parts.flags_created, parts.flags_raised) == (whole.flags_created, whole.flags_raised)


def test_a_one_day_batch_reads_only_its_stores_history(one_piece, tmp_path):
    where, _ = one_piece
    batch, stores = one_day_batch(where / "site" / "scan.history", tmp_path)
    results = {}
    for n in (1, 2):
        site = copy_site(where / "site", tmp_path / f"site{n}")
        cfg = load_config(overrides={"instance_dir": str(site / "instance"),
                                     "scan": {"runner": {"partitions": n}}})
        from orderwatch.scan import run_scan
        results[n] = run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}")
    assert results[1].flags.height and flag_rows(results[2]) == flag_rows(results[1])
    reads = results[2].partitions
    history = History(where / "site" / "scan.history").scan().collect()
    mine = history.filter(pl.col("store_id").is_in(stores))
    assert sorted({s for p in reads for s in p.history_stores}) == sorted(stores)
    assert sum(p.history_rows for p in reads) == mine.height < history.height / 5
    assert sum(p.stores for p in reads) == len(stores)


def test_the_runner_setting_is_checked():
    cfg = load_config()
    assert runner_settings(cfg)["kind"] == "local"
    assert runner_settings(cfg, "ray")["kind"] == "ray"
    with pytest.raises(ConfigError, match="unknown runner 'spark'"):
        runner_settings(load_config(overrides={"scan": {"runner": {"kind": "spark"}}}))
