"""The baseline state's delta files (store/state_deltas.py): a scan's update writes per bucket
the rows that changed and a tombstone per row removed; readers merge them; a compaction folds
them into the base.  The state after N delta scans equals the state kept by rewriting every
bucket whole (compaction every scan) and, for the line tables, the state rebuilt from the raw
lines; a re-exported line's old row is replaced."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors import state_tables
from orderwatch.baseline_state import rebuild, state_of
from store import History
from store.state_deltas import DEL, KEYS, Compaction, deltas_of, diff, merged
from tests.test_state_buckets import _config, _lines, _scans, _sorted, _state

NEVER = {"compact_files": 10**6, "compact_share": 1e9}      # deltas only
ALWAYS = {"compact_files": 1}                               # every touched bucket rewritten whole


def _deltas(history: History) -> int:
    return sum(len(deltas_of(history.dir / "state" / t)) for t in KEYS)


def _batches(sizes: list[int], redo: list[int]) -> list[pl.DataFrame]:
    """Scans a day apart; each later one re-exports some lines of the one before it (returned,
    or with three times the quantity)."""
    batches = [_lines(i + 1, n, day0=2 * i) for i, n in enumerate(sizes)]
    for i in range(1, len(batches)):
        for j in sorted(set(redo)):
            if j < batches[i - 1].height:
                line = batches[i - 1][j]
                again = line.with_columns(pl.lit("returned").alias("state") if j % 2 else pl.col("quantity") * 3)
                batches[i] = pl.concat([batches[i], again], how="vertical_relaxed")
    return batches


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 60), min_size=2, max_size=5), redo=st.lists(st.integers(0, 59), max_size=6))
def test_the_state_after_delta_scans_is_the_state_rewritten_whole_and_the_rebuilt_one(tmp_path_factory, sizes, redo):
    batches = _batches(sizes, redo)
    states, histories = [], []
    for compact in (NEVER, ALWAYS):
        history = History(tmp_path_factory.mktemp("h"))
        _scans(history, _config(40, platform_orders=9, sku_prices=5, **compact), batches)
        states.append(_state(history))
        histories.append(history)
    deltas, whole = states
    for t in whole:
        assert _sorted(deltas[t]).equals(_sorted(whole[t])), t
    assert _deltas(histories[1]) == 0
    assert _deltas(histories[0]) > 0 or len(batches) < 2
    for t, f in deltas.items():     # one row per key, deltas merged
        if t in KEYS:
            assert f.select(KEYS[t]).is_duplicated().sum() == 0, t
    rebuild(histories[0], _config(40, platform_orders=9, sku_prices=5, **NEVER))
    rebuilt = _state(histories[0])
    assert _deltas(histories[0]) == 0          # a rebuild starts from bases only
    for t in state_tables.TABLES:
        assert _sorted(deltas[t]).equals(_sorted(rebuilt[t])), t


def test_a_re_exported_line_is_replaced_through_a_tombstone_and_after_compaction(tmp_path):
    first = _lines(1, 30)
    line = first.filter(pl.col("state").is_null()).head(1)
    back = line.with_columns(pl.lit("returned").alias("state"))
    key = line.select(KEYS["sku_window"])
    for compact, name in ((NEVER, "d"), (ALWAYS, "w")):
        history = History(tmp_path / name)
        _scans(history, _config(40, **compact), [first, pl.concat([_lines(2, 6, day0=5), back], how="vertical_relaxed")])
        window = state_of(history).read()["sku_window"]
        assert window.join(key, on=list(key.columns), how="semi", nulls_equal=True).is_empty()
        if compact is NEVER:
            found = [p for _k, _s, p in deltas_of(history.dir / "state" / "sku_window")]
            stones = pl.concat([pl.read_parquet(p) for p in found]).filter(pl.col(DEL))
            assert not stones.join(key, on=list(key.columns), how="semi", nulls_equal=True).is_empty()


def test_compaction_folds_the_deltas_once_they_pass_the_share_or_the_files(tmp_path):
    batches = [_lines(i + 1, 24, day0=i) for i in range(5)]
    history = History(tmp_path / "h")
    _scans(history, _config(40, compact_files=3, compact_share=1e9), batches)
    for t in KEYS:
        per = {}
        for k, _s, _p in deltas_of(history.dir / "state" / t):
            per[k] = per.get(k, 0) + 1
        assert all(n < 3 for n in per.values()), (t, per)     # at the third a bucket is written whole
    assert Compaction(share=0.5, files=8).due(100, 51, 1) and not Compaction(share=0.5, files=8).due(100, 50, 7)
    assert Compaction(share=0.5, files=8).due(100, 0, 8)


_ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 5), st.one_of(st.none(), st.floats(-3, 3))),
                 max_size=12, unique_by=lambda r: (r[0], r[1]))


@settings(max_examples=60, deadline=None)
@given(old=_ROWS, new=_ROWS, other=_ROWS)
def test_a_diff_merged_into_its_base_gives_the_new_rows(old, new, other):
    schema = {"store_id": pl.String, "day": pl.Int64, "v": pl.Float64}
    o, n = pl.DataFrame(old, schema=schema, orient="row"), pl.DataFrame(new, schema=schema, orient="row")
    d = diff(o, n, ["store_id", "day"])
    got = merged(o.lazy(), [d.lazy()], ["store_id", "day"]).collect()
    assert _sorted(got).equals(_sorted(n))
    # a second delta on top of the first: the newest row of each key wins
    m = pl.DataFrame(other, schema=schema, orient="row")
    again = merged(o.lazy(), [d.lazy(), diff(n, m, ["store_id", "day"]).lazy()], ["store_id", "day"]).collect()
    assert _sorted(again).equals(_sorted(m))
