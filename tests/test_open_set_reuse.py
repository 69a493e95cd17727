"""A first scan's open set reads the detect context's lines and stage frame instead of
rebuilding them (``orderwatch.open_orders.order_states(judged=...)``): the same rows either way."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import ingest
from contracts.config import load_config
from detectors import DetectContext, stage_overdue
from detectors.common import prepare
from detectors.needs import presence
from orderwatch.decide import decide
from orderwatch.open_orders import scan_states
from rules import load_rules

BENCH = Path(__file__).resolve().parent.parent / "bench" / "make_orders.py"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_orders", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("orders") / "orders.csv"
    meta = mod.make_orders(6000, out, stores=40, seed=3, quiet=True)
    return out, meta


def test_the_open_set_of_a_first_scan_is_the_same_from_the_judged_context(batch, tmp_path, monkeypatch):
    path, meta = batch
    (tmp_path / "config.yaml").write_text(f"instance_dir: {tmp_path / 'instance'}\n", encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(tmp_path / "config.yaml"))
    config = load_config()
    lines = ingest.read_orders([path], config).lines
    catalog, _ = ingest.read_catalog(meta["catalog"], config)
    assert catalog.get_column("fresh").any()          # the frame differs in its fresh goods
    as_of = datetime.fromisoformat(meta["as_of"])
    rules = load_rules(config)
    prepared = prepare(lines.lazy().with_columns(pl.lit(True).alias("_in_batch")), config).collect()
    ctx = DetectContext(lines=prepared.lazy(), catalog=catalog.lazy(), as_of=as_of, config=config)
    present = presence(ctx.lines)
    decide(ctx, [r for r in rules if r.detector != "flag_cluster"], present)
    assert "stage_orders" in ctx.cache
    alone = scan_states(lines, config, as_of, rules, present)
    built = []
    monkeypatch.setattr(stage_overdue, "_order_frame", lambda c: built.append(c) or pytest.fail("rebuilt"))
    reused = scan_states(lines, config, as_of, rules, present, judged=ctx)
    assert built == []                                  # the judged context's order frame was read
    assert alone.get_column("open").sum() > 0 and (~alone.get_column("open")).sum() > 0
    key = ["source", "store_id", "order_id"]
    assert_frame_equal(alone.sort(key), reused.sort(key))
