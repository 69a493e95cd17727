"""The scan on a local Ray (``--runner ray``): the flags of the in-process scan, task retries that
double nothing, a one-day batch that reads only its stores' history and baseline state, and a
cluster address with a SQLite store refused.

Skipped where Ray is not installed (``pip install -e '.[test,ray]'``); ``.ci/run`` sets
ORDERWATCH_RAY_TESTS=required, which makes a missing Ray a failure instead.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, func, select

from contracts.config import ConfigError, load_config
from orderwatch.runner.on_ray import CRASH_ONCE_ENV
from orderwatch.scan import run_scan
from store.models import Flag
from tests.ray_support import skip_without_ray
from tests.runner_support import copy_site, flag_rows, one_day_batch, scan_world, world_fixtures

skip_without_ray("the Ray runner")


@pytest.fixture(scope="module")
def ray_local():
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


scanned, world, in_process = world_fixtures("shopify_wholesale", "in_process")


def _stored_flags(site) -> int:
    engine = create_engine(f"sqlite:///{site / 'scan.db'}")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Flag)).scalar_one()
    engine.dispose()
    return n


def test_ray_raises_the_flags_evidence_and_reasons_of_the_in_process_scan(ray_local, world, in_process, tmp_path):
    _, local = in_process
    on_ray = scan_world(world, tmp_path / "site", runner="ray", partitions=3)
    # the world seeds three of each kind: enough flags of enough kinds to compare
    assert local.flags.height >= 15 and local.flags["kind"].n_unique() >= 4 and len(on_ray.partitions) == 3
    assert flag_rows(on_ray) == flag_rows(local)
    assert _stored_flags(tmp_path / "site") == _stored_flags(in_process[0] / "site")


def test_a_task_killed_mid_scan_is_retried_and_doubles_nothing(ray_local, world, in_process, tmp_path, monkeypatch):
    _, local = in_process
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    on_ray = scan_world(world, tmp_path / "site", runner="ray", partitions=2, split=True)
    assert marker.exists()                         # a worker did die in a task
    assert flag_rows(on_ray) == flag_rows(local)
    assert on_ray.flags.select("rule_id", "subject").is_unique().all()
    assert _stored_flags(tmp_path / "site") == local.flags.height
    # the history partition and the flagged orders' lines are written by tasks: none doubled
    lines, flagged, opened = _stored(tmp_path / "site")
    assert lines.height == local.new_lines and lines.select("source", "store_id", "order_id", "line_no").is_unique().all()
    assert flagged is not None and flagged.select("source", "store_id", "order_id", "line_no").is_unique().all()


def test_a_one_day_batch_on_ray_reads_only_its_stores_history(ray_local, in_process, tmp_path):
    where, _ = in_process
    batch, stores = one_day_batch(where / "site" / "scan.history", tmp_path)
    results = {}
    for runner in ("local", "ray"):
        site = copy_site(where / "site", tmp_path / runner)
        cfg = load_config(overrides={"instance_dir": str(site / "instance"), "scan": {"runner": {"partitions": 2}}})
        results[runner] = run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}", runner=runner)
    assert results["local"].flags.height and flag_rows(results["ray"]) == flag_rows(results["local"])
    reads = results["ray"].partitions
    assert sorted({s for p in reads for s in p.history_stores}) == sorted(stores)
    assert sum(p.stores for p in reads) == len(stores)
    assert sum(p.history_rows for p in reads) == sum(p.history_rows for p in results["local"].partitions)
    # the baseline state (issue 14): each task read the state rows of its own stores only, the
    # same rows as the in-process partitions, and no raw line of the new day (none was stored)
    assert sorted({s for p in reads for s in p.state_stores}) == sorted(stores)
    for p in reads:
        assert p.state_rows > 0 and p.slice_rows == 0
        assert set(p.state_stores) == set(p.history_stores) and len(p.state_stores) <= p.stores
    assert sorted((p.state_rows, tuple(p.state_stores)) for p in reads) == \
        sorted((p.state_rows, tuple(p.state_stores)) for p in results["local"].partitions)
    assert results["ray"].state is not None and not results["ray"].state.rebuilt


def test_several_files_are_read_one_task_each_by_the_projects_readers(ray_local, tmp_path):
    from ingest import read_orders
    from orderwatch.demo import generate
    from orderwatch.runner.on_ray import RayRunner

    demo = generate(tmp_path / "demo", stores=12, days=15, seed=3)   # GBK CSVs by week, a platform file
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    assert len(demo.order_files) >= 3
    here, there = read_orders(demo.order_files, cfg), RayRunner().read(demo.order_files, cfg)
    assert there.lines.equals(here.lines) and there.quarantine.equals(here.quarantine)
    assert here.quarantined and [(f.path, f.read, f.accepted, f.quarantined) for f in there.files] == \
        [(f.path, f.read, f.accepted, f.quarantined) for f in here.files]


@pytest.mark.parametrize("address", ["auto", "ray://head.example:10001"])
def test_a_cluster_address_with_a_sqlite_store_is_refused(address, tmp_path):
    runner = {"kind": "ray", "address": address}
    cfg = load_config(overrides={"instance_dir": str(tmp_path), "scan": {"runner": runner}})
    with pytest.raises(ConfigError, match="SQLite.*postgresql"):
        run_scan([tmp_path / "none.csv"], cfg, db_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert not (tmp_path / "x.db").exists()        # refused before anything was read or written


def test_a_file_read_in_parts_on_ray_scans_to_the_same_flags(ray_local, world, in_process, tmp_path):
    _, local = in_process
    largest = max(world.order_files, key=lambda p: os.path.getsize(p))
    chunk_mb = os.path.getsize(largest) / 4 / 2**20            # the world's largest file in about 4 parts
    on_ray = scan_world(world, tmp_path / "site", runner="ray", partitions=2, read_chunk_mb=chunk_mb)
    notes = {f.path: f.report.notes for f in on_ray.files if f.report is not None}
    assert any(n.startswith("read in ") for n in notes[str(largest)])
    assert [(f.path, f.read, f.accepted, f.quarantined) for f in on_ray.files] == \
        [(f.path, f.read, f.accepted, f.quarantined) for f in local.files]
    assert flag_rows(on_ray) == flag_rows(local)


def _counting_ray_get(monkeypatch, ray):
    """Every ``ray.get`` of the scanning process (the driver) counted: what came back to it."""
    from orderwatch.runner.ray_split import DriverLedger
    ledger, real = DriverLedger(), ray.get

    def get(refs, *args, **kwargs):
        got = real(refs, *args, **kwargs)
        for value in got if isinstance(refs, list) else [got]:
            ledger.count(value)
        return got
    monkeypatch.setattr(ray, "get", get)
    return ledger


def _state_tables(site) -> dict:
    """Every table of the site's baseline state (store buckets and platform tables), rows sorted."""
    import polars as pl
    from orderwatch import platform_state
    from orderwatch.baseline_state import state_of
    from store import History
    st = state_of(History(site / "scan.history"))
    tables = {**st.read(), **platform_state.read(st)}
    # floats to 9 decimals: a judged day's sums of logs add in another order in a partition (last bit)
    return {t: sorted(f.with_columns(pl.col(pl.Float64).round(9)).rows(), key=repr) for t, f in tables.items()}


def _stored(site):
    """What a scan left besides its flags: history lines, flagged orders' lines, open orders."""
    from store import History
    from store.models import OpenOrder
    history = History(site / "scan.history")
    key = ["source_file", "store_id", "order_id", "line_no", "sku"]
    lines = history.scan().collect().sort(key)
    flagged = sorted((site / "scan.history" / "flagged_lines").glob("scan_id=*.parquet"))
    import polars as pl
    flagged_rows = pl.concat([pl.read_parquet(f) for f in flagged]).sort(key) if flagged else None
    engine = create_engine(f"sqlite:///{site / 'scan.db'}")
    with engine.connect() as conn:
        opened = sorted(conn.execute(select(OpenOrder.store_id, OpenOrder.order_id)).all())
    engine.dispose()
    return lines, flagged_rows, opened


def test_the_lines_never_come_back_to_the_driver_and_every_step_stores_the_same(ray_local, world, in_process,
                                                                                 tmp_path, monkeypatch):
    where, local = in_process
    ledger = _counting_ray_get(monkeypatch, ray_local)
    chunk_mb = max(os.path.getsize(p) for p in world.order_files) / 3 / 2**20   # the largest file in parts
    on_ray = scan_world(world, tmp_path / "site", runner="ray", partitions=3, read_chunk_mb=chunk_mb, split=True)
    assert flag_rows(on_ray) == flag_rows(local) and len(on_ray.partitions) == 3
    assert ledger.objects > 0 and ledger.line_rows == 0       # counts, keys, flags: never a line
    assert (on_ray.read, on_ray.accepted, on_ray.quarantined, on_ray.new_lines) == \
        (local.read, local.accepted, local.quarantined, local.new_lines) and on_ray.read == local.accepted + local.quarantined
    here, there = _stored(where / "site"), _stored(tmp_path / "site")
    assert there[0].equals(here[0]) and there[0].height == local.new_lines
    assert there[1] is not None and there[1].equals(here[1]) and there[2] == here[2] and there[2]
    # the baseline state's first build, one task per store group from its objects: the same tables
    assert on_ray.state is not None and on_ray.state.rebuilt and _state_tables(tmp_path / "site") == \
        _state_tables(where / "site")
    # the check can fail: with split off the parts' lines do come back to the driver
    back = scan_world(world, tmp_path / "back", runner="ray", partitions=3, read_chunk_mb=chunk_mb, split=False)
    assert flag_rows(back) == flag_rows(local) and ledger.line_rows >= local.accepted


def test_an_inhibition_across_stores_is_judged_on_the_gathered_batch(ray_local, world, tmp_path):
    """An inhibition whose ``equal`` omits store_id pairs flags of several stores by their lines:
    the split scan judges such a pack on the gathered batch, with the flags of the in-process scan."""
    import shutil

    from orderwatch.runner.on_workers import OnWorkers
    from tests.runner_support import world_config
    rules = tmp_path / "rules"
    shutil.copytree(load_config().rules_dir, rules)
    pack = rules / "correlation.yaml"
    assert "equal: [store_id, day]" in pack.read_text(encoding="utf-8")
    pack.write_text(pack.read_text(encoding="utf-8").replace("equal: [store_id, day]", "equal: [day]"),
                    encoding="utf-8")
    results, gathered = {}, []
    judge = OnWorkers.judge

    def spy(self, runner, job):
        judged = judge(self, runner, job)
        gathered.append(self.read.ledger.line_rows)
        return judged
    OnWorkers.judge = spy
    try:
        for runner in ("local", "ray"):
            site = tmp_path / runner
            site.mkdir()
            cfg = world_config(world, site, partitions=2, split=True)
            cfg.raw["rules_dir"] = str(rules)
            results[runner] = run_scan(world.order_files, cfg, catalog=world.catalog_file, as_of=world.as_of,
                                       db_url=f"sqlite:///{site / 'scan.db'}", runner=runner)
    finally:
        OnWorkers.judge = judge
    assert results["local"].flags.height and flag_rows(results["ray"]) == flag_rows(results["local"])
    assert gathered == [results["local"].accepted]      # the batch was gathered, once, to judge it


def test_the_state_is_updated_per_store_group_and_a_killed_state_task_doubles_nothing(ray_local, in_process,
                                                                                     tmp_path, monkeypatch):
    from orderwatch.runner.on_ray import STATE_CRASH_ONCE_ENV
    where, _ = in_process
    batch, _stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=6)
    marker = tmp_path / "state_crashed"
    results = {}
    for runner in ("local", "ray"):
        site = copy_site(where / "site", tmp_path / runner)
        cfg = load_config(overrides={"instance_dir": str(site / "instance"),
                                     "scan": {"runner": {"partitions": 3, "split": True}}})
        if runner == "ray":
            monkeypatch.setenv(STATE_CRASH_ONCE_ENV, str(marker))
        results[runner] = run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}", runner=runner)
    assert marker.exists()                         # a state task's worker died after staging its files
    assert flag_rows(results["ray"]) == flag_rows(results["local"])
    local, ray = results["local"].state, results["ray"].state
    assert ray is not None and not ray.rebuilt and (ray.stores, ray.rows) == (local.stores, local.rows)
    assert _state_tables(tmp_path / "ray") == _state_tables(tmp_path / "local")
    staged = [p.name for p in (tmp_path / "ray" / "scan.history" / "state").rglob("*") if ".staged" in p.name
              or p.name.endswith(".tmp")]
    assert staged == []                            # the dead task's staged files were swept
