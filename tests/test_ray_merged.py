"""A split Ray scan's platform frames merged from its store groups' parts (``ray_merged``): the
flags of the in-process scan, on a first scan and on a batch judged against the raw history
window and on a current state, with no planning task handed the whole batch and no line back
on the driver; and the
stale state that batch leaves rebuilt by bucket group (``rebuild_on_workers``) as in process."""

from __future__ import annotations

import shutil

import pytest

from contracts.config import load_config
from orderwatch.runner import ray_split
from orderwatch.scan import run_scan
from tests.ray_support import local_ray, skip_without_ray
from tests.test_runner_ray import _state_tables
from tests.runner_support import copy_site, flag_rows, one_day_batch, scan_world, world_fixtures

skip_without_ray("the Ray runner's merged platform frames")

scanned, world, in_process = world_fixtures("shopify_wholesale", "in_process")
ray_local = pytest.fixture(scope="module")(local_ray)


@pytest.fixture
def planned_by(monkeypatch):
    """How each split Ray scan's platform frames were made ("parts" or "task")."""
    seen: list[tuple[str, int]] = []
    real = ray_split._planned

    def spy(ray, runner, job, batch):
        planned = real(ray, runner, job, batch)
        seen.append((batch.planned_by, batch.ledger.line_rows))
        return planned
    monkeypatch.setattr(ray_split, "_planned", spy)
    return seen


def _one_day_both_ways(where, tmp_path, stale: bool) -> dict:
    """A one-day batch of five stores on copies of the scanned site, in process and split on Ray
    (``stale``: the state removed first, so the batch is judged on the raw window and rebuilt)."""
    batch, _stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=5)
    results = {}
    for runner in ("local", "ray"):
        site = copy_site(where / "site", tmp_path / runner)
        if stale:
            shutil.rmtree(site / "scan.history" / "state")
        cfg = load_config(overrides={"instance_dir": str(site / "instance"),
                                     "scan": {"runner": {"partitions": 3, "split": True}}})
        results[runner] = run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}", runner=runner)
    return results


def test_a_first_scan_merges_the_groups_parts_into_the_in_process_flags(ray_local, world, in_process, tmp_path,
                                                                       planned_by, monkeypatch):
    from orderwatch.runner.ray_merged import PARTS_CRASH_ONCE_ENV
    _, local = in_process
    marker = tmp_path / "parts_crashed"
    monkeypatch.setenv(PARTS_CRASH_ONCE_ENV, str(marker))   # a parts task's worker dies: Ray runs it again
    on_ray = scan_world(world, tmp_path / "site", runner="ray", partitions=3, split=True)
    assert marker.exists() and planned_by == [("parts", 0)]
    assert local.flags.height >= 15 and flag_rows(on_ray) == flag_rows(local)
    # the world's new stores are judged against the platform's usual: the merged frames matter
    assert {"volume_surge", "amount_spike", "price_deviation"} <= set(local.flags["kind"])


def test_a_batch_on_the_raw_history_window_merges_parts_that_read_stores_not_in_it(ray_local, in_process, tmp_path,
                                                                                  planned_by):
    results = _one_day_both_ways(in_process[0], tmp_path, stale=True)
    assert planned_by == [("parts", 0)]
    assert results["local"].flags.height and flag_rows(results["ray"]) == flag_rows(results["local"])
    # the stale state rebuilt by bucket group on the workers (``rebuild_on_workers``): the same state
    local, ray = results["local"].state, results["ray"].state
    assert local is not None and ray is not None and ray.rebuilt and local.rebuilt
    assert (ray.raw_rows_read, ray.rows) == (local.raw_rows_read, local.rows) and len(ray.steps) >= 2
    assert _state_tables(tmp_path / "ray") == _state_tables(tmp_path / "local")


def test_a_batch_on_a_current_state_merges_the_groups_parts_of_the_state_too(ray_local, in_process, tmp_path,
                                                                            planned_by):
    results = _one_day_both_ways(in_process[0], tmp_path, stale=False)
    assert planned_by == [("parts", 0)]
    assert results["local"].flags.height and flag_rows(results["ray"]) == flag_rows(results["local"])
    assert results["ray"].state is not None and not results["ray"].state.rebuilt
