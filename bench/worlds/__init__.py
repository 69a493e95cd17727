"""Benchmark worlds: generated order exports with a known truth, for measuring detection.

``build_world(name, seed, out_dir)`` makes one world end to end — stores and rhythms
(``stores``), goods and units (``catalog``), orders and lines (``orders``), what happened to
them up to the export (``lifecycle``), seeded anomalies (``seed_lines``, ``seed_orders``),
the truth (``truth``) — and writes it as the user would receive it (``dialects``,
``writers``) beside ``truth.parquet``, ``truth.csv`` and ``mapping.yaml`` (the header mapping
the generator knows, as a site config).  The same name and seed give the
same files.  Nothing here is shared with the demo's generator.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from contracts.schema import CANONICAL, CATALOG

from . import credit, lifecycle, seed_lines, seed_orders, writers
from .catalog import assortments, make_catalog, shop_catalog
from .dialects import DIALECTS, mapping_for
from .orders import finalize, make_lines, make_orders
from .seed_base import Seeder
from .spec import CORRELATION_KINDS, KINDS, SPECS, WorldSpec
from .stores import make_stores, order_plan
from .truth import break_chance_duplicates, truth_frame

__all__ = ["CORRELATION_KINDS", "KINDS", "SPECS", "World", "build_world"]

#: the order anomalies are seeded in: copies first (of untouched orders), amounts last
SEEDERS = (
    ("duplicate_order", seed_orders.duplicate), ("cancel_reorder", seed_orders.corrected),
    ("picking_overdue", seed_orders.stuck_picking), ("delivery_overdue", seed_orders.stuck_delivery),
    ("missing_address", seed_orders.bad_address), ("payment_mismatch", seed_orders.paid_off),
    ("amount_spike", seed_orders.amount_spike), ("store_day_surge", seed_lines.store_day_surge),
    ("line_qty_outlier", seed_lines.extra_zero), ("step_mismatch", seed_lines.off_step),
    ("price_deviation", seed_lines.price_off), ("credit_limit", credit.seed),
)


@dataclass
class World:
    name: str
    spec: WorldSpec
    as_of: datetime
    order_files: list[Path]
    catalog_file: Path | None
    truth: pl.DataFrame
    orders: int                              # documents in the export (orders and returns)
    lines: int
    columns: dict[str, str] = field(default_factory=dict)          # canonical -> header
    catalog_columns: dict[str, str] = field(default_factory=dict)
    chance_duplicates_fixed: int = 0
    stores_file: Path | None = None          # the store master (credit limits), where the world has one

    def site_mapping(self) -> dict:
        """The site-config fragment the generator knows (its dialect -> today's canonical fields):
        a ``sources:`` entry matching the export's file name, and ``catalog.columns``."""
        cols = {k: v for k, v in self.columns.items() if k in CANONICAL}
        out: dict = {"sources": [{"name": f"bench_{self.name}", "match": self.order_files[0].name, "columns": cols}]}
        if self.catalog_columns:
            out["catalog"] = {"columns": {k: v for k, v in self.catalog_columns.items() if k in CATALOG}}
        return out


def as_of_of(spec: WorldSpec) -> datetime:
    return datetime(spec.end.year, spec.end.month, spec.end.day) + timedelta(hours=spec.as_of_hour)


def generate(spec: WorldSpec, seed: int) -> tuple[Seeder, int]:
    """The world in memory: the seeder (frames and truth so far) and how many chance repeats were repaired."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])   # each world its own stream
    as_of = as_of_of(spec)
    stores = make_stores(spec, rng)
    catalog = shop_catalog(spec, stores, rng) if spec.buyers else make_catalog(spec, rng)
    assort = assortments(spec, stores, catalog, rng)
    plan = order_plan(spec, stores, rng)
    orders = make_orders(spec, stores, plan, rng).filter(pl.col("created_at") <= as_of)
    lines = make_lines(spec, orders, stores, assort, catalog, rng)
    orders, lines = lifecycle.fulfil(spec, orders, lines, stores, catalog, as_of, rng)
    s = Seeder(spec, orders, lines, catalog, assort, as_of, rng, stores=stores)
    fixed = break_chance_duplicates(s)
    for kind, seeder in SEEDERS:
        if spec.seeds.get(kind):
            seeder(s, spec.seeds[kind])
    if spec.store_master:
        s.limits = credit.limits(s)
    s.orders, s.lines = finalize(s.orders, s.lines)
    return s, fixed


def build_world(name: str, seed: int, out_dir: str | Path, spec: WorldSpec | None = None) -> World:
    """Generate world ``name`` with ``seed`` into ``out_dir/name/`` and return what was written
    (``spec`` replaces the named spec, e.g. a smaller one for tests)."""
    spec = spec or SPECS[name]
    s, fixed = generate(spec, seed)
    out = Path(out_dir) / name
    out.mkdir(parents=True, exist_ok=True)
    dialect = DIALECTS[spec.dialect]
    wrng = np.random.default_rng([seed, 7])
    path = writers.write_orders(dialect, s.orders, s.lines, out)
    cat = writers.write_catalog(dialect, s.catalog, out, wrng) if spec.catalog else None
    master = (credit.write_master(spec.dialect, s.stores, s.limits, out, writers.write_table)
              if spec.store_master and s.stores is not None else None)
    truth = truth_frame(name, s, landline_apart=any(c.field == "landline" for c in dialect.columns))
    truth.write_parquet(out / "truth.parquet")
    truth.write_csv(out / "truth.csv")
    cols, cat_cols = mapping_for(dialect)
    world = World(name=name, spec=spec, as_of=as_of_of(spec), order_files=[path], catalog_file=cat,
                  truth=truth, orders=s.orders.height, lines=s.lines.height, columns=cols,
                  catalog_columns=cat_cols, chance_duplicates_fixed=fixed, stores_file=master)
    (out / "mapping.yaml").write_text(
        "# The header mapping the generator knows, as a site config (orderwatch --config mapping.yaml scan ...)\n"
        + yaml.safe_dump(world.site_mapping(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return world
