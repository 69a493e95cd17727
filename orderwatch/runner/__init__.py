"""Where the scan's features and rules run: in this process, or store partitions on Ray.

A runner takes one :class:`Judgment` (the batch, the history it is judged against, the rules)
and returns a :class:`Judged`: the line rules' flags, the shadow rules' flags and a context
over every store for the driver's correlation pass.  Every runner decides through
``orderwatch.decide.decide``; a partitioned one first computes the platform frames the
detectors ask for (``DetectContext.platform``) over all stores, then runs each store
partition as a pure function of its lines, its stores' history and those frames
(``orderwatch.runner.partition``).  Storing stays with the scan: one transaction per scan.

``scan.runner`` in config.yaml (or ``orderwatch scan --runner``) picks one:
``local`` (default; ``partitions: N`` splits the stores into N in-process partitions) or
``{kind: ray, address: …}`` (``orderwatch.runner.on_ray``, the ``orderwatch[ray]`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

import ingest

from contracts.config import Config, ConfigError
from detectors import DetectContext
from rules import Rule
from rules.inhibit import Inhibition
from store import History

KINDS = ("local", "ray")


@dataclass
class Judgment:
    """What a scan asks a runner to judge."""
    batch: pl.DataFrame                 # the scan's canonical lines
    history: History                    # the stored lines its baselines read
    config: Config
    as_of: datetime
    rules: list[Rule]                   # live rules over lines
    shadow_rules: list[Rule] = field(default_factory=list)   # shadow rules over lines
    inhibitions: list[Inhibition] = field(default_factory=list)
    catalog: pl.DataFrame | None = None
    clocks: dict[str, datetime] = field(default_factory=dict)
    limits: pl.DataFrame | None = None  # the store master's credit limits
    cod_cap: float | None = None
    given: set[str] = field(default_factory=set)   # fields the site gives (catalog, limits)


@dataclass
class PartitionRead:
    """What one store partition read: its stores, and the history rows it was given."""
    stores: int
    batch_rows: int
    history_rows: int
    history_stores: list[str]
    state_rows: int = 0                 # baseline state rows read (0: judged on the raw window)
    state_stores: list[str] = field(default_factory=list)   # stores whose state rows were read
    slice_rows: int = 0                 # stored raw lines of the batch's store-days (on state)


@dataclass
class Judged:
    flags: pl.DataFrame                 # FLAG_SCHEMA: the live line rules' flags, ``report`` rows included
    shadow: pl.DataFrame | None         # the shadow line rules' flags (None: no shadow rule over lines)
    present: dict[str, set[str]]        # source_file -> fields it carries (and the site gives)
    ctx: DetectContext                  # every store's lines, for the correlation pass on the driver
    partitions: list[PartitionRead] = field(default_factory=list)   # empty: judged in one piece
    # seconds: "rules" = detectors, pre-filter and engine (the partitions of a partitioned run)
    timings: dict[str, float] = field(default_factory=dict)
    # rows the detectors judged for the batch that the baseline state keeps (``DetectContext.kept``)
    kept: dict[str, pl.DataFrame] = field(default_factory=dict)
    state: Any = None                   # the driver's ``with_state.StateView`` (None: raw window)
    raw_rows: int | None = None         # history lines read into the raw window (None: not counted)


class Runner(Protocol):
    def read(self, paths: Sequence[str | Path], config: Config, *, source: str | None = None,
             limits: ingest.ReadLimits | None = None,
             progress: Callable[[str, float], None] | None = None) -> ingest.IngestResult:
        """The files read into canonical lines and quarantine, by the project's own readers."""
        ...

    def judge(self, job: Judgment) -> Judged: ...

    def state_mapper(self) -> Any:  # noqa: ANN401 - orderwatch.state_buckets.Mapper | None
        """How the baseline state's bucket jobs run (None: one after the other in this process)."""
        ...


def runner_settings(config: Config, kind: str | None = None) -> dict[str, Any]:
    """``scan.runner`` as a dict with ``kind`` (``--runner`` overrides the configured kind)."""
    raw = config.get("scan.runner") or {}
    settings = {"kind": raw} if isinstance(raw, str) else dict(raw)
    if not isinstance(settings, dict):
        raise ConfigError("scan.runner: expected a kind (local, ray) or a mapping with kind:")
    if kind:
        settings["kind"] = kind
    settings.setdefault("kind", "local")
    if settings["kind"] not in KINDS:
        raise ConfigError(f"scan.runner.kind: unknown runner {settings['kind']!r} (known: {', '.join(KINDS)})")
    return settings


def runner_for(config: Config, kind: str | None = None, db_url: str | None = None) -> Runner:
    """The runner ``scan.runner`` (or ``kind``) names, checked against the database at ``db_url``."""
    settings = runner_settings(config, kind)
    if settings["kind"] == "ray":
        from orderwatch.runner.on_ray import RayRunner   # the only module that imports Ray
        return RayRunner.from_settings(settings, db_url or config.database_url, config.get("history.dir"))
    from orderwatch.runner.local import LocalRunner
    return LocalRunner(partitions=int(settings.get("partitions") or 1))


__all__ = ["Judged", "Judgment", "PartitionRead", "Runner", "runner_for", "runner_settings"]
