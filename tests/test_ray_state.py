"""The baseline state updated per group of store buckets on a local Ray (issue 14): each task
reads its buckets and stages their new files, the driver reads no store bucket and only
renames; the state equals the in-process scan's, and a task killed after staging is retried
without leaving a second copy of anything.

Skipped where Ray is not installed; ``.ci/run`` sets ORDERWATCH_RAY_TESTS=required.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contracts.config import load_config
from orderwatch import platform_state
from orderwatch.baseline_state import state_of
from orderwatch.runner.on_ray import STATE_CRASH_ONCE_ENV
from orderwatch.scan import run_scan
from store import History
from store.baseline_state import BaselineState, bucket_of
from tests.ray_support import local_ray, skip_without_ray
from tests.runner_support import copy_site, flag_rows, one_day_batch, world_fixtures

skip_without_ray("the baseline state on Ray")

ray_local = pytest.fixture(scope="module")(local_ray)
scanned, world, in_process = world_fixtures("shopify_wholesale", "in_process")


def _state(site: Path) -> dict[str, pl.DataFrame]:
    st_ = state_of(History(site / "scan.history"))
    return {t: f.sort(f.columns, nulls_last=True) for t, f in {**st_.read(), **platform_state.read(st_)}.items()}


def _same_state(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame], judged_tolerance: bool = False) -> None:
    """Every table row for row; on a difference, the rows only one side has.  ``judged_tolerance``:
    the judged store-days' floats within 1e-9 (relative) — those rows are the detectors' output
    (``DetectContext.kept``), whose sums over a store-day's lines follow the order a judging
    partition holds them in, not the state's write path."""
    for t in a:
        if judged_tolerance and t in ("judged_days", "day_bins"):
            assert_frame_equal(a[t], b[t], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
            continue
        if not a[t].equals(b[t]):
            only = (a[t].join(b[t], on=a[t].columns, how="anti", nulls_equal=True),
                    b[t].join(a[t], on=a[t].columns, how="anti", nulls_equal=True))
            raise AssertionError(f"{t}: {a[t].height} vs {b[t].height} rows; only in the first {only[0].head(3).rows()}, "
                                 f"only in the second {only[1].head(3).rows()}")


def _scan(where: Path, site: Path, batch: Path, runner: str, split: bool = False):
    """``split`` False: the batch comes back to the driver, which runs the bucket jobs as tasks
    (``RayStateMapper``); True: the lines stay on the workers (``orderwatch.runner.on_workers``)."""
    copy_site(where / "site", site)
    cfg = load_config(overrides={"instance_dir": str(site / "instance"),
                                 "scan": {"runner": {"partitions": 2, "split": split}}})
    return run_scan([batch], cfg, db_url=f"sqlite:///{site / 'scan.db'}", runner=runner)


@pytest.fixture
def bucket_reads(monkeypatch):
    """Buckets this process (the driver) reads to rewrite them; Ray's workers are other processes."""
    seen: list[int] = []
    real = BaselineState.read_buckets

    def counted(self, ks, tables=None):
        ks = list(ks)
        seen.extend(ks)
        return real(self, ks, tables)
    monkeypatch.setattr(BaselineState, "read_buckets", counted)
    return seen


@pytest.mark.parametrize("split", [False, True])
def test_a_one_day_batch_on_ray_updates_the_state_in_tasks_as_in_process(ray_local, in_process, tmp_path,
                                                                         bucket_reads, split):
    where, _ = in_process
    batch, stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=8)
    before = state_of(History(where / "site" / "scan.history")).read(stores)
    local = _scan(where, tmp_path / "local", batch, "local")
    touched = sorted({bucket_of(s) for s in stores})
    assert sorted(set(bucket_reads)) == touched          # in-process: the driver read the touched buckets
    bucket_reads.clear()
    ray = _scan(where, tmp_path / "ray", batch, "ray", split)
    assert bucket_reads == []                            # on Ray: the tasks did, the driver only renamed
    assert flag_rows(ray) == flag_rows(local)
    _same_state(_state(tmp_path / "local"), _state(tmp_path / "ray"))
    assert not ray.state.rebuilt and ray.state.stores == local.state.stores == len(stores)
    # what was read: the batch's stores' stored rows (by the tasks) and the platform tables whole
    platform = sum(f.height for f in platform_state.read(state_of(History(where / "site" / "scan.history"))).values())
    assert ray.state.state_rows_read == local.state.state_rows_read == sum(f.height for f in before.values()) + platform
    assert sum(ray.state.steps) == sum(local.state.steps)
    assert split or len(ray.state.steps) >= 2          # the driver's batch: one task per bucket job
    assert not list((tmp_path / "ray" / "scan.history" / "state").rglob("*.tmp"))


def test_a_state_task_killed_after_staging_is_retried_and_leaves_one_state(ray_local, in_process, tmp_path,
                                                                          monkeypatch):
    where, _ = in_process
    batch, _stores = one_day_batch(where / "site" / "scan.history", tmp_path, stores=8)
    local = _scan(where, tmp_path / "local", batch, "local")
    marker = tmp_path / "state-crashed"
    monkeypatch.setenv(STATE_CRASH_ONCE_ENV, str(marker))
    ray = _scan(where, tmp_path / "ray", batch, "ray")
    assert marker.exists()                                # a task did die, after staging its buckets
    assert ray.state is not None and not ray.state.rebuilt
    _same_state(_state(tmp_path / "local"), _state(tmp_path / "ray"))
    assert not list((tmp_path / "ray" / "scan.history" / "state").rglob("*.tmp"))   # the dead attempt's swept


def test_the_first_build_on_ray_equals_the_in_process_one(ray_local, world, in_process, tmp_path, bucket_reads):
    """A fresh site's first scan on Ray builds the state in bucket tasks: the in-process state."""
    where, _ = in_process
    site = tmp_path / "ray"
    site.mkdir()
    from tests.runner_support import scan_world
    result = scan_world(world, site, runner="ray", partitions=2, split=False)
    assert result.state.rebuilt and len(result.state.steps) >= 2
    assert bucket_reads == []
    _same_state(_state(where / "site"), _state(site), judged_tolerance=True)
