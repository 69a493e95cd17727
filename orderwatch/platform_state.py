"""The platform half of the baseline state (``detectors.state_platform``), kept beside the
store buckets of ``orderwatch.baseline_state``.

``platform_orders``, ``sku_prices``, ``sku_quantities`` and ``source_fields`` cover every store
and are small and bounded (the platform's newest orders, each SKU's newest prices and
quantities, a row per source and field):
they are read whole and rewritten whole each scan as ``<state dir>/platform/<table>.parquet``,
*before* the store buckets and ``meta.json`` (written last), so a crash between the two leaves
a state whose meta does not name the scan — stale, and rebuilt by the next scan.
``cod_orders`` is keyed by store and lives in the buckets (:data:`STORE_SCHEMAS`).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

import polars as pl

from contracts.config import Config
from detectors import state_platform
from detectors.needs import presence
from detectors.state_platform import SCHEMAS, STORE_TABLES, Bounds
from store.baseline_state import BaselineState

WHOLE = tuple(t for t in state_platform.TABLES if t not in STORE_TABLES)
STORE_SCHEMAS = {t: SCHEMAS[t] for t in STORE_TABLES}


def bounds_meta(config: Config) -> dict:
    """What these tables were kept with (a change rebuilds the state)."""
    b = Bounds.of(config)
    return {"platform_orders": b.platform_orders, "sku_prices": b.sku_prices, "cod_days": b.cod_days,
            "sku_quantities": b.sku_quantities}


def read(st: BaselineState) -> dict[str, pl.DataFrame]:
    """The whole platform tables (empty where none is kept yet); rows counted in ``st.rows_read``."""
    out = {}
    for t in WHOLE:
        path = st.dir / "platform" / f"{t}.parquet"
        out[t] = pl.read_parquet(path) if path.exists() else state_platform.empty(t)
        st.rows_read += out[t].height
    return out


def write(st: BaselineState, tables: dict[str, pl.DataFrame]) -> None:
    """Each platform table in place (a rename each), before the buckets' meta is written."""
    where = st.dir / "platform"
    where.mkdir(parents=True, exist_ok=True)
    for t in WHOLE:
        tmp = where / f".{t}.{uuid.uuid4().hex}.tmp"
        try:
            tables[t].write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, where / f"{t}.parquet")
        finally:
            tmp.unlink(missing_ok=True)


def present(batch: pl.DataFrame, tables: dict[str, pl.DataFrame], since: datetime | None) -> dict[str, set[str]]:
    """``detectors.needs.presence`` of the batch's files, a source's history read from the
    state's ``source_fields`` inside the window instead of its raw lines."""
    fields = tables["source_fields"]
    if since is not None:
        fields = fields.filter(pl.col("last_seen") >= since)
    return presence(batch.with_columns(pl.lit(True).alias("_in_batch")), fields)


__all__ = ["STORE_SCHEMAS", "WHOLE", "bounds_meta", "present", "read", "write"]
