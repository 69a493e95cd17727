"""One large file read in byte-range parts as Ray tasks (``RayRunner.read``): the lines,
quarantine and counts of the in-process read; a file only the whole read can judge is read in
one task and its report says why.

Skipped where Ray is not installed; ``.ci/run`` sets ORDERWATCH_RAY_TESTS=required."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from contracts.config import load_config
from ingest import read_orders
from tests.chunked_files import gbk_quoted_newlines, interleaved_orders_jsonl, late_day_first
from tests.ray_support import local_ray, skip_without_ray

skip_without_ray("reading in parts on Ray")

from orderwatch.runner.on_ray import RayRunner  # noqa: E402 - after the skip


ray_local = pytest.fixture(scope="module")(local_ray)


def _same(here, there):
    assert_frame_equal(there.lines, here.lines)
    assert_frame_equal(there.quarantine, here.quarantine)
    assert [(f.path, f.read, f.accepted, f.quarantined, f.counted) for f in there.files] == \
        [(f.path, f.read, f.accepted, f.quarantined, f.counted) for f in here.files]
    assert there.reconciled


def test_one_large_file_is_read_in_parts_on_ray_as_in_process(ray_local, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    path = gbk_quoted_newlines(tmp_path / "gbk.csv")
    runner = RayRunner(read_chunk_mb=20_000 / 2**20)
    there = runner.read([path], cfg)
    _same(read_orders([path], cfg), there)
    note = there.files[0].report.notes[-1]
    assert note.startswith("read in ") and int(note.split()[2]) >= 5


def test_large_and_small_files_together(ray_local, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    files = [late_day_first(tmp_path / "late.csv"), interleaved_orders_jsonl(tmp_path / "o.jsonl"),
             gbk_quoted_newlines(tmp_path / "small.csv", orders=20)]
    there = RayRunner(read_chunk_mb=30_000 / 2**20).read(files, cfg)
    _same(read_orders(files, cfg), there)
    assert [f.report.notes[-1].startswith("read in ") if f.report.notes else False for f in there.files] == \
        [True, True, False]


def test_a_file_that_does_not_decode_in_parts_is_read_whole_and_says_so(ray_local, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    rows = ["订单号,门店编号,下单时间,商品编码,数量"] + [f"A{i},S1,2026-09-01 13:00,K{i},{i}" for i in range(3000)]
    path = tmp_path / "broken.csv"
    path.write_bytes("\n".join(rows).encode("gbk") + b"\nA9,\xff\xfe,2026-09-01 13:00,K9,9\n")
    there = RayRunner(read_chunk_mb=8_000 / 2**20).read([path], cfg)
    _same(read_orders([path], cfg), there)
    assert there.quarantined == 1 and "read in one task, not in parts" in there.files[0].report.notes[-1]


def test_a_read_task_killed_mid_read_is_retried_and_changes_nothing(ray_local, tmp_path, monkeypatch):
    from orderwatch.runner.on_ray import CRASH_ONCE_ENV
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    path = gbk_quoted_newlines(tmp_path / "gbk.csv")
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    there = RayRunner(read_chunk_mb=20_000 / 2**20).read([path], cfg)
    assert marker.exists()                     # a worker did die in a read task
    _same(read_orders([path], cfg), there)
