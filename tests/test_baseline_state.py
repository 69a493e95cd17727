"""Baselines as state (issue 9): the state kept scan by scan equals the state built from the raw
lines, and the baselines detectors compute from raw lines (a store×SKU's usual quantity, a
store-day's totals, a store's order amounts) come out the same from the state — over scans
with re-exported lines, returns and store-days whose lines arrive in several scans."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from detectors.baselines import sku_usual, store_days
from detectors.common import orders_of, prepare
from detectors.state_tables import SCHEMAS, Bounds, build, order_values
from orderwatch import platform_state
from orderwatch.baseline_state import JUDGED, advance_scan, rebuild, state_of
from store import History
from tests.factories import frame

CONFIG = load_config()
T0 = datetime(2026, 9, 1, 8, 0)
STORES, SKUS = ["S1", "S2", "S3"], ["A", "B"]
W, N = 8, 60        # the pack's sku_window and amount_spike's window


def _scan(history: History, config, scan_id: int, batch: pl.DataFrame):
    """What run_scan does for the history and the state, in its order."""
    new, new_keys = history.new_or_changed(batch)
    old = history.versions_of(new) if new.height > new_keys else history.versions_of(new.head(0))
    before = history.partition_scan_ids()
    history.append(scan_id, new, replaces=new.height > new_keys)
    return advance_scan(history, config, scan_id, new, old, before)


line_st = st.fixed_dictionaries({
    "store": st.sampled_from(STORES), "sku": st.sampled_from(SKUS),
    "qty": st.sampled_from([1.0, 2.0, 3.0, 5.0, 8.0, 40.0, -2.0, None]),
    "state": st.sampled_from([None, None, None, "completed", "returned", "cancelled"]),
    "price": st.sampled_from([None, 1.5, 10.0]),
    "hours": st.integers(0, 5 * 24),       # when in the five days: a day's lines may span scans
})
scan_st = st.lists(line_st, min_size=1, max_size=12)


def _batches(scans: list[list[dict]], redo: list[tuple[int, int, str | None, float | None]]) -> list[pl.DataFrame]:
    """Canonical batches: line i of every scan is its own order (or joins the previous line's
    order); ``redo``: re-export line ``j`` of scan ``i`` in scan ``i+1`` with a new state/quantity."""
    out, made = [], []
    for i, lines in enumerate(scans):
        rows = []
        for j, ln in enumerate(lines):
            at = T0 + timedelta(hours=ln["hours"])     # ties of time are frequent: the total order decides
            rows.append({"order_id": f"o{i}-{j // 2}", "line_no": j % 2 + 1, "store_id": ln["store"],
                         "sku": ln["sku"], "quantity": ln["qty"], "unit_price": ln["price"],
                         "created_at": at, "source": "t", "state": ln["state"]})
        for (si, lj, state, qty) in redo:
            if si < i and si < len(made) and lj < len(made[si]):
                again = dict(made[si][lj], state=state, quantity=qty)
                if again not in rows:
                    rows = [r for r in rows if (r["order_id"], r["line_no"]) != (again["order_id"], again["line_no"])]
                    rows.append(again)
        made.append(rows)
        out.append(frame(rows))
    return out


def _same(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    a, b = a.sort(keys, nulls_last=True), b.sort(keys, nulls_last=True)
    assert a.height == b.height, (a, b)
    for c in a.columns:
        if a.schema[c].is_float():
            assert ((a[c] - b[c]).abs().fill_null(0) < 1e-6).all() and (a[c].is_null() == b[c].is_null()).all(), c
        else:
            assert a[c].to_list() == b[c].to_list(), c


KEYS = {"sku_window": ["store_id", "sku", "created_at"], "store_days": ["store_id", "day"],
        "store_orders": ["source", "store_id", "order_id"]}


def _check(history: History, scans, redo, config, w: int, n: int) -> None:
    for i, batch in enumerate(_batches(scans, redo), start=1):
        _scan(history, config, i, batch)
    kept = state_of(history).read()
    raw = history.scan().collect()
    built = build(raw, config)
    # store-days add up exactly; windows and orders are bounded: what the baselines read of
    # them is compared below (a pair whose lines were returned keeps fewer spare lines)
    _same(kept["store_days"], built["store_days"], KEYS["store_days"])
    _baselines_match(raw, kept, w, n)


REDO = st.tuples(st.integers(0, 2), st.integers(0, 11), st.sampled_from([None, "returned", "cancelled", "completed"]),
                 st.sampled_from([1.0, 4.0, 30.0, None]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scans=st.lists(scan_st, min_size=1, max_size=4), redo=st.lists(REDO, max_size=4))
def test_state_kept_scan_by_scan_equals_raw_lines(tmp_path_factory, scans, redo):
    _check(History(tmp_path_factory.mktemp("h")), scans, redo, CONFIG, W, N)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scans=st.lists(scan_st, min_size=2, max_size=4), redo=st.lists(REDO, max_size=2))
def test_bounded_state_still_holds_every_value_a_window_reads(tmp_path_factory, scans, redo):
    """Tight bounds (4 lines a pair, 6 orders a store) against windows of 2 and 3: lines and
    orders fall out of the state as newer ones come, and the baselines stay those of raw lines
    while no more than half of what a pair or store keeps is later withdrawn."""
    config = load_config()
    config.raw.setdefault("history", {})["state"] = {"sku_lines": 4, "order_count": 6}
    _check(History(tmp_path_factory.mktemp("h")), scans, redo, config, 2, 3)


def _baselines_match(raw: pl.DataFrame, kept: dict[str, pl.DataFrame], w: int, n: int) -> None:
    """What detectors compute from raw lines, computed from the state."""
    lines = prepare(raw.lazy().with_columns(pl.lit(False).alias("_in_batch")), CONFIG)
    active = lines.filter(pl.col("active") & pl.col("quantity").is_not_null())
    # a store×SKU's usual for its next line: sku_usual on raw lines and a probe line after them
    probe_at = T0 + timedelta(days=30)
    pairs = active.select("store_id", "sku").unique().collect()
    if pairs.height:
        probes = pairs.with_columns(pl.lit(probe_at).alias("created_at"), pl.lit("probe").alias("order_id"),
                                    pl.lit(1, pl.Int32).alias("line_no"), pl.lit(1.0).alias("quantity"),
                                    pl.lit(True).alias("_probe"))
        both = pl.concat([active.select("store_id", "sku", "created_at", "order_id", "line_no", "quantity",
                                        pl.lit(False).alias("_probe")).collect(), probes], how="vertical_relaxed")
        usual = (sku_usual(both.lazy(), w, 1).filter(pl.col("_probe"))
                 .select("store_id", "sku", "usual_qty").collect())
        state_usual = (kept["sku_window"].sort("created_at", "order_id", "line_no").group_by("store_id", "sku")
                       .agg(pl.col("quantity").tail(w).median().alias("usual_qty")))
        _same(usual, state_usual, ["store_id", "sku"])
    # a store-day's totals
    days = (store_days(sku_usual(active, w, 1)).select("store_id", "day", "day_qty", "day_lines", "day_amount")
            .collect().with_columns(pl.col("day_lines").cast(pl.Int64)))
    _same(days, kept["store_days"], ["store_id", "day"])
    # a store's order amounts: the median of its last N active orders
    orders = orders_of(lines, None).filter(pl.col("n_active") > 0).sort("store_id", "created_at", "order_id")
    raw_amount = orders.group_by("store_id").agg(pl.col("order_value").tail(n).median()).collect()
    state_amount = order_values(kept["store_orders"]).group_by("store_id").agg(
        pl.col("order_value").tail(n).median())
    _same(raw_amount, state_amount, ["store_id"])


def _day(store: str, d: int, n: int, qty: float = 3.0) -> pl.DataFrame:
    at = T0 + timedelta(days=d)
    return frame([{"order_id": f"{store}-{d}-{k}", "store_id": store, "sku": SKUS[k % 2], "quantity": qty,
                   "unit_price": 2.0, "created_at": at + timedelta(minutes=k), "source": "t"} for k in range(n)])


def test_a_day_batch_reads_its_stores_state_and_no_raw_lines(tmp_path):
    """After 30 days of history, a new day's batch of one store reads none of the raw lines and
    only its own store's state rows (its bucket's other stores are not returned)."""
    history = History(tmp_path / "h")
    for d in range(30):
        _scan(history, CONFIG, d + 1, pl.concat([_day(s, d, 4) for s in STORES]))
    judged = sum(f.height for t, f in state_of(history).read(["S2"]).items() if t in JUDGED)
    platform = platform_state.read(state_of(history))
    whole = sum(f.height for f in platform.values())
    update = _scan(history, CONFIG, 31, _day("S2", 30, 4, qty=6.0))
    assert not update.rebuilt
    assert update.raw_rows_read == 0
    kept = state_of(history).read(["S2"])
    # what it read: its pairs' windows, its 30 days, its last orders (every one of them active),
    # its judged store-days (detectors.volume_state), and the platform tables, read whole
    # (orderwatch.platform_state: the platform's newest orders, each SKU's newest prices and
    # quantities: every one of the 360 lines, under history.state.sku_quantities a SKU)
    assert whole - platform["sku_quantities"].height < 800
    assert platform["sku_quantities"].height == 30 * len(STORES) * 4
    assert update.state_rows_read == 2 * Bounds().sku_lines + 30 + Bounds().order_count + judged + whole
    assert set(kept["store_days"]["store_id"]) == {"S2"}
    assert kept["store_days"].height == 31
    assert kept["sku_window"].group_by("sku").len()["len"].to_list() == [Bounds().sku_lines] * 2


def test_rebuild_and_a_stale_state(tmp_path):
    """``rebuild`` recomputes the state from raw lines; a state behind the history (its scan
    was never recorded there) is rebuilt by the next scan rather than updated wrongly."""
    history = History(tmp_path / "h")
    for d in range(3):
        _scan(history, CONFIG, d + 1, _day("S1", d, 3))
    st_ = state_of(history)
    assert st_.includes() == 3
    # a partition the state never saw (a crash between the history's rename and the state's)
    history.append(4, _day("S1", 3, 3, qty=9.0))
    update = _scan(history, CONFIG, 5, _day("S1", 4, 3))
    assert update.rebuilt and st_.includes() == 5
    days = st_.read()["store_days"].sort("day")
    assert days["day_qty"].to_list() == [9.0, 9.0, 9.0, 27.0, 9.0]
    st_.clear()
    out = rebuild(history, CONFIG)
    assert out.rebuilt and out.rows["store_days"] == 5 and st_.includes() == 5
    _same(st_.read()["store_days"], days, ["store_id", "day"])


def test_changed_bounds_rebuild(tmp_path):
    history = History(tmp_path / "h")
    _scan(history, CONFIG, 1, _day("S1", 0, 3))
    smaller = load_config()
    smaller.raw.setdefault("history", {})["state"] = {"sku_lines": 1}
    update = _scan(history, smaller, 2, _day("S1", 1, 3))
    assert update.rebuilt
    assert state_of(history).read()["sku_window"].height == 2   # one line per pair


@pytest.mark.parametrize("returned", ["returned", "cancelled"])
def test_a_return_reexported_leaves_the_window_and_the_day(tmp_path, returned):
    history = History(tmp_path / "h")
    first = _day("S1", 0, 4)
    _scan(history, CONFIG, 1, first)
    _scan(history, CONFIG, 2, first.head(1).with_columns(pl.lit(returned).alias("state")))
    kept = state_of(history).read()
    assert kept["store_days"]["day_lines"].to_list() == [3]
    assert kept["sku_window"].height == 3
    orders = order_values(kept["store_orders"])
    assert orders.height == 3


def test_scans_keep_the_state_and_the_cli_rebuilds_it(tmp_path, site_config, capsys):
    """Two scans through ``run_scan`` keep the state beside the history (the second updates only
    its stores' rows); ``orderwatch history rebuild`` recomputes the same state from raw lines."""
    from contracts.config import history_dir_for
    from orderwatch.cli import main
    from orderwatch.scan import run_scan

    db = f"sqlite:///{tmp_path / 'ow.db'}"
    for name, d, stores in (("a.csv", 0, STORES), ("b.csv", 1, ["S1"])):
        pl.concat([_day(s, d, 3) for s in stores]).select(
            "order_id", "line_no", "store_id", "sku", "quantity", "unit_price", "created_at").write_csv(tmp_path / name)
    first = run_scan([tmp_path / "a.csv"], site_config, db_url=db, as_of=T0 + timedelta(days=2))
    second = run_scan([tmp_path / "b.csv"], site_config, db_url=db, as_of=T0 + timedelta(days=2))
    assert first.state is not None and first.state.rebuilt          # no state before the first scan
    assert second.state is not None and not second.state.rebuilt and second.state.stores == 1
    assert second.state.raw_rows_read == 0
    history = History(history_dir_for(db, site_config))
    kept = state_of(history).read()
    assert kept["store_days"].sort("store_id", "day")["day_lines"].to_list() == [3, 3, 3, 3]
    assert state_of(history).includes() == second.scan_id
    assert main(["history", "rebuild", "--db", db]) == 0
    assert "store_days 4 rows" in capsys.readouterr().out
    for t in SCHEMAS:
        _same(state_of(history).read()[t], kept[t], KEYS[t])


def test_days_are_bounded_per_store_as_a_rebuild_bounds_them(tmp_path):
    """``history.state.days``: each store keeps the days up to that many before its own newest,
    whether its rows were last written by a scan of some stores or by a rebuild of all."""
    config = load_config()
    config.raw.setdefault("history", {})["state"] = {"days": 5}
    history = History(tmp_path / "h")
    for d in range(10):
        _scan(history, config, d + 1, pl.concat([_day(s, d, 2) for s in ("S1", "S2")]))
    _scan(history, config, 11, _day("S1", 12, 2))
    kept = state_of(history).read()["store_days"]
    firsts = kept.group_by("store_id").agg(pl.col("day").min(), pl.len()).sort("store_id")
    assert firsts["len"].to_list() == [3, 5]          # S1: days 8, 9, 12; S2: days 5-9
    assert firsts["day"].to_list() == [(T0 + timedelta(days=8)).date(), (T0 + timedelta(days=5)).date()]
    _same(kept, build(history.scan().collect(), config)["store_days"], KEYS["store_days"])
