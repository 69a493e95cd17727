"""``orderwatch inspect FILE...``: what a scan would understand of each file, without scanning.

The files are read and parsed exactly as a scan reads them (so the counts, date formats and
states are the scan's), but nothing is judged or stored: the report says which fields were
found, which headers were left unused, which detectors could not judge the file and at which
clock time-based rules would judge it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import ingest
from contracts.config import Config, now_local
from detectors.needs import context_given, presence, report_skips
from ingest.store_master import has_limits
from ingest.report import FileReport, set_clock
from rules import load_rules


def inspect_paths(paths: Sequence[str | Path], config: Config, *, source: str | None = None,
                  as_of: datetime | None = None) -> list[FileReport]:
    """One report per file, as a scan of them would make it."""
    rules = load_rules(config)
    result = ingest.read_orders(paths, config, source=source)
    present = presence(result.lines)
    now = as_of or now_local(config)
    for r in result.reports:
        set_clock(r, now, config.backfill_days, as_of)
    # inspect is given no catalog; credit limits come from the site config as a scan's would
    report_skips(result.reports, rules, present, context_given(False, has_limits(config)))
    return result.reports
