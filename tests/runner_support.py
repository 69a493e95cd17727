"""Worlds and one-day batches scanned by different runners, and their flags side by side."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import polars as pl
import pytest

from bench.detect_bench import scan_config
from bench.worlds import SPECS, World, build_world
from orderwatch.scan import ScanResult, run_scan
from store import History

#: what a flag says: everything but its id and its place in the frame
FLAG_COLUMNS = ("rule_id", "subject", "kind", "level", "department", "store_id", "order_id", "occurred_at",
                "evidence", "reason", "reason_id", "reason_args")


def small_world(name: str, out: Path, seed: int = 3) -> World:
    """A bench world (not the demo) at a small size: 40 stores, 5 weeks, three of each anomaly."""
    s = SPECS[name]
    spec = dataclasses.replace(s, stores=40, weeks=5, openings=4, late_openings=2, seeds={k: 3 for k in s.seeds})
    return build_world(name, seed, out, spec=spec)


def world_config(world: World, where: Path, **runner):
    """The world's site config (its mapping, store master) with ``scan.runner`` set to ``runner``."""
    cfg = scan_config(world, where / "instance", None, with_mapping=True)
    if runner:
        cfg.raw["scan"] = {**(cfg.raw.get("scan") or {}), "runner": {**cfg.get("scan.runner", {}), **runner}}
    return cfg


def scan_world(world: World, where: Path, runner: str | None = None, **settings) -> ScanResult:
    where.mkdir(parents=True, exist_ok=True)
    return run_scan(world.order_files, world_config(world, where, **settings), catalog=world.catalog_file,
                    as_of=world.as_of, db_url=f"sqlite:///{where / 'scan.db'}", runner=runner)


def flag_rows(result: ScanResult) -> list[tuple]:
    """The scan's flags as sorted tuples of what they say (evidence and reasons included)."""
    cols = [c for c in FLAG_COLUMNS if c in result.flags.columns]
    return sorted(result.flags.select(cols).rows(), key=repr)


def one_day_batch(history_dir: Path, out: Path, stores: int = 3) -> tuple[Path, list[str]]:
    """A CSV of one new day for a few stores: their last day's lines again, a day later, new orders
    (one line of each store with an extra zero)."""
    lines = History(history_dir).scan().collect()
    last = lines.get_column("created_at").max().date()
    on_last = lines.filter(pl.col("created_at").dt.date() == last)
    picked = sorted(on_last.get_column("store_id").unique().drop_nulls().to_list())[:stores]
    day = on_last.filter(pl.col("store_id").is_in(picked))
    batch = day.select(
        ("N" + pl.col("order_id")).alias("order_id"), "store_id", "store_name",
        (pl.col("created_at") + pl.duration(days=1)).dt.strftime("%Y-%m-%d %H:%M:%S").alias("created_at"),
        "sku", "quantity", "unit_price", "line_no")
    # an extra zero keyed on the first line of each store: something for the baselines to find
    first = pl.int_range(pl.len()).over("store_id") == 0
    batch = batch.with_columns(pl.when(first).then(pl.col("quantity") * 10).otherwise("quantity").alias("quantity"))
    path = out / "one_day.csv"
    batch.write_csv(path)
    return path, picked


def scanned_world(factory, name: str) -> tuple[World, Path, ScanResult]:
    """A small bench world and its in-process scan in one piece (a module's baseline)."""
    world = small_world(name, factory.mktemp("world"))
    where = factory.mktemp("one_piece")
    return world, where, scan_world(world, where / "site")


def world_fixtures(name: str, scanned_as: str):
    """Module fixtures ``scanned`` (world, site dir, in-process scan), ``world`` and
    ``<scanned_as>`` (site dir, in-process scan) of the bench world ``name``; assign the three
    returned to module names so pytest finds them."""
    @pytest.fixture(scope="module", name="scanned")
    def scanned(tmp_path_factory):  # noqa: ANN001, ANN202
        return scanned_world(tmp_path_factory, name)

    @pytest.fixture(scope="module", name="world")
    def world(scanned):  # noqa: ANN001, ANN202
        return scanned[0]

    @pytest.fixture(scope="module", name=scanned_as)
    def baseline(scanned):  # noqa: ANN001, ANN202
        return scanned[1], scanned[2]

    return scanned, world, baseline


def copy_site(src: Path, dst: Path) -> Path:
    """A copy of a scanned site (database and its history) to scan on from the same state."""
    shutil.copytree(src, dst)
    return dst
