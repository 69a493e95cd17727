"""``volume_surge``'s day passes run on store groups (``detectors.volume_lines``: a scan of more
than ``GROUP_LINES`` lines) judge every store-day exactly as one piece does: the same features
and the same rows handed to the baseline state, on the raw window and on the state — the line
spread and the day factors span the groups, a store is never split."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from contracts.config import load_config
from detectors import REGISTRY, DetectContext, volume_lines
from detectors.common import prepare
from orderwatch.runner.partition import collect_kept, combined, history_of, since_of
from orderwatch.runner.with_state import current
from store import History
from tests.factories import frame
from tests.test_volume_state import RULE, T0, _day_lines, _features, _on_state, _same, _scan, _world

CONFIG = load_config()
STORES = [f"S{i}" for i in range(7)]


def _many_stores(days: int) -> pl.DataFrame:
    """Seven stores' weekly rhythm over ``days`` days, two of them with a surge and one with a
    day of few huge lines near the end (stores of different sizes, so groups differ in stores)."""
    rows = []
    for d in range(days):
        for k, s in enumerate(STORES):
            scale = 1.0 + 0.5 * k
            if (s, d) in {("S1", days - 2), ("S4", days - 1)}:
                scale *= 6
            day = _day_lines(s, d, scale)
            if (s, d) == ("S5", days - 1):
                day = day[:2]
                for ln in day:
                    ln["quantity"] *= 10
            rows += [{**ln, "store_id": s} for ln in day]
    return frame(rows)


def _judged(lines: pl.DataFrame, **state: object) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    ctx = DetectContext(lines=lines.lazy(), catalog=None, as_of=T0 + timedelta(days=40), config=CONFIG, **state)
    return _features(ctx), collect_kept(ctx.kept)


def _same_kept(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        keys = [c for c in ("store_id", "day", "bin") if c in a[name].columns]
        x, y = a[name].sort(keys), b[name].sort(keys)
        _same(x.with_columns(pl.concat_str(pl.col(keys).cast(pl.String), separator="|").alias("subject")),
              y.with_columns(pl.concat_str(pl.col(keys).cast(pl.String), separator="|").alias("subject")))


@pytest.mark.parametrize("limit", [1, 40, 130])
def test_store_groups_judge_every_store_day_as_one_piece(monkeypatch, limit):
    batch = _many_stores(40)
    lines = prepare(combined(batch, None), CONFIG).collect()
    whole, whole_kept = _judged(lines)
    ctx = DetectContext(lines=lines.lazy(), catalog=None, as_of=T0, config=CONFIG)
    assert volume_lines.store_groups(ctx) == [None]          # a small scan is one piece
    monkeypatch.setattr(volume_lines, "GROUP_LINES", limit)
    groups = volume_lines.store_groups(ctx)
    assert 2 <= len(groups) <= len(STORES)                  # whole stores: at most one group each
    grouped, grouped_kept = _judged(lines)
    assert whole.height == grouped.height > 0
    assert (whole["adj_ratio"] >= 3).any()                  # the seeded surges are there to judge
    _same(whole, grouped)
    _same_kept(whole_kept, grouped_kept)


def test_store_groups_on_the_baseline_state_equal_one_piece(tmp_path, monkeypatch):
    history = History(tmp_path / "h")
    compared = 0
    for scan_id, (d, batch) in enumerate(_world(24, {("S1", 21): 4.0}, {22}, {23}), start=1):
        if d >= 14 and current(history, CONFIG):
            whole, whole_kept, _view = _on_state(history, batch)
            monkeypatch.setattr(volume_lines, "GROUP_LINES", 1)
            grouped, grouped_kept, _view = _on_state(history, batch)
            monkeypatch.undo()
            _same(whole, grouped)
            _same_kept(whole_kept, grouped_kept)
            compared += whole.height
            kept = whole_kept
        else:
            lines = prepare(combined(batch, history_of(history, since_of(batch, CONFIG))), CONFIG).collect()
            kept = _judged(lines)[1]
        _scan(history, scan_id, batch, kept)
    assert compared >= 3 * 8 and RULE.params["scope"] == "day"
