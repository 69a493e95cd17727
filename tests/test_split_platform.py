"""The state's platform tables advanced by store group (``platform_on_workers``) equal the tables
advanced whole: each group advances its stores' share by its own new and replaced lines, and
bounding the union of the bounded shares is bounding the whole (ties of time kept, the newest
active orders) — with bounds tight enough that every table drops rows."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from contracts.schema import LINE_KEY
from detectors.state_platform import SCHEMAS, Bounds, advance, advance_platform, empty
from detectors.state_tables import contributions
from orderwatch.runner.platform_on_workers import merge_shares
from tests.test_state_platform import REDO, _batches, _sorted, scan_st

CONFIG = load_config()
PLATFORM = ("platform_orders", "sku_prices", "sku_quantities", "source_fields")


def _share(tables: dict[str, pl.DataFrame], stores: list[str]) -> dict[str, pl.DataFrame]:
    return {t: f.filter(pl.col("store_id").is_in(stores)) if "store_id" in f.columns else f
            for t, f in tables.items() if t in PLATFORM}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans=st.lists(scan_st, min_size=2, max_size=4), redo=st.lists(REDO, max_size=4),
       tight=st.sampled_from([Bounds(platform_orders=3, sku_prices=2, sku_quantities=2), Bounds()]))
def test_the_platform_tables_advanced_by_group_are_the_tables_advanced_whole(scans, redo, tight):
    batches = _batches(scans, redo)
    state, stored = {t: empty(t) for t in SCHEMAS}, batches[0].head(0)
    for batch in batches[:-1]:
        old = stored.join(batch.select(LINE_KEY), on=list(LINE_KEY), how="semi", nulls_equal=True)
        state = advance(state, batch, old, CONFIG, tight)
        stored = pl.concat([stored.join(batch.select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True),
                            batch])
    new = batches[-1]
    old = stored.join(new.select(LINE_KEY), on=list(LINE_KEY), how="semi", nulls_equal=True)
    whole = advance_platform(state, contributions(new, CONFIG), contributions(old, CONFIG), tight)
    shares = []
    for stores in (["S1"], ["S2", "S3"]):
        mine, gone = new.filter(pl.col("store_id").is_in(stores)), old.filter(pl.col("store_id").is_in(stores))
        shares.append(advance_platform(_share(state, stores), contributions(mine, CONFIG),
                                       contributions(gone, CONFIG), tight))
    merged = merge_shares(shares, tight)
    for t in PLATFORM:
        assert _sorted(merged[t]).equals(_sorted(whole[t])), t
