"""A file read in byte-range parts (``ingest.chunks``, ``ingest.parts``) gives the lines,
quarantine and counts of the whole file's read: cuts only at record ends (quoted newlines,
a stray quote, a quote that never closes), the header, plan and date formats decided once,
line positions and store names carried across cuts, true line numbers in rows and reasons.

The stages run in this process here (``InProcess``); ``tests/test_ray_read.py`` runs them as
Ray tasks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from contracts.config import load_config
from ingest import read_orders
from ingest.chunks import split_file
from ingest.parts import InProcess, Whole, read_in_parts
from tests.chunked_files import gbk_quoted_newlines, interleaved_orders_jsonl, late_day_first

REAL = Path(__file__).parent / "data" / "real" / "tmall_order_report1.csv"


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def same_as_whole(path: Path, cfg, chunk: int, parts_at_least: int = 3):
    whole = read_orders([path], cfg)
    got = read_in_parts(path, cfg, None, InProcess(), chunk)
    assert not isinstance(got, Whole), got
    lines, quarantine, count = got
    assert len(split_file(path, chunk).parts) >= parts_at_least
    assert_frame_equal(lines, whole.lines)
    assert_frame_equal(quarantine, whole.quarantine)
    f = whole.files[0]
    assert (count.path, count.read, count.accepted, count.quarantined, count.counted) == \
        (f.path, f.read, f.accepted, f.quarantined, f.counted)
    assert count.reconciled and f.reconciled
    a, b = f.report, count.report
    assert (b.rows, b.accepted, b.quarantined, b.dates, b.states, b.newest_event, b.fields, b.encoding,
            b.delimiter, b.unknown_statuses) == \
        (a.rows, a.accepted, a.quarantined, a.dates, a.states, a.newest_event, a.fields, a.encoding,
         a.delimiter, a.unknown_statuses)
    assert b.notes[-1].startswith("read in ")
    return whole, count


@pytest.mark.parametrize("chunk", [3_000, 11_000, 40_000])
def test_gbk_with_quoted_newlines_and_bad_rows_reads_as_the_whole_file(tmp_path, cfg, chunk):
    path = gbk_quoted_newlines(tmp_path / "gbk.csv")
    whole, count = same_as_whole(path, cfg, chunk)
    q = whole.quarantine
    assert count.report.encoding == "gbk"
    assert q.height >= 10 and q["reason"].str.contains("引号").any()       # the stray and the open quote
    assert q.filter(pl.col("reason").str.contains("第 \\d+ 行"))["line"].min() > 1000   # line numbers in reasons
    # orders cross the cuts: a part's first line continues an order begun in the part before
    data = path.read_bytes()
    firsts = {data[:p.start].count(b"\n") + 1 for p in split_file(path, chunk).parts}
    assert whole.lines.filter(pl.col("source_line").is_in(list(firsts)) & (pl.col("line_no") > 1)).height


def test_date_order_from_a_row_outside_every_sample_and_store_names_on_first_lines(tmp_path, cfg):
    path = late_day_first(tmp_path / "late.csv")
    whole, count = same_as_whole(path, cfg, 6_000)
    assert "day" in count.report.dates["created_at"] and "from the values" in count.report.dates["created_at"]
    assert whole.lines["store_id"].null_count() == 0 and whole.lines["store_id"].str.starts_with("Shop").all()


def test_json_lines_with_scattered_orders_late_keys_and_bad_lines(tmp_path, cfg):
    path = interleaved_orders_jsonl(tmp_path / "orders.jsonl")
    whole, _ = same_as_whole(path, cfg, 9_000)
    assert whole.quarantine.height == 2 and whole.lines["line_no"].max() > 3


def test_a_real_export_in_parts(tmp_path, cfg):
    same_as_whole(REAL, cfg, REAL.stat().st_size // 4)


def test_the_demos_files_in_parts(tmp_path, cfg):
    from orderwatch.demo import generate
    demo = generate(tmp_path / "demo", stores=12, days=15, seed=3)
    for path in demo.order_files:
        same_as_whole(Path(path), cfg, Path(path).stat().st_size // 3, parts_at_least=2)


def test_a_part_that_does_not_decode_sends_the_file_back_to_one_read(tmp_path, cfg):
    rows = ["订单号,门店编号,下单时间,商品编码,数量"] + [f"A{i},S1,2026-09-01 13:00,K{i},{i}" for i in range(3000)]
    data = "\n".join(rows).encode("gbk") + b"\nA9,\xff\xfe,2026-09-01 13:00,K9,9\n"
    path = tmp_path / "broken.csv"
    path.write_bytes(data)
    got = read_in_parts(path, cfg, None, InProcess(), 8_000)
    assert isinstance(got, Whole) and "not in" in got.reason and "GBK" in got.reason.upper()


@pytest.mark.parametrize("name, data, why", [
    ("cr.csv", b"a,b\r1,2\r" * 5000, "lone CR"),
    ("small.csv", b"a,b\n1,2\n", "smaller"),
    ("open.csv", b'"a,b\n' + b'1,2\n' * 3000, "no header"),
])
def test_files_read_whole_say_why(tmp_path, cfg, name, data, why):
    path = tmp_path / name
    path.write_bytes(data)
    got = split_file(path, 4_000)
    assert isinstance(got, str) and why in got


def test_cuts_never_fall_inside_a_quoted_field(tmp_path):
    path = tmp_path / "q.csv"
    body = "".join(f'{i},"line one\nline two, with a comma\n""quoted"" too",x\n' for i in range(400))
    path.write_text("id,note,tag\n" + body, encoding="utf-8")
    split = split_file(path, 500)
    data = path.read_bytes()
    assert len(split.parts) > 10
    for part in split.parts:
        assert data[part.start:part.end].count(b'"') % 2 == 0       # every quote opened closes in the part
        assert part.start == len(data) or data[part.start - 1:part.start] == b"\n"   # at a line end
    assert split.parts[0].start == len(b"id,note,tag\n") and split.parts[-1].end == len(data)


_cell = st.text(alphabet=st.sampled_from(list('ab1,"\n 门店;')), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(1, 40), st.integers(0, 99), _cell, st.booleans()), min_size=30, max_size=120),
       chunk=st.integers(60, 400), gbk=st.booleans())
def test_any_file_of_quoted_cells_and_stray_quotes_reads_as_the_whole_file(tmp_path_factory, cfg, rows, chunk, gbk):
    """Quoted cells with separators, quotes and newlines (as a writer quotes them) and, now and
    then, a raw cell with a stray quote: cut anywhere the parts allow, read as the whole."""
    import csv
    import io
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["订单号", "门店编号", "下单时间", "商品编码", "数量", "备注"])
    text = buf.getvalue()
    for order, qty, note, raw in rows:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([f"A{order}", "S1", "2026-09-01 13:00", f"K{qty}", qty, note])
        line = buf.getvalue()
        text += line if not raw else line.rstrip("\n").rsplit(",", 1)[0] + "," + note.replace("\n", " ") + "\n"
    path = tmp_path_factory.mktemp("p") / "any.csv"
    path.write_bytes(text.encode("gbk" if gbk else "utf-8"))
    whole = read_orders([path], cfg)
    got = read_in_parts(path, cfg, None, InProcess(), chunk)
    if isinstance(got, Whole):
        assert "smaller" in got.reason or "one part" in got.reason or "CR" in got.reason
        return
    lines, quarantine, count = got
    assert_frame_equal(lines, whole.lines)
    assert_frame_equal(quarantine, whole.quarantine)
    f = whole.files[0]
    assert (count.read, count.accepted, count.quarantined, count.counted) == (f.read, f.accepted, f.quarantined, f.counted)


def test_parquet_in_row_ranges(tmp_path, cfg):
    """Typed Parquet columns (integers, floats, times, a C… invoice beside numbers) in row ranges."""
    src = Path(__file__).parent / "data" / "online_retail_slice.csv"
    path = tmp_path / "retail.parquet"
    pl.read_csv(src, infer_schema_length=10_000).write_parquet(path, row_group_size=700)
    whole, _ = same_as_whole(path, cfg, path.stat().st_size // 4)
    assert whole.lines.height > 1000


def test_large_files_are_read_in_parts_on_a_cluster_and_whole_on_one_machine():
    """``scan.runner.read_chunk_mb`` unset: parts pay only where several machines read them."""
    from orderwatch.runner.on_ray import CLUSTER_CHUNK_MB, RayRunner
    assert RayRunner().chunk_bytes() is None                                   # a local Ray
    assert RayRunner(address="auto").chunk_bytes() == CLUSTER_CHUNK_MB * 2**20  # a cluster
    assert RayRunner(read_chunk_mb=8).chunk_bytes() == 8 * 2**20              # set: always honoured
    pytest.importorskip("ray", reason="scan.runner settings are read by the Ray runner, which needs Ray")
    assert RayRunner.from_settings({"kind": "ray"}, "sqlite:///x.db").chunk_bytes() is None
    assert RayRunner.from_settings({"kind": "ray", "read_chunk_mb": 16}, "sqlite:///x.db").chunk_bytes() == 16 * 2**20


def test_the_lines_stay_on_the_workers_on_a_cluster_and_come_back_on_one_machine():
    """``scan.runner.split`` unset: the split pays where the driver's memory is not the workers'."""
    from orderwatch.runner.on_ray import RayRunner
    assert RayRunner().splits is False                         # a local Ray: the lines come back
    assert RayRunner(address="auto").splits is True            # a cluster: they stay on the workers
    assert RayRunner(split=True).splits is True and RayRunner(address="auto", split=False).splits is False
    pytest.importorskip("ray", reason="scan.runner settings are read by the Ray runner, which needs Ray")
    assert RayRunner.from_settings({"kind": "ray"}, "sqlite:///x.db").splits is False
    assert RayRunner.from_settings({"kind": "ray", "split": True}, "sqlite:///x.db").splits is True
    assert RayRunner.from_settings({"kind": "ray", "address": "auto"}, "postgresql+psycopg://h/db", "/shared/h").splits
