"""A validated rule, as the loader hands it to the engine and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.condition import Node
from rules.condition import fields as condition_fields

#: severities, least to most severe.  ``report`` is below them all: a finding for the statistics
#: (late but done: the SLA statistics of the dashboard and reports), never queued nor notified
LEVEL_ORDER: dict[str, int] = {"report": 0, "info": 1, "warn": 2, "critical": 3}
#: the level that is counted, not queued (kept in store.sla_reports, never in the flags)
REPORT = "report"
#: the levels a flag can have (everything but ``report``)
QUEUED_LEVELS: tuple[str, ...] = tuple(k for k in LEVEL_ORDER if k != REPORT)


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict[str, str]
    detector: str
    params: dict[str, Any]
    levels: dict[str, Node]          # level name -> parsed condition
    level_text: dict[str, str]       # level name -> the condition as written
    department: str
    notify_store: bool
    enabled: bool
    reason: dict[str, str]           # language -> template with {feature} placeholders
    file: Path = field(default=Path("?"), compare=False)
    # "live": its flags are queued and notified; "shadow": evaluated on every scan and kept
    # apart as shadow flags (never queued nor sent), to see what it would do before it goes live
    mode: str = "live"
    shadow_of: str | None = None     # the live rule a shadow rule would replace (its page compares them)

    @property
    def fields(self) -> list[str]:
        """Every feature any level reads, sorted (the message the engine needs)."""
        out: set[str] = set()
        for node in self.levels.values():
            out |= condition_fields(node)
        return sorted(out)

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    @property
    def lowest_level(self) -> str:
        return min(self.levels, key=LEVEL_ORDER.__getitem__)
