"""Lines split by store group where they are read (``ingest.split``), without Ray: a group is a
set of the baseline state's buckets, the groups partition the lines, and a file's report made
from its parts' facts is the report made from its lines."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import polars as pl

from contracts.schema import conform
from ingest.report import FileReport
from ingest.split import (STATE_BUCKETS, ReportFacts, assign_buckets, assign_stores, bucket_of as split_bucket,
                          complete_from_facts, group_keys, merged_keys, split_buckets)
from orderwatch.runner.partition import split_stores
from ingest.understand import complete
from store.baseline_state import BUCKETS, bucket_of


def _lines(n: int = 500) -> pl.DataFrame:
    t0 = datetime(2026, 9, 1, 8)
    return conform(pl.DataFrame({
        "store_id": [None if i % 97 == 0 else f"S{i % 23}" for i in range(n)],
        "order_id": [f"o{i // 3}" for i in range(n)], "line_no": [i % 3 + 1 for i in range(n)],
        "sku": [f"K{i % 7}" for i in range(n)], "quantity": [float(1 + i % 5) for i in range(n)],
        "created_at": [t0 + timedelta(minutes=7 * i) for i in range(n)],
        "status": [["已完成", "待发货", "奇怪状态", "另一个词" if i % 10 == 3 else None, None][i % 5]
                   for i in range(n)],
    }))


def test_lines_are_split_by_the_states_own_buckets():
    assert STATE_BUCKETS == BUCKETS
    assert all(split_bucket(f"S{i}") == bucket_of(f"S{i}") for i in range(300)) and split_bucket(None) == 0


def test_the_buckets_partition_the_lines_and_the_keys_count_them():
    lines = _lines()
    groups = split_buckets(lines)
    assert len(groups) == STATE_BUCKETS and sum(g.height for g in groups) == lines.height
    for k, g in enumerate(groups):
        assert {split_bucket(s) for s in g.get_column("store_id").to_list()} <= {k}
    assert pl.concat(groups).sort("created_at").equals(lines.sort("created_at"))
    halves = [group_keys(lines.head(200)), group_keys(lines.tail(300))]
    keys = merged_keys(halves).sort("store_id", nulls_last=True)
    expect = lines.group_by("store_id").agg(pl.len().alias("lines"), pl.col("created_at").min().alias("first"),
                                            pl.col("created_at").max().alias("last")).sort("store_id", nulls_last=True)
    assert keys.select("store_id", "lines", "first", "last").equals(expect.select("store_id", pl.col("lines").cast(pl.Int64),
                                                                                  "first", "last"))


def test_a_report_from_the_parts_facts_is_the_report_from_the_lines():
    lines = _lines()
    words = {"status": {"已完成": "completed", "待发货": "confirmed", "奇怪状态": None, "另一个词": None}}
    states = {"completed": 100, "confirmed": 100}
    base = FileReport(path="f.csv", rows=lines.height + 4)
    whole = complete(copy.deepcopy(base), lines, {}, words, states)
    facts = ReportFacts.of(lines.head(123)).add(ReportFacts.of(lines.slice(123, 200))).add(ReportFacts.of(lines.tail(177)))
    parts = complete_from_facts(copy.deepcopy(base), facts, {}, words, states)
    assert parts == whole and list(whole.unknown_statuses.items()) == [("奇怪状态", 100), ("另一个词", 50)]
    assert whole.newest_event == lines.get_column("created_at").max() and whole.accepted == lines.height


def test_whole_buckets_are_placed_in_balanced_partitions_as_stores_are():
    lines = _lines(2000)
    keys = group_keys(lines)
    for n in (1, 2, 3, 5, 40):
        placed = assign_buckets(keys, n)
        assert sorted(b for bs in placed for b in bs) == sorted(keys.get_column("bucket").unique().to_list())
        assert 1 <= len(placed) <= min(n, STATE_BUCKETS)
    # a bucket of one store each: the buckets land as split_stores places the stores
    three = lines.filter(pl.col("store_id").is_in(["S1", "S2", "S3"]))
    assert len({split_bucket(s) for s in ("S1", "S2", "S3")}) == 3
    by_bucket = [sorted({s for b in bs for s in three.filter(pl.col("store_id").map_elements(
        split_bucket, return_dtype=pl.Int64) == b).get_column("store_id").to_list()}) for bs in assign_buckets(
        group_keys(three), 2)]
    by_store = [sorted(p.get_column("store_id").unique().to_list()) for p in split_stores(three, 2)]
    assert sorted(by_bucket) == sorted(by_store) and len(by_store) == 2


def test_the_judging_partitions_hold_the_stores_of_the_in_process_ones():
    lines = _lines(3000)
    keys = merged_keys([group_keys(lines.head(1100)), group_keys(lines.tail(1900))])
    for n in (1, 2, 3, 7):
        got = [sorted(g, key=repr) for g in assign_stores(keys, n)]
        want = [sorted(p.get_column("store_id").unique().to_list(), key=repr) for p in split_stores(lines, n)]
        assert sorted(got, key=repr) == sorted(want, key=repr)
