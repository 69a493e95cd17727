"""Which store a quarantined row belongs to, read from its raw record when it names one.

Why: quarantine downloads are scoped to the people whose remit covers the rows (a store
manager sees their own store's rejected rows, not every store's consignees and phones).
Rows whose raw text is not a header → value record (ragged CSV lines) get no store.
"""

from __future__ import annotations

import json

import polars as pl

from contracts.config import Config

from .headers import ORDER_INDEX, map_headers


def quarantine_store_ids(quarantine: pl.DataFrame, config: Config, source: str | None = None) -> pl.Series:
    """A ``store_id`` Series aligned with ``quarantine`` (null where unknown)."""
    out: list[str | None] = []
    cache: dict[tuple[str, tuple[str, ...]], str | None] = {}
    for file, raw in zip(quarantine["source_file"].to_list(), quarantine["raw"].to_list()):
        try:
            rec = json.loads(raw) if raw and raw.startswith("{") else None
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            out.append(None)
            continue
        key = (file or "", tuple(rec))
        if key not in cache:
            try:
                columns = config.source_for(file or "", source).columns
            except Exception:  # noqa: BLE001 - an unknown source name: aliases only
                columns = {}
            cache[key] = map_headers(list(rec), ORDER_INDEX, columns).get("store_id")
        header = cache[key]
        value = rec.get(header) if header else None
        out.append(str(value).strip() if value not in (None, "") else None)
    return pl.Series("store_id", out, dtype=pl.String)
