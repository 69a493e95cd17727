"""Every stage's overdue flags appear as time passes, with no new data; a re-exported line that
was picked since is judged in its newest version."""

from datetime import datetime

import polars as pl

from orderwatch.reevaluate import reevaluate
from orderwatch.scan import run_scan

HEAD = "订单号,门店编号,下单时间,确认时间,拣货时间,发货时间,签收时间,商品编码,数量\n"


def _write(path, rows):
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _levels(db: str) -> dict[tuple[str, str], str]:
    from store import Store
    with Store.open(db) as store:
        return {(r["rule_id"], r["order_id"]): r["level"] for r in store.flags_frame().iter_rows(named=True)
                if r["kind"] == "stage_overdue"}


def test_flags_appear_as_time_passes(tmp_path, site_config):
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    f = _write(tmp_path / "a.csv", [
        "A1,MD1,2026-09-01 13:00,2026-09-01 13:05,,,,SP1,6",                              # never picked
        "A2,MD1,2026-09-01 13:00,2026-09-01 13:05,2026-09-01 14:00,2026-09-01 15:00,,SP1,6",  # in transit
        "A3,MD2,2026-09-01 13:10,2026-09-01 13:15,2026-09-01 14:00,,,SP1,6",                # packed, not handed over
        # the export tracks deliveries: an empty delivery time means "not delivered yet"
        "A4,MD2,2026-08-31 09:00,2026-08-31 09:05,2026-08-31 10:00,2026-08-31 11:00,2026-09-01 10:00,SP1,6",
    ])
    first = run_scan([f], site_config, db_url=db, as_of=datetime(2026, 9, 1, 15))
    assert first.flags.filter(pl.col("kind") == "stage_overdue").height == 0   # (A2 repeats A1: a duplicate)
    later = reevaluate(site_config, datetime(2026, 9, 1, 20), db_url=db)
    # A4 is delivered: out of the open set, though its delivery time still says the file tracks
    # deliveries (presence comes from the file's lines, not only its open orders: A2 below)
    assert later.orders_judged == 3 and later.flags_created == 2
    assert _levels(db) == {("picking_overdue", "A1"): "warn",        # 6.9 h unpicked, limit 4 h
                           ("handover_overdue", "A3"): "critical"}   # 6 h since packing, limit 2 h
    again = reevaluate(site_config, datetime(2026, 9, 1, 20, 5), db_url=db)
    assert again.flags_created == 0 and again.flags_raised == 0          # idempotent
    days = reevaluate(site_config, datetime(2026, 9, 5, 12), db_url=db)
    assert days.flags_created == 3 and days.flags_raised == 1
    assert _levels(db) == {
        ("picking_overdue", "A1"): "critical",        # now past 2x the limit
        ("handover_overdue", "A3"): "critical",
        ("shipment_overdue", "A1"): "critical",       # 95 h since the order, limit 24 h
        ("shipment_overdue", "A3"): "critical",
        ("delivery_overdue", "A2"): "warn",           # shipped 93 h ago: past 3 days, within 5
    }


def test_newest_version_of_a_line_is_judged(tmp_path, site_config):
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    run_scan([_write(tmp_path / "a.csv", ["B1,MD1,2026-09-01 13:00,2026-09-01 13:05,,,,SP1,6"])],
             site_config, db_url=db, as_of=datetime(2026, 9, 1, 14))
    # the next export says B1 was picked at 14:30: no longer stale at 20:00
    update = run_scan([_write(tmp_path / "b.csv", ["B1,MD1,2026-09-01 13:00,2026-09-01 13:05,2026-09-01 14:30,,,SP1,6"])],
                      site_config, db_url=db, as_of=datetime(2026, 9, 1, 14, 40))
    assert update.new_lines == 0                                          # same line, newer version
    assert reevaluate(site_config, datetime(2026, 9, 1, 20), db_url=db).flags_found == 0
