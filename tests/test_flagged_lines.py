"""The lines of flagged orders live in one Parquet file per scan (``store.flagged_lines``): the
order view and the export read them there — the newest version among the scans that created
or raised a flag on the order, a field only an earlier scan carried kept — and orders flagged
before the files existed still show the ``order_lines`` table's lines."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from contracts.config import history_dir_for
from contracts.schema import conform
from store import Store, flagged_lines
from store.flagged_lines import FlaggedLines
from tests.test_store import db_url, pg_url  # noqa: F401  (fixtures)
from tests.web_fixtures import client_for, world, _world_template  # noqa: F401  (fixtures)

AT = datetime(2026, 9, 1, 13)


def _flag(level: str, order: str = "A1", store: str = "S1") -> pl.DataFrame:
    return pl.DataFrame({"rule_id": ["big_qty"], "kind": ["volume_surge"], "level": [level],
                         "department": ["purchasing"], "subject": [f"order:t:{store}:{order}"],
                         "order_id": [order], "store_id": [store], "occurred_at": [AT], "title": ["数量异常"],
                         "reason": ["r"], "evidence": ["{}"]})


def _lines(order: str, rows: list[tuple[int, float, str | None]], store: str = "S1") -> pl.DataFrame:
    return conform(pl.DataFrame({
        "order_id": [order] * len(rows), "line_no": [r[0] for r in rows], "source": ["t"] * len(rows),
        "store_id": [store] * len(rows), "created_at": [AT] * len(rows), "sku": [f"SP{r[0]}" for r in rows],
        "quantity": [r[1] for r in rows], "product_name": [r[2] for r in rows]}))


def _scan(store: Store, archive: FlaggedLines, flags: pl.DataFrame, lines: pl.DataFrame) -> int:
    """What a scan does: flags in its transaction, the changed orders' lines staged, promoted after."""
    sid = store.begin_scan(["t.csv"], AT)
    with store.transaction() as conn:
        w = store.write_flags(sid, flags, conn=conn)
        touched = flags.join(w.changed, on=["rule_id", "subject"], how="semi").select("store_id", "order_id")
        archive.stage(sid, lines.join(touched, on=["store_id", "order_id"], how="semi"))
    archive.promote(sid)
    return sid


def test_the_order_shows_the_newest_version_of_its_lines(tmp_path, db_url: str) -> None:  # noqa: F811
    archive = FlaggedLines(tmp_path / "h")
    with Store.open(db_url) as s:
        first = _scan(s, archive, _flag("warn"), _lines("A1", [(1, 12.0, "苹果"), (2, 6.0, "梨")]))
        # a re-export: line 1 now 120 (the flag is raised), without the product name; a new line 3
        second = _scan(s, archive, _flag("critical"), _lines("A1", [(1, 120.0, None), (3, 1.0, "桃")]))
        # the same again: nothing changes, so nothing is written
        third = _scan(s, archive, _flag("critical"), _lines("A1", [(1, 999.0, None)]))
        shown = flagged_lines.order_lines(s.engine, archive, [("S1", "A1")])[("S1", "A1")]
    assert archive.scan_ids() == [first, second] and third not in archive.scan_ids()
    assert [(ln["line_no"], ln["quantity"], ln["product_name"], ln["scan_id"]) for ln in shown] == [
        (1, 120.0, "苹果", second), (2, 6.0, "梨", first), (3, 1.0, "桃", second)]


def test_orders_flagged_before_the_files_show_the_table(tmp_path, db_url: str) -> None:  # noqa: F811
    archive = FlaggedLines(tmp_path / "h")
    with Store.open(db_url) as s:
        sid = s.begin_scan(["old.csv"], AT)
        s.write_flags(sid, _flag("warn", "OLD"))
        s.add_order_lines(sid, _lines("OLD", [(1, 3.0, "旧")]))
        _scan(s, archive, _flag("warn", "NEW"), _lines("NEW", [(1, 4.0, "新")]))
        shown = flagged_lines.order_lines(s.engine, archive, [("S1", "OLD"), ("S1", "NEW"), ("S1", "NONE")])
    assert {k: [ln["product_name"] for ln in v] for k, v in shown.items()} == {
        ("S1", "OLD"): ["旧"], ("S1", "NEW"): ["新"]}


def test_the_flag_page_shows_the_lines_from_the_file(world, client_for) -> None:  # noqa: F811
    s = world.store
    url = s.engine.url.render_as_string(hide_password=False)
    archive = FlaggedLines(history_dir_for(url, world.app.extensions["orderwatch.config"]))
    flag = _flag("critical", "A3").with_columns(rule_id=pl.lit("picking_overdue"), kind=pl.lit("stage_overdue"),
                                                department=pl.lit("logistics"))
    _scan(s, archive, flag, _lines("A3", [(1, 7.0, "冻品水饺"), (2, 2.0, "汤圆")]))
    page = client_for("admin").get(f"/flags/{world.ids['log_a']}").get_data(as_text=True)
    assert "冻品水饺" in page and "汤圆" in page
    assert "SP2" in page


def test_many_orders_at_once_read_through_a_staged_key_table(tmp_path, db_url: str) -> None:  # noqa: F811
    """An export of more orders than an IN list holds (``flagged_lines.FEW``) gets them all."""
    archive = FlaggedLines(tmp_path / "h")
    n = flagged_lines.FEW + 100
    orders = [f"O{i}" for i in range(n)]
    flags = pl.concat([_flag("warn", o) for o in orders])
    lines = pl.concat([_lines(o, [(1, float(i), f"品{i}")]) for i, o in enumerate(orders)])
    with Store.open(db_url) as s:
        _scan(s, archive, flags, lines)
        shown = flagged_lines.order_lines(s.engine, archive, [("S1", o) for o in orders])
    assert len(shown) == n and shown[("S1", "O7")][0]["product_name"] == "品7"
