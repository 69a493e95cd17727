"""line_qty_outlier (``volume_surge`` scope ``line``) on the baseline state equals it on the raw
history window (issue 9): the pair's usual from its stored window, the SKU's platform usual and
the platform's usual line from ``sku_quantities``, the store's size from every pair's window
(``detectors.line_refs``) — over stores with no or little history, SKUs new to the platform,
re-exported lines (returns, new quantities), store-days whose lines span the history and the
batch, and tight state bounds; and a one-day batch judged by the line rule reads no raw history
line outside its own store-days."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from detectors import REGISTRY
from orderwatch.baseline_state import state_of
from rules.loader import load_rules
from store import History
from tests.factories import catalog, frame
from tests.state_support import Given, assert_same_output, scan_into, state_context

CONFIG = load_config()
T0 = datetime(2026, 9, 1, 8, 0)
STORES = ["S1", "S2", "S3", "S4", "S5"]      # S5: only ever in the batch (a new store)
SKUS = ["A", "B", "C", "D", "E"]             # E: rare on the platform
CAT = catalog([{"sku": "A", "order_step": 6}, {"sku": "B", "order_step": 1}])
RULE = next(r for r in load_rules(CONFIG) if r.id == "line_qty_outlier")


def _lines(seed: int, n_orders: int, days: int) -> pl.DataFrame:
    """Stores of different sizes ordering a few SKUs every few hours; some lines an extra zero,
    some returned or cancelled, some without a quantity."""
    rnd = random.Random(seed)
    size = {s: rnd.choice([1.0, 3.0, 10.0]) for s in STORES}
    rows = []
    for i in range(n_orders):
        s = rnd.choice(STORES[:4] if rnd.random() < 0.9 else STORES)
        at = T0 + timedelta(hours=rnd.randrange(0, 24 * days), minutes=rnd.choice([0, 0, 30]))
        skus = rnd.sample(SKUS[:4], rnd.randint(1, 3)) + (["E"] if rnd.random() < 0.05 else [])
        for j, sku in enumerate(skus):
            qty = round(size[s] * rnd.choice([1, 2, 2, 3, 4]) * (10 if rnd.random() < 0.04 else 1))
            rows.append({"order_id": f"o{i}", "line_no": j + 1, "store_id": s, "store_name": s, "sku": sku,
                         "quantity": rnd.choice([float(qty)] * 12 + [None, -1.0]), "unit_price": 5.0,
                         "created_at": at, "source": "t",
                         "state": rnd.choice([None] * 10 + ["returned", "cancelled"])})
    return frame(rows)


def _split(lines: pl.DataFrame, cut: datetime, redo: list[int], qty: float | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(history, batch) at ``cut``; the batch also re-exports the orders ``redo`` of the history,
    returned (``qty`` None) or with a new quantity."""
    history, batch = lines.filter(pl.col("created_at") < cut), lines.filter(pl.col("created_at") >= cut)
    again = history.filter(pl.col("order_id").is_in([f"o{i}" for i in redo]))
    again = (again.with_columns(pl.lit("returned").alias("state")) if qty is None
             else again.with_columns(pl.lit(qty).alias("quantity")))
    return history, pl.concat([batch, again])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), cut_h=st.integers(24, 24 * 20),
       redo=st.lists(st.integers(0, 299), max_size=6), qty=st.sampled_from([None, 40.0, 2.0]),
       platform=st.sampled_from([3, 10, 200]), window=st.sampled_from([3, 8]), min_history=st.sampled_from([1, 3]),
       with_catalog=st.booleans())
@example(seed=1, n=300, cut_h=24 * 19 + 5, redo=[3, 7, 250], qty=None, platform=10, window=8, min_history=3,
         with_catalog=True)      # a long history: pairs beyond their window, a batch day spanning the cut
def test_line_features_on_state_equal_the_raw_window(seed, n, cut_h, redo, qty, platform, window, min_history,
                                                     with_catalog):
    history, batch = _split(_lines(seed, n, 21), T0 + timedelta(hours=cut_h), redo, qty)
    if batch.is_empty():
        return
    params = {"scope": "line", "platform_lines": platform, "min_platform_lines": min(5, platform),
              "sku_window": window, "min_history": min_history}
    g = Given(config=CONFIG, as_of=T0 + timedelta(days=22), catalog=CAT if with_catalog else None)
    assert_same_output("volume_surge", params, history, batch, g)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(50, 300), redo=st.lists(st.integers(0, 299), max_size=4))
def test_tight_bounds_still_serve_what_the_rule_reads(seed, n, redo):
    """Kept at three times the pair's window (6 lines for a window of 2) and twice the SKU's
    platform lines (8 for 4): the same features as from every raw line."""
    config = load_config()
    config.raw.setdefault("history", {})["state"] = {"sku_lines": 6, "sku_quantities": 8}
    history, batch = _split(_lines(seed, n, 21), T0 + timedelta(days=18), redo, None)
    if batch.is_empty():
        return
    params = {"scope": "line", "platform_lines": 4, "min_platform_lines": 2, "sku_window": 2, "min_history": 2}
    state = state_context(history, batch, Given(config=config, as_of=T0))
    assert state.state["sku_quantities"].group_by("sku").len()["len"].max() <= 8 + 4   # ties of time kept
    assert_same_output("volume_surge", params, history, batch, Given(config=config, as_of=T0))


def test_the_store_size_scales_the_platform_usual_of_a_sku_new_to_the_store():
    """A store ordering three times the platform's usual of what it orders is judged on a SKU
    new to it against three times the SKU's platform usual, in both modes."""
    at = T0 + timedelta(days=10)
    rows = [{"order_id": f"h{s}{d}{k}", "store_id": s, "sku": k, "quantity": q, "created_at": T0 + timedelta(days=d),
             "source": "t"}
            for d in range(6) for s, scale in (("S1", 1.0), ("S2", 1.0), ("S3", 3.0)) for k in ("A", "B", "C")
            for q in [(4.0 if k == "A" else 10.0) * scale] if not (s == "S3" and k == "C")]
    history = frame(rows)
    batch = frame([{"order_id": "n", "store_id": "S3", "sku": "C", "quantity": 300.0, "created_at": at, "source": "t"}])
    out = assert_same_output("volume_surge", RULE.params, history, batch, Given(config=CONFIG, as_of=at))
    row = out.row(0, named=True)
    # C's platform usual is 10 (S1's and S2's 12 lines and the batch's), S3's size 3 (its A and B at 3× theirs)
    assert row["baseline"] == "store_scaled" and row["usual_qty"] == 30.0 and row["qty_ratio"] == 10.0
    assert row["history_lines"] == 13


def test_platform_usual_is_over_each_skus_newest_lines():
    """The SKU's platform usual reads its newest ``platform_lines`` only: an old level is gone."""
    rows = [{"order_id": f"o{i}", "store_id": f"S{i % 7}", "sku": "A", "quantity": 50.0 if i < 30 else 5.0,
             "created_at": T0 + timedelta(hours=i), "source": "t"} for i in range(40)]
    batch = frame([{"order_id": "n", "store_id": "S9", "sku": "A", "quantity": 50.0,
                    "created_at": T0 + timedelta(hours=41), "source": "t"}])
    params = {**RULE.params, "platform_lines": 10}
    out = assert_same_output("volume_surge", params, frame(rows), batch, Given(config=CONFIG, as_of=T0))
    assert out.select("baseline", "usual_qty", "history_lines").row(0) == ("platform_sku", 5.0, 10)


def test_a_rule_asking_more_platform_lines_than_the_state_keeps_is_refused():
    det = REGISTRY["volume_surge"]
    assert [f for f, _ in det.check(det.with_defaults({"scope": "line", "platform_lines": 401}), CONFIG)] == [
        "platform_lines"]
    assert [f for f, _ in det.check(det.with_defaults({"scope": "line", "platform_lines": 2}), CONFIG)] == [
        "platform_lines"]
    assert det.check(det.with_defaults({"scope": "line"}), CONFIG) == []
    assert det.check(det.with_defaults({"scope": "day", "platform_lines": 401}), CONFIG) == []


# -- the runner on a current state ---------------------------------------------------------------
def _days(days: int, zero_on: int) -> list[pl.DataFrame]:
    """A day of every store per scan; on ``zero_on`` S1 types an extra zero and S2 orders a SKU new to it."""
    out = []
    for d in range(days):
        at = T0 + timedelta(days=d)
        rows = [{"order_id": f"{s}-{d}", "line_no": i + 1, "store_id": s, "sku": k, "source": "t", "unit_price": 2.0,
                 "quantity": float((4 + i + d % 3) * (2 if s == "S3" else 1)), "created_at": at + timedelta(hours=i)}
                for s in ("S1", "S2", "S3") for i, k in enumerate("ABC")]
        if d == zero_on:
            rows[0]["quantity"] *= 10
            rows.append({"order_id": "S2-new", "line_no": 1, "store_id": "S2", "sku": "D", "source": "t",
                         "unit_price": 2.0, "quantity": 600.0, "created_at": at + timedelta(hours=5)})
        out.append(frame(rows))
    return out


def test_a_one_day_batch_judged_by_the_line_rule_reads_no_raw_history_line(tmp_path):
    """On a current state the line rule reads 0 raw lines (a new day: no stored line of its
    store-days either), its stores' state rows only, and raises the flags the raw window raises."""
    from orderwatch.runner import Judgment
    from orderwatch.runner.local import LocalRunner

    history = History(tmp_path / "h")
    world = _days(20, 19)
    for scan_id, batch in enumerate(world[:-1], start=1):
        scan_into(history, CONFIG, scan_id, batch, {})
    batch, as_of = world[-1], T0 + timedelta(days=20)
    job = {"batch": batch, "history": history, "config": CONFIG, "as_of": as_of, "rules": [RULE]}
    on_state = LocalRunner().judge(Judgment(**job))
    parts = LocalRunner(partitions=2).judge(Judgment(**job))
    assert on_state.state is not None and on_state.raw_rows == 0 and on_state.state.slice_rows == 0
    assert set(on_state.state.tables["sku_window"]["store_id"]) == {"S1", "S2", "S3"}
    state_of(history).mark_stale()                       # the same batch on the raw window
    raw = LocalRunner().judge(Judgment(**job))
    assert raw.state is None and raw.raw_rows == 19 * 9
    cols = ["rule_id", "subject", "level", "evidence"]
    got = on_state.flags.select(cols).sort("subject")
    assert got.equals(raw.flags.select(cols).sort("subject"))
    assert got.equals(parts.flags.select(cols).sort("subject"))
    assert sorted(on_state.flags["order_id"]) == ["S1-19", "S2-new"]
