"""What a judgment knows besides the lines: the store master's credit limits, the platform
cap, and the inhibitions of the rule files — read the same way by a scan's replays (the dry
run), so a dry run judges exactly as the scan would have."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from contracts.config import Config
from detectors.needs import context_given
from ingest.store_master import load_store_master, platform_cap


@dataclass
class SiteContext:
    limits: pl.DataFrame | None
    cod_cap: float | None
    given: set[str]

    def present(self, present: dict[str, set[str]]) -> dict[str, set[str]]:
        """Each file's fields, plus what the site itself gives (catalog, limits)."""
        return {f: fields | self.given for f, fields in present.items()}


def site_context(config: Config, store_ids: Iterable[str], has_catalog: bool) -> SiteContext:
    master = load_store_master(config)
    if master is not None:
        master = master.keyed_to(set(store_ids))
    limits = master.limits if master is not None and master.limits.height else None
    cap = platform_cap(config)
    return SiteContext(limits, cap, context_given(has_catalog, limits is not None or cap is not None))
