"""History (Parquet per scan) and the ini-free migration command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from contracts.schema import CANONICAL, LINE_KEY, PROVENANCE
from store import History, Store, current_revision
from store.migrate import main as migrate_main

T0 = datetime(2026, 11, 1, 8, 0)
SCHEMA = pl.Schema({**CANONICAL, **PROVENANCE})


def batch(orders: list[str], day: int = 0, store_id: str = "S001") -> pl.DataFrame:
    n = len(orders)
    return pl.DataFrame({
        "order_id": orders, "line_no": [1] * n, "source": ["demo"] * n,
        "store_id": [store_id] * n, "store_name": ["西湖店"] * n,
        "created_at": [T0 + timedelta(days=day, minutes=i) for i in range(n)],
        "sku": ["K1"] * n, "quantity": [2.0] * n,
    })


def test_empty_history(tmp_path: Path) -> None:
    h = History(tmp_path / "history")
    lf = h.scan()
    assert lf.collect_schema() == SCHEMA
    assert lf.collect().height == 0
    assert h.scan(since=T0).collect().height == 0
    assert h.append(1, batch([]).head(0)) is None
    assert not (tmp_path / "history" / "lines").exists() or not list(
        (tmp_path / "history" / "lines").iterdir())
    keys = batch(["A1"]).select(*LINE_KEY, "created_at")
    assert h.known_keys(keys).height == 0


def test_append_scan_and_since(tmp_path: Path) -> None:
    h = History(tmp_path)
    p1 = h.append(1, batch(["A1", "A2"], day=0))
    p2 = h.append(2, batch(["B1"], day=5, store_id="S002"))
    assert p1 == tmp_path / "lines" / "scan_id=1" / "part.parquet" and p1.exists()
    assert p2 is not None and p2.exists()
    assert not list(tmp_path.rglob(".*.tmp"))  # no temp files left behind
    lf = h.scan()
    assert isinstance(lf, pl.LazyFrame)
    df = lf.collect()
    assert df.schema == SCHEMA and df.height == 3
    assert df["store_name"].to_list().count("西湖店") == 3
    recent = h.scan(since=T0 + timedelta(days=1)).collect()
    assert recent["order_id"].to_list() == ["B1"]
    h.append(1, batch(["A1"], day=0))  # re-append replaces the partition
    assert h.scan().collect().height == 2


def test_a_scan_written_by_store_group_is_one_file_per_group_and_read_as_one(tmp_path: Path) -> None:
    """A Ray scan's groups each stage their own file (named by scan and group): a retried group
    overwrites its file, promote lands them all, and every reader sees the scan's lines once."""
    h = History(tmp_path)
    h.append(1, batch(["A1", "A2"], day=0))
    groups = [batch(["B1", "B2"], day=3, store_id="S002"), batch(["C1"], day=3, store_id="S003")]
    for g, lines in enumerate(groups):
        h.stage(2, lines, group=g)
    h.stage(2, groups[1], group=1)                  # a retried task writes the same name again
    assert h.pending_scan_ids() == [2] and h.partition_scan_ids() == [1] and h.scan().collect().height == 2
    assert h.promote(2) == tmp_path / "lines" / "scan_id=2"
    assert sorted(p.name for p in (tmp_path / "lines" / "scan_id=2").iterdir()) == ["part-g00.parquet", "part-g01.parquet"]
    assert h.pending_scan_ids() == [] and h.partition_scan_ids() == [1, 2]
    got = h.scan().collect()
    assert got.height == 5 and sorted(got["order_id"]) == ["A1", "A2", "B1", "B2", "C1"]
    parts = h.scan_partitions([2]).collect()
    assert sorted(parts["order_id"]) == ["B1", "B2", "C1"] and set(parts["_scan_id"]) == {2}
    assert h.known_keys(groups[1].select(*LINE_KEY, "created_at")).height == 1
    # a scan that did not commit: its group files are discarded, or its partition removed whole
    h.stage(3, batch(["D1"], day=4), group=0)
    h.stage(3, batch(["E1"], day=4, store_id="S004"), group=1)
    h.discard(3)
    assert h.pending_scan_ids() == [] and h.scan().collect().height == 5
    h.remove_partition(2)
    assert h.partition_scan_ids() == [1] and not (tmp_path / "lines" / "scan_id=2").exists()


def test_known_keys(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.append(1, batch(["A1", "A2"], day=0))
    h.append(2, batch(["A3"], day=30))
    probe = batch(["A1", "A3", "Z9"], day=0).with_columns(
        pl.Series("created_at", [T0, T0 + timedelta(days=30), T0]), extra=pl.lit("x"))
    known = h.known_keys(probe)
    assert sorted(known["order_id"].to_list()) == ["A1", "A3"]
    assert known["extra"].to_list() == ["x", "x"]  # caller's other columns kept
    # without created_at: no date pushdown, same answer
    assert sorted(h.known_keys(probe.select(LINE_KEY))["order_id"].to_list()) == ["A1", "A3"]
    # a different source is a different line
    other = probe.with_columns(source=pl.lit("pos"))
    assert h.known_keys(other).height == 0
    assert h.known_keys(probe.head(0)).height == 0


def test_migrate_cli_without_ini(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'cli' / 'ow.db'}"
    assert migrate_main(["--url", url, "upgrade", "head"]) == 0
    with Store.open(url) as s:
        assert current_revision(s.engine) == "0012"
    migrate_main([f"--url={url}", "current"])
    assert "0012" in capsys.readouterr().out


def test_the_row_hash_taken_by_slices_is_the_row_hash():
    """``store.history.hashed`` (slice by slice, for speed) gives ``row_hash``'s values exactly,
    so a history written before it is still matched line for line."""
    from contracts.schema import row_hash
    from store.history import HASH_ROWS, hashed
    n = 3 * HASH_ROWS + 17
    frame = pl.DataFrame({
        "source": ["s"] * n, "store_id": [f"st{i % 13}" for i in range(n)], "order_id": [f"o{i // 3}" for i in range(n)],
        "line_no": [i % 3 for i in range(n)], "quantity": [float(i % 7) if i % 5 else None for i in range(n)],
    })
    for f in (frame, frame.head(HASH_ROWS), frame.head(0)):
        got = hashed(f)
        assert got.name == "_row_hash" and got.n_chunks() == 1
        assert got.equals(row_hash(f))
