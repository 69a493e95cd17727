"""Files read on Ray with their lines split by store group on the workers (``ray_split.read_split``):
every group's lines are exactly its stores' lines of the in-process read, the counts, quarantine
and reports are those of the in-process read, and the driver received no line row.

Skipped where Ray is not installed; ``.ci/run`` sets ORDERWATCH_RAY_TESTS=required."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contracts.config import load_config
from ingest import read_orders
from ingest.split import STATE_BUCKETS, bucket_of
from tests.chunked_files import gbk_quoted_newlines, interleaved_orders_jsonl, late_day_first
from tests.ray_support import local_ray, skip_without_ray

skip_without_ray("the split read on Ray")

from orderwatch.runner.on_ray import CRASH_ONCE_ENV, RayRunner  # noqa: E402 - after the skip
from orderwatch.runner.ray_split import DriverLedger, read_split  # noqa: E402

ray_local = pytest.fixture(scope="module")(local_ray)


def _buckets(ray, split) -> list[pl.DataFrame]:
    """The test (not the driver code under test) fetches every bucket's objects."""
    out = []
    for handles in split.handles:
        frames = [pl.from_arrow(t) for t in ray.get(handles)]
        out.append(pl.concat(frames, how="vertical_relaxed") if frames else None)
    return out


def _report(f):
    """A file's count and report; the note that says it was read in parts aside."""
    r = dataclasses.asdict(f.report)
    r["notes"] = [n for n in r["notes"] if not n.startswith("read in ")]
    return f.path, f.read, f.accepted, f.quarantined, f.counted, r


def _same_as_in_process(ray, files, cfg, split):
    here = read_orders(files, cfg)
    groups = _buckets(ray, split)
    assert split.read == here.read and split.accepted == here.accepted and split.quarantined == here.quarantined
    assert split.read == split.accepted + split.quarantined and split.reconciled
    assert_frame_equal(split.quarantine, here.quarantine)
    assert [_report(f) for f in split.files] == [_report(f) for f in here.files]
    # every line lands in its store's bucket, once: the buckets are a partition of the batch
    assert len(groups) == STATE_BUCKETS
    for k, g in enumerate(groups):
        if g is None:
            continue
        assert {bucket_of(s) for s in g.get_column("store_id").unique().to_list()} <= {k}
    # and whole buckets are placed in partitions, each bucket with lines in exactly one
    placed = [b for bs in split.group_buckets for b in bs]
    assert sorted(placed) == [k for k, n in enumerate(split.rows) if n] and len(split.groups) <= 3
    got = pl.concat([g for g in groups if g is not None], how="vertical_relaxed")
    key = ["source_file", "line_no", "order_id", "store_id", "sku"]
    assert_frame_equal(got.sort(key, maintain_order=True), here.lines.sort(key, maintain_order=True))
    assert split.rows == [0 if g is None else g.height for g in groups]
    # the keys the driver keeps: per store, its lines and first/last time
    per_store = here.lines.group_by("store_id").agg(pl.len().alias("n"), pl.col("created_at").min().alias("a"))
    kept = split.keys.select("store_id", pl.col("lines").alias("n"), pl.col("first").alias("a"))
    assert_frame_equal(kept.sort("store_id"), per_store.sort("store_id"), check_dtypes=False)
    return here


def test_a_large_file_and_small_ones_split_by_store_group_never_reach_the_driver(ray_local, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    files = [gbk_quoted_newlines(tmp_path / "gbk.csv"), late_day_first(tmp_path / "late.csv"),
             interleaved_orders_jsonl(tmp_path / "o.jsonl"), gbk_quoted_newlines(tmp_path / "small.csv", orders=20)]
    split = read_split(RayRunner(read_chunk_mb=20_000 / 2**20), files, cfg, groups=3)
    here = _same_as_in_process(ray_local, files, cfg, split)
    assert sum(n.startswith("read in ") and "parts" in n for f in split.files for n in f.report.notes) >= 2
    assert split.ledger.objects > 0 and split.ledger.line_rows == 0
    # the ledger does count lines when they come back (the in-process read's lines would count)
    seen = DriverLedger()
    seen.count(here.lines.to_arrow())
    assert seen.line_rows == here.lines.height > 0


def test_a_file_that_does_not_decode_in_parts_is_read_whole_split_and_says_so(ray_local, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    rows = ["订单号,门店编号,下单时间,商品编码,数量"] + [f"A{i},S{i % 7},2026-09-01 13:00,K{i},{i}" for i in range(3000)]
    path = tmp_path / "broken.csv"
    path.write_bytes("\n".join(rows).encode("gbk") + b"\nA9,\xff\xfe,2026-09-01 13:00,K9,9\n")
    split = read_split(RayRunner(read_chunk_mb=8_000 / 2**20), [path], cfg, groups=2)
    assert split.quarantined == 1 and "read in one task, not in parts" in split.files[0].report.notes[-1]
    here = read_orders([path], cfg)
    assert split.accepted == here.accepted and split.ledger.line_rows == 0
    assert sum(split.rows) == here.lines.height and len(split.groups) == 2
    assert all(split.rows[b] for bs in split.group_buckets for b in bs)


def test_a_read_task_killed_mid_read_is_retried_and_nothing_is_doubled(ray_local, tmp_path, monkeypatch):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    files = [gbk_quoted_newlines(tmp_path / "gbk.csv"), late_day_first(tmp_path / "late.csv")]
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    split = read_split(RayRunner(read_chunk_mb=20_000 / 2**20), files, cfg, groups=2)
    assert marker.exists()                     # a worker did die in a read task
    _same_as_in_process(ray_local, files, cfg, split)
