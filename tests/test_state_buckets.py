"""The baseline state written a group of store buckets at a time (orderwatch/state_buckets.py):
the state's first build in small bucket jobs equals the build over every line at once (the
platform tables merged from each group's bounded part included), no job handles more lines than
``history.state.build_lines`` unless one bucket alone has more, and a scan's update split into
jobs leaves the state one job leaves — over re-exported lines, returns and days across scans."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from detectors import state_platform, state_tables
from orderwatch import platform_state
from orderwatch.baseline_state import advance_scan, state_of
from store import History
from store.baseline_state import bucket_of, with_bucket
from tests.factories import frame

T0 = datetime(2026, 9, 1, 8, 0)
STORES = [f"S{i}" for i in range(12)]       # buckets 2, 8, 14, ...: several stores share some
KEEP_JUDGED = {"judged_days|k": pl.DataFrame(schema=state_tables.ALL_SCHEMAS["judged_days"])}


def _config(build_lines: int | None, **bounds: int):
    config = load_config()
    state = {**bounds, **({"build_lines": build_lines} if build_lines else {})}
    config.raw.setdefault("history", {})["state"] = state
    return config


def _lines(seed: int, n: int, day0: int = 0) -> pl.DataFrame:
    """``n`` lines over the stores, two SKUs, a few days; some returned, some cash on delivery."""
    rows = []
    for j in range(n):
        k = (seed * 7919 + j * 104729) % 1000
        rows.append({"order_id": f"o{seed}-{j // 3}", "line_no": j % 3 + 1, "store_id": STORES[(j // 3) % len(STORES)],
                     "sku": "AB"[k % 2], "quantity": float(1 + k % 7), "unit_price": float(1 + k % 5),
                     "created_at": T0 + timedelta(days=day0 + k % 4, minutes=j), "source": "t",
                     "state": "returned" if k % 11 == 0 else None,
                     "payment_method": "货到付款" if k % 3 == 0 else None})
    return frame(rows)


def _sorted(f: pl.DataFrame) -> pl.DataFrame:
    return f.sort(f.columns, nulls_last=True)


def _state(history: History) -> dict[str, pl.DataFrame]:
    st_ = state_of(history)
    return {**st_.read(), **platform_state.read(st_)}


def _first_scan(tmp, lines: pl.DataFrame, config):
    history = History(tmp)
    history.append(1, lines)
    return history, advance_scan(history, config, 1, lines, lines.head(0), [], KEEP_JUDGED, lines)


def test_a_first_build_in_bucket_jobs_equals_the_build_over_every_line(tmp_path):
    lines = _lines(1, 600)
    config = _config(60, platform_orders=15, sku_prices=7)      # bounds that cut: the merge decides
    history, update = _first_scan(tmp_path / "h", lines, config)
    whole = {**state_tables.build(lines, config), **state_platform.build(lines, config)}
    kept = _state(history)
    for t, f in whole.items():
        assert _sorted(kept[t].select(f.columns)).equals(_sorted(f)), t
    assert whole["platform_orders"].height == 15 and whole["sku_prices"].height >= 14
    # rows handled per step: every line once, no job above the limit unless it is one bucket
    per_bucket = dict(with_bucket(lines).group_by("_b").len().iter_rows())
    assert sum(update.steps) == lines.height and len(update.steps) > 3
    assert max(update.steps) <= max(60, max(per_bucket.values()))
    assert update.rebuilt and state_of(history).includes() == 1


def test_one_bucket_larger_than_the_limit_is_one_job_of_its_own(tmp_path):
    lines = _lines(2, 300)
    config = _config(10)
    _history, update = _first_scan(tmp_path / "h", lines, config)
    sizes = sorted(with_bucket(lines).group_by("_b").len()["len"].to_list())
    assert sorted(update.steps) == sizes        # each bucket above 10 lines: one job per bucket


def _scans(history: History, config, batches: list[pl.DataFrame]):
    out = None
    for i, batch in enumerate(batches, start=1):
        new, new_keys = history.new_or_changed(batch)
        old = history.versions_of(new) if new.height > new_keys else history.versions_of(new.head(0))
        before = history.partition_scan_ids()
        history.append(i, new, replaces=new.height > new_keys)
        out = advance_scan(history, config, i, new, old, before, KEEP_JUDGED, batch)
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 80), min_size=2, max_size=4), redo=st.lists(st.integers(0, 79), max_size=6),
       limit=st.sampled_from([1, 7, 40]))
def test_an_update_in_bucket_jobs_leaves_the_state_of_one_job(tmp_path_factory, sizes, redo, limit):
    """The same scans (the later re-exporting some earlier lines as returned or with a new
    quantity) kept with many small jobs and with one: the same rows in every table."""
    batches = [_lines(i + 1, n, day0=2 * i) for i, n in enumerate(sizes)]
    for j in sorted(set(redo)):
        if j < batches[0].height:
            again = batches[0][j].with_columns(pl.lit("returned").alias("state") if j % 2 else pl.col("quantity") * 3)
            batches[-1] = pl.concat([batches[-1], again], how="vertical_relaxed")
    states, last = [], []
    for lim in (limit, 10**9):
        history = History(tmp_path_factory.mktemp("h"))
        last.append(_scans(history, _config(lim, platform_orders=9, sku_prices=5), batches))
        states.append(_state(history))
    small, one = states
    for t in one:
        assert _sorted(small[t]).equals(_sorted(one[t])), t
    touched = {bucket_of(s) for s in batches[-1]["store_id"].to_list()}
    assert len(last[1].steps) == 1 and sum(last[0].steps) == sum(last[1].steps)
    if limit == 1:      # every touched bucket a job of its own
        assert len(last[0].steps) == len(touched)
    assert last[0].state_rows_read == last[1].state_rows_read and last[0].stores == last[1].stores


def test_a_failed_job_leaves_the_previous_state_and_no_staged_file(tmp_path, monkeypatch):
    from orderwatch import state_buckets
    config = _config(30)
    history = History(tmp_path / "h")
    _scans(history, config, [_lines(1, 120)])
    before = _state(history)
    calls = {"n": 0}
    real = state_buckets.run_job

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*a, **k)
    monkeypatch.setattr("orderwatch.baseline_state.run_job", flaky)
    batch = _lines(2, 120, day0=4)
    new, _ = history.new_or_changed(batch)
    history.append(2, new)
    try:
        advance_scan(history, config, 2, new, new.head(0), [1], KEEP_JUDGED, batch)
    except OSError:
        pass
    else:
        raise AssertionError("the failing job did not fail the update")
    assert calls["n"] == 3
    after = _state(history)
    for t in before:
        assert _sorted(after[t]).equals(_sorted(before[t])), t
    assert state_of(history).includes() == 1
    assert not list((history.dir / "state").rglob("*.tmp"))
