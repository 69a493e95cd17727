"""A line-grain rule firing on several lines of an order at the same level and figure names
the same line every run, whatever order the detectors hand the candidates in."""

from __future__ import annotations

import polars as pl

from contracts.config import load_config
from rules import load_rules
from rules.flags import build_flags


def _candidates(order: list[int]) -> pl.DataFrame:
    rows = [{"subject": "order:t:S1:O1", "order_id": "O1", "store_id": "S1", "line_no": n, "sku": f"SP{n}",
             "quantity": 30.0, "qty_ratio": 2.5, "usual_qty": 12.0, "baseline": "store_sku", "zero_shape": 0}
            for n in order]
    return pl.DataFrame(rows).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def test_ties_go_to_the_first_line_whatever_the_row_order() -> None:
    rule = next(r for r in load_rules(load_config()) if r.id == "line_qty_outlier")
    chosen = set()
    for order in ([3, 1, 2], [2, 3, 1], [1, 2, 3]):
        cands = _candidates(order)
        fired = cands.select("_row", pl.lit("warn").alias("level"))
        flags = build_flags(rule, rule.detector, ["quantity", "qty_ratio", "usual_qty"], cands, fired)
        assert flags.height == 1
        chosen.add((flags["evidence"].str.json_path_match("$.line_no")[0], flags["reason"][0]))
    assert len(chosen) == 1 and next(iter(chosen))[0] == "1" and "SP1" in next(iter(chosen))[1]
