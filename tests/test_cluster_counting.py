"""Store clusters that do not echo: they count distinct orders and distinct kinds of warnings and
above, never time-based flags alone, never information or false positives.  Each case below
raised a cluster on main, which counted flags."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl

from contracts.config import load_config
from detectors import DetectContext
from orderwatch.scan import decide
from rules import load_rules

T = datetime(2026, 9, 1, 10)


def _flags(rows: list[tuple]) -> pl.DataFrame:
    """(kind, order_id, level[, minutes after T][, resolution]) per flag, all of store MD1."""
    out = []
    for i, r in enumerate(rows):
        kind, order, level = r[:3]
        minutes = r[3] if len(r) > 3 else 10 * i
        out.append({"id": i + 1, "rule_id": kind, "kind": kind, "level": level, "store_id": "MD1",
                    "store_name": "一号店", "order_id": order, "occurred_at": T + timedelta(minutes=minutes),
                    "status": "open", "resolution": r[4] if len(r) > 4 else None})
    return pl.DataFrame(out, schema={"id": pl.Int64, "rule_id": pl.String, "kind": pl.String, "level": pl.String,
                                     "store_id": pl.String, "store_name": pl.String, "order_id": pl.String,
                                     "occurred_at": pl.Datetime("us"), "status": pl.String, "resolution": pl.String})


def _orders(flags: pl.DataFrame, others: int) -> pl.LazyFrame:
    """The store's orders: each flagged one, and ``others`` unflagged ones that day."""
    mine = flags.filter(pl.col("order_id").is_not_null()).group_by("order_id").agg(
        pl.col("occurred_at").min().alias("created_at"))
    rest = pl.DataFrame({"order_id": [f"Z{i}" for i in range(others)],
                         "created_at": [T + timedelta(minutes=i) for i in range(others)]},
                        schema={"order_id": pl.String, "created_at": pl.Datetime("us")})
    return pl.concat([mine, rest]).with_columns(pl.lit("MD1").alias("store_id")).lazy()


def _cluster(rows: list[tuple], others: int = 3) -> dict | None:
    config = load_config()
    rule = next(r for r in load_rules(config) if r.id == "store_flag_cluster")
    flags = _flags(rows)
    ctx = DetectContext(lines=pl.LazyFrame(), catalog=None, as_of=T + timedelta(days=1), config=config,
                        orders=_orders(flags, others), flags=flags.lazy())
    out = decide(ctx, [rule])
    if out.height == 0:
        return None
    assert out.height == 1
    return {**json.loads(out["evidence"][0]), "level": out["level"][0], "reason": out["reason"][0]}


def test_one_kind_on_many_orders_is_one_problem_not_a_cluster():
    assert _cluster([("missing_address", f"A{i}", "warn") for i in range(6)]) is None


def test_a_kind_on_nearly_every_order_of_the_day_is_a_standing_condition_not_a_kind():
    """Six orders, all lacking the same address part, three of them duplicates: one kind of
    incident (the duplicates) beside the store's standing address problem."""
    rows = [("missing_address", f"A{i}", "warn") for i in range(6)] + \
        [("duplicate_order", f"A{i}", "warn") for i in range(3)]
    assert _cluster(rows, others=0) is None
    c = _cluster(rows + [("price_deviation", "A4", "warn")], others=0)
    assert c is not None and c["common_kinds"] == "missing_address" and c["kinds_in_window"] == 2


def test_a_few_flagged_orders_of_a_big_store_are_not_a_cluster():
    rows = [("missing_address", "A1", "warn"), ("duplicate_order", "A2", "warn"), ("price_deviation", "A3", "warn")]
    assert _cluster(rows, others=200) is None                      # 3 of 203 orders
    c = _cluster(rows, others=3)                                    # 3 of 6
    assert c is not None and c["store_orders"] == 6 and c["flagged_share"] == 0.5


def test_one_order_with_several_findings_is_one_order():
    assert _cluster([("amount_spike", "A1", "critical"), ("volume_surge", "A1", "critical"),
                     ("missing_address", "A1", "warn"), ("duplicate_order", "A1", "warn")]) is None


def test_distinct_orders_and_kinds_make_a_cluster():
    c = _cluster([("missing_address", "A1", "warn"), ("missing_address", "A2", "warn"),
                  ("duplicate_order", "A3", "warn"), ("missing_address", "A3", "warn")])
    assert c is not None and c["level"] == "warn"
    assert (c["orders_in_window"], c["kinds_in_window"], c["critical_orders"]) == (3, 2, 0)
    assert "3个订单出现异常，共2种" in c["reason"] and "严重" not in c["reason"]   # no "0 of them critical"


def test_time_based_flags_alone_never_make_a_cluster_but_count_beside_the_stores_own():
    late = [("stage_overdue", f"P{i}", "critical") for i in range(4)] + [("stage_overdue", "P5", "warn")]
    assert _cluster(late) is None
    assert _cluster(late + [("missing_address", "A1", "warn")]) is None       # one kind of the store's own
    c = _cluster(late + [("missing_address", "A1", "warn"), ("duplicate_order", "A2", "warn")])
    assert c is not None and (c["orders_in_window"], c["kinds_in_window"]) == (7, 2)


def test_information_and_false_positives_are_not_trouble():
    rows = [("cancel_reorder", "X1", "info"), ("cancel_reorder", "X2", "info"),
            ("missing_address", "A1", "warn"), ("duplicate_order", "A2", "warn"),
            ("price_deviation", "A3", "warn", 30, "false_positive")]
    assert _cluster(rows) is None
    assert _cluster(rows[:-1] + [("price_deviation", "A3", "warn", 30)]) is not None


def test_flags_further_apart_than_the_window_do_not_add_up():
    rows = [("missing_address", "A1", "warn", 0), ("duplicate_order", "A2", "warn", 60),
            ("price_deviation", "A3", "warn", 60 * 30)]
    assert _cluster(rows) is None
