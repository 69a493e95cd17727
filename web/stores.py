"""Which store codes the service has seen (in flags, stored lines or the order history), so a
form naming a store that never ordered can warn instead of accepting it silently."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select, union

from contracts.config import history_dir_for
from store import History
from store.models import Flag, OrderLine
from web import context


def unknown(store_ids: list[str]) -> list[str]:
    """The codes of ``store_ids`` found nowhere in the data."""
    wanted = sorted({s for s in store_ids if s})
    if not wanted:
        return []
    f, ol = Flag.__table__, OrderLine.__table__
    stmt = union(select(f.c.store_id).where(f.c.store_id.in_(wanted)),
                 select(ol.c.store_id).where(ol.c.store_id.in_(wanted)))
    with context.engine().connect() as conn:
        seen = {r[0] for r in conn.execute(stmt)}
    rest = [s for s in wanted if s not in seen]
    if rest:
        try:
            url = context.store().engine.url.render_as_string(hide_password=False)
            hist = (History(history_dir_for(url, context.config())).scan()
                    .filter(pl.col("store_id").is_in(rest)).select("store_id").unique().collect())
            seen |= set(hist["store_id"].to_list())
        except Exception:  # no history yet
            pass
    return [s for s in wanted if s not in seen]


def split(value: str | None) -> list[str]:
    """Store codes typed as ``MD0001, MD0002`` (Chinese commas and spaces too)."""
    return [x.strip() for x in (value or "").replace("，", ",").replace(" ", ",").split(",") if x.strip()]
