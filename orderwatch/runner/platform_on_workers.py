"""The state's platform tables advanced by store group on the Ray workers, never from the whole
batch's new lines in one task.

``state_platform.advance_platform`` takes the platform tables (every store's newest orders, each
SKU's newest prices and quantities, what each source shows) past a scan's new lines and the
stored versions they replace, then bounds them (``history.state``).  Each bound keeps what is no
older than a cut set by the newest rows (the ``n``-th newest time of a SKU, ties kept; the
newest active orders), so it adds up over store groups: bounding the union of every group's
bounded share is bounding the whole.  So each group's task advances the tables' rows of its
own buckets' stores by its own new and replaced lines (an order, a line, is one store's: one
group's), and one task bounds the union of the groups' shares; ``source_fields`` (keyed by
source) is advanced whole in every group and merged by its newest time, a repeat changing
nothing.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.config import Config
from detectors import state_platform
from detectors.state_platform import Bounds, _bound_per_sku, _bound_platform_orders, _cast, _merge_fields
from detectors.state_tables import contributions
from orderwatch import platform_state
from orderwatch.baseline_state import state_of
from orderwatch.runner.ray_split import _concat
from store import History
from store.baseline_state import with_bucket


def _share(history_dir: str, buckets: list[int], whole_too: bool) -> tuple[dict[str, pl.DataFrame], int]:
    """The platform tables' rows of the stores of ``buckets`` (``source_fields`` whole), and the
    rows read (``source_fields`` counted only where ``whole_too``)."""
    st = state_of(History(history_dir))
    out, rows = {}, 0
    for table, frame in platform_state.read(st).items():
        if "store_id" in frame.columns:
            frame = with_bucket(frame, st.buckets).filter(pl.col("_b").is_in(buckets)).drop("_b")
            rows += frame.height
        elif whole_too:
            rows += frame.height
        out[table] = frame
    return out, rows


def _part_task(history_dir: str, config: Config, buckets: list[int], whole_too: bool, fresh: Any,  # noqa: ANN401
               replaced: Any) -> tuple[dict[str, Any], int]:  # noqa: ANN401
    """One group's share of the platform tables advanced past its new and replaced lines."""
    share, rows = _share(history_dir, buckets, whole_too)
    new, old = _concat((fresh,)), _concat((replaced,))
    got = state_platform.advance_platform(share, contributions(new, config), contributions(old, config),
                                          Bounds.of(config))
    return {t: f.to_arrow() for t, f in got.items()}, rows


def merge_shares(shares: list[dict[str, pl.DataFrame]], b: Bounds) -> dict[str, pl.DataFrame]:
    """The platform tables from every group's advanced, bounded share."""
    def union(t: str) -> pl.DataFrame:
        return pl.concat([s[t] for s in shares], how="vertical_relaxed")
    return {
        "platform_orders": _cast(_bound_platform_orders(union("platform_orders"), b), "platform_orders"),
        "sku_prices": _cast(_bound_per_sku(union("sku_prices"), b.sku_prices), "sku_prices"),
        "sku_quantities": _cast(_bound_per_sku(union("sku_quantities"), b.sku_quantities), "sku_quantities"),
        "source_fields": _merge_fields([s["source_fields"] for s in shares]),
    }


def _merge_task(config: Config, *parts: tuple[dict[str, Any], int]) -> tuple[dict[str, Any], int]:
    shares = [{t: pl.from_arrow(f) for t, f in p.items()} for p, _ in parts]
    tables = merge_shares(shares, Bounds.of(config))  # type: ignore[arg-type]
    return {t: f.to_arrow() for t, f in tables.items()}, sum(n for _, n in parts)


def advance_by_group(ws: Any, where: str, config: Config, owned: list[list[int]]) -> Any:  # noqa: ANN401
    """A ref to (the advanced platform tables, the rows read): a task per group, one merge."""
    parts = [ws._task(_part_task).remote(where, config, owned[i], i == 0, ws.fresh[i], ws.replaced[i])
             for i in range(len(ws.fresh))]
    return ws._task(_merge_task).remote(config, *parts)


__all__ = ["advance_by_group", "merge_shares"]
