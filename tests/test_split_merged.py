"""Platform frames merged from store groups' parts are exactly those of one plan over every store.

``orderwatch.runner.merged`` is what the Ray runner does with its lines on the workers: each
store group (whole state buckets) computes each platform frame's part over its own stores, one
task merges them.  Here, in process and without Ray, the groups' merged frames are held to the
frames ``partition.plan`` computes over the whole batch — on a world's first scan (no history)
and on a later batch judged against the raw history window (the state removed), where the
SKU references, the cohort of orders, the line spread and both passes' day factors all read
stores that are not in the batch.
"""

from __future__ import annotations

import dataclasses
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contracts.config import load_config
from ingest.split import assign_buckets, buckets_of, group_keys
from orderwatch.runner import partition
from orderwatch.runner.merged import merged_factors, owned_buckets, rule_frames
from orderwatch.runner.merged_state import Group
from detectors.needs import merged_presence
from orderwatch.scan import run_scan
from store import History
from tests.runner_support import copy_site, one_day_batch, scan_world, world_fixtures

scanned, world, one_piece = world_fixtures("shopify_wholesale", "one_piece")


def _planned(monkeypatch, run, snapshot):
    """The job and plan of an in-process partitioned scan (``run()``), the job's history (and
    state) as the plan read them: copied to ``snapshot`` before the scan stores its lines."""
    seen = []
    real = partition.plan

    def spy(job, n):
        p = real(job, n)
        if job.history.dir.exists():
            shutil.copytree(job.history.dir, snapshot)
        seen.append((dataclasses.replace(job, history=History(snapshot)), p))
        return p
    from orderwatch.runner import local
    monkeypatch.setattr(local, "plan", spy)
    run()
    assert len(seen) == 1
    return seen[0]


def _merged(job, groups: int, on_state: bool = False):
    """The platform frames and presence from ``groups`` bucket groups' parts."""
    since = partition.since_of(job.batch, job.config)
    placed = assign_buckets(group_keys(job.batch), groups)
    owned = owned_buckets(placed)
    bucket = buckets_of(job.batch)
    parts = [Group(job, job.batch.filter(bucket.is_in(b)), since, owned[i], on_state) for i, b in enumerate(placed)]
    present = merged_presence(g.presence() for g in parts)
    present = {f: fields | job.given for f, fields in present.items()}
    contexts = [rule_frames(g.context(present), [*job.rules, *job.shadow_rules]) for g in parts]
    return present, merged_factors(contexts[0][0], [c for _, c in contexts]), len(placed)


def _same(planned, merged) -> None:
    planned = {k: frames for k, frames in planned.items() if frames}    # a key with no frame: none merged
    assert planned.keys() == merged.keys()
    for key in planned:
        assert planned[key].keys() == merged[key].keys(), key
        for name, frame in planned[key].items():
            assert_frame_equal(merged[key][name], frame, check_row_order=False, check_exact=True)


@pytest.mark.parametrize("groups", [3, 5])
def test_the_groups_merged_frames_are_the_plans_on_a_first_scan(world, monkeypatch, tmp_path, groups):
    job, planned = _planned(monkeypatch, lambda: scan_world(world, tmp_path / "site", partitions=2),
                            tmp_path / "planned")
    present, merged, n = _merged(job, groups)
    assert n == groups and present == planned.present
    names = {name for frames in planned.factors.values() for name in frames}
    assert {"line_spread", "day_factors_1", "day_factors_2", "sku_qty", "qty", "order_amount", "sku_price"} <= names
    _same(planned.factors, merged)


def test_the_groups_merged_frames_are_the_plans_on_the_raw_history_window(one_piece, monkeypatch, tmp_path):
    where, _ = one_piece
    batch, stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=5)
    site = copy_site(where / "site", tmp_path / "site")
    shutil.rmtree(site / "scan.history" / "state")          # judged on the raw window, as a stale state is
    cfg = load_config(overrides={"instance_dir": str(site / "instance"), "scan": {"runner": {"partitions": 2}}})
    job, planned = _planned(monkeypatch, lambda: run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}"),
                            tmp_path / "planned")
    assert planned.view is None and not job.history.empty
    present, merged, n = _merged(job, 3)
    assert n == 3 and present == planned.present
    # the frames read every store's history, not only the five in the batch
    qty = next(f["sku_qty"] for f in planned.factors.values() if "sku_qty" in f)
    assert qty.height > 0 and pl.Series(stores).n_unique() == 5
    _same(planned.factors, merged)


def test_the_groups_merged_frames_are_the_plans_on_a_current_state(one_piece, monkeypatch, tmp_path):
    """On state each group reads its batch stores' rows and its buckets' share of the tables of
    every store (the line spread's parts, the platform's newest orders, prices, quantities)."""
    where, _ = one_piece
    batch, _stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=5)
    site = copy_site(where / "site", tmp_path / "site")
    cfg = load_config(overrides={"instance_dir": str(site / "instance"), "scan": {"runner": {"partitions": 2}}})
    job, planned = _planned(monkeypatch, lambda: run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}"),
                            tmp_path / "planned")
    assert planned.view is not None
    for groups in (2, 4):
        present, merged, n = _merged(job, groups, on_state=True)
        assert n == groups and present == planned.present
        _same(planned.factors, merged)


@pytest.mark.parametrize("stale", [False, True])
def test_the_demos_files_and_sources_merge_to_the_plans_frames(monkeypatch, tmp_path, stale):
    """The demo's weekly GBK exports and its platform file, the last week scanned on the first
    weeks' history (on the state, or on the raw window): what each file carries, its source's
    history included, and every frame merged from 3 groups are the plan's."""
    from orderwatch.demo import generate
    demo = generate(tmp_path / "demo", stores=24, days=21, seed=5)
    first, last = demo.order_files[:-2], demo.order_files[-2:]
    assert first and last
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "scan": {"runner": {"partitions": 2}}})
    db = f"sqlite:///{tmp_path / 'scan.db'}"
    run_scan(first, cfg, catalog=demo.catalog, as_of=demo.as_of, db_url=db)
    if stale:
        from contracts.config import history_dir_for
        shutil.rmtree(history_dir_for(db, cfg) / "state")
    job, planned = _planned(monkeypatch, lambda: run_scan(last, cfg, catalog=demo.catalog, as_of=demo.as_of,
                                                          db_url=db), tmp_path / "planned")
    assert (planned.view is None) == stale and not job.history.empty and len(planned.present) >= 2
    present, merged, n = _merged(job, 3, on_state=not stale)
    assert n == 3 and present == planned.present
    _same(planned.factors, merged)
