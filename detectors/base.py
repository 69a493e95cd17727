"""What a detector is, and what it is given.

A detector is a module of polars expressions.  Given the batch joined to its recent history
(``DetectContext.lines``, one canonical row per order line, ``_in_batch`` marking the rows of
this scan), it returns a LazyFrame at its grain — one row per line, order or store-day of the
batch — carrying the subject columns below plus its feature columns.  Rules then read only
feature columns, so thresholds live in YAML and detectors stay threshold-free.

A detector declares the canonical fields it ``needs``; a file where they are absent or empty
is not judged by it (``detectors.needs``), so no rule reads a meaning into a column the export
never had.  Time-based detectors judge each file at its own clock (``DetectContext.clock``):
now, ``--as-of``, or a backfill's newest event.

A detector is a function of one store partition: everything it computes is per store (windows
``over`` the store, its orders or its SKUs), and whatever it compares across stores — a SKU's
platform median, the day's platform factor, what a file or a source carries — it asks for
with :meth:`DetectContext.platform`.  The partition runner (``orderwatch.runner``) computes
those platform frames once over every store and hands each partition the same frames, so a
scan split into store partitions (in-process or on Ray) raises exactly the flags of one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Union

import polars as pl

from contracts.config import Config

#: columns every detector output carries (besides its features)
SUBJECT_COLUMNS: tuple[str, ...] = ("subject", "store_id", "store_name", "order_id", "occurred_at")

GRAINS = ("line", "order", "store_day")

#: a needed field, or a tuple of alternatives (any one of them will do)
Need = Union[str, tuple[str, ...]]


class FrameMissing(KeyError):
    """A platform frame asked for in a partition's run that was not given (yet: a frame built
    from another one's merged value waits for it, ``orderwatch.runner.merged``)."""


@dataclass
class DetectContext:
    lines: pl.LazyFrame             # history ∪ batch, prepared by detectors.common.prepare
    catalog: pl.LazyFrame | None    # schema.CATALOG, or None when no catalog was given
    as_of: datetime                 # "now" for time-based detectors (naive, config timezone)
    config: Config
    orders: pl.LazyFrame | None = None  # detectors.common.orders_of(lines), one row per order
    flags: pl.LazyFrame | None = None   # recent flags, for correlation detectors (input="flags")
    clocks: dict[str, datetime] = field(default_factory=dict)  # source_file -> its own "now"
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # frames several rules share
    # source_file -> the fields it carries (``detectors.needs.presence``: its whole file and its
    # source's history, not only the lines judged — re-evaluation reads only the open orders')
    present: dict[str, set[str]] = field(default_factory=dict)

    def shared(self, key: str, build: Callable[[], Any]) -> Any:  # noqa: ANN401 - whatever build makes
        """``build()`` once per context: a frame every rule of a detector reads (built on first use)."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]
    limits: pl.LazyFrame | None = None  # store_id -> credit_limit (the store master), or None
    cod_cap: float | None = None        # one cash-on-delivery limit for every store (payment.cod_cap)
    # name -> platform frame computed over every store (a store partition's run); None: compute here
    factors: dict[str, pl.DataFrame] | None = None
    builds: dict[str, Callable[["DetectContext"], pl.LazyFrame]] = field(default_factory=dict, repr=False)
    # table -> the baseline state's rows of this context's stores (``detectors.state_tables``),
    # given when the state is current: then ``lines`` holds the batch and only the raw history a
    # detector cannot get from state (the batch's own store-days, the last minutes before it), and
    # a detector reads its baselines here.  None: ``lines`` holds the whole history window.
    state: dict[str, pl.DataFrame] | None = None
    # the first moment of the history window (``history.days`` before the whole batch's first
    # line; the same for every partition): state rows older than it are no baseline, as raw
    # lines older than it are never read.  None: computed from this context's batch.
    since: datetime | None = None
    # name -> rows a detector judged for the batch that the baseline state keeps (the scan
    # writes them after its commit: ``orderwatch.baseline_state``); shared by derived contexts
    kept: dict[str, pl.LazyFrame] = field(default_factory=dict, repr=False)
    # the raw-history context, for a detector that cannot read its baselines from ``state``
    raw: Callable[[], "DetectContext"] | None = field(default=None, repr=False)

    def history_start(self) -> datetime | None:
        """:attr:`since`, else ``history.days`` before this context's first batch line."""
        if self.since is not None:
            return self.since
        if "_history_start" not in self.cache:
            first = self.lines.filter(pl.col("_in_batch")).select(pl.col("created_at").min()).collect().item()
            self.cache["_history_start"] = first - timedelta(days=self.config.history_days) if first else None
        return self.cache["_history_start"]

    def past_state(self, table: str, at: str = "created_at") -> pl.LazyFrame:
        """A state table's rows inside the history window (``ctx.state`` must be given)."""
        assert self.state is not None, "past_state needs a state-mode context"
        rows = self.state[table].lazy()
        start = self.history_start()
        return rows if start is None else rows.filter(pl.col(at) >= start)

    def platform(self, name: str, build: Callable[["DetectContext"], pl.LazyFrame]) -> pl.LazyFrame:
        """A frame over every store's lines (``build(ctx)``): a SKU's platform median, a day's factor.

        Small (keyed by SKU, day, file or source, or one row) and joined to the partition's rows.
        In one process it is built from this context's lines; a partitioned run computes it
        first over all stores (``orderwatch.runner``) and every partition reads the same frame.
        ``name`` is unique within one detector's compute (the runner keys it by rule).
        """
        self.builds[name] = build
        if self.factors is not None:
            if name not in self.factors:
                raise FrameMissing(f"platform frame {name!r} was not computed before the partitions")
            return self.factors[name].lazy()
        return build(self)

    def __post_init__(self) -> None:
        if self.orders is None:
            from detectors.common import orders_of
            self.orders = orders_of(self.lines, self.catalog).collect().lazy()

    def clock(self) -> pl.Expr:
        """Each row's "now": its file's clock (a backfill is judged at its newest event), else as_of."""
        now = pl.lit(self.as_of, dtype=pl.Datetime("us"))
        if not self.clocks:
            return now
        return pl.col("source_file").replace_strict(self.clocks, default=now, return_dtype=pl.Datetime("us"))


@dataclass(frozen=True)
class Parts:
    """A platform frame (``DetectContext.platform``'s ``build``) that adds up over store groups:
    ``merge`` of the concatenated ``part`` of every group's context is ``merge(part(ctx))`` over
    every store — a newest-N per SKU is the newest N of each group's newest N, a median over
    every store's day ratios the median over each group's ratios.  A run whose lines stay on
    workers by store group builds it so (``orderwatch.runner.merged``), with no task holding the
    whole batch; called on a context it is the frame, as any build."""
    part: Callable[["DetectContext"], pl.LazyFrame]
    merge: Callable[[pl.LazyFrame], pl.LazyFrame]

    def __call__(self, ctx: "DetectContext") -> pl.LazyFrame:
        return self.merge(self.part(ctx))


def any_by(key: str, *flags: str) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """The merge of parts keyed by ``key`` whose ``flags`` say whether any line showed something."""
    return lambda parts: parts.group_by(key).agg(pl.col(f).any() for f in flags)


@dataclass(frozen=True)
class Detector:
    name: str
    title_zh: str
    params: dict[str, Any]                                   # defaults; their types are enforced
    features: Callable[[dict[str, Any]], dict[str, str]]     # params -> {feature: meaning (zh)}
    grain: Callable[[dict[str, Any]], str]                   # params -> one of GRAINS
    compute: Callable[[DetectContext, dict[str, Any]], pl.LazyFrame]
    reason_zh: Callable[[dict[str, Any]], str]               # params -> default reason template
    choices: dict[str, tuple[Any, ...]] | None = None        # params with a closed set of values
    time_based: bool = False   # judged against as_of: re-evaluated as time passes, without new data
    input: str = "lines"       # "flags": a correlation over the flags already raised
    needs: Callable[[dict[str, Any]], tuple[Need, ...]] = lambda p: ()  # canonical fields it reads
    # params -> (param, problem) the rules loader reports (what types and choices cannot say)
    check: Callable[[dict[str, Any], Config], list[tuple[str, str]]] = lambda p, config: []
    # params -> how far before each of the batch's store-days a state-mode context must still
    # hold raw lines (``DetectContext.state``): what no compact table can give, e.g. the orders of
    # the last ``window_minutes`` a duplicate is looked for among.  None: the state is enough.
    recent: Callable[[dict[str, Any]], timedelta | None] = lambda p: None
    # (params, the state's tables) -> True when it computes from ``DetectContext.state`` and the
    # narrowed lines; False: it is given the raw history window (``DetectContext.raw``)
    from_state: Callable[[dict[str, Any], dict[str, pl.DataFrame]], bool] = lambda p, state: False

    def with_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.params, **params}

    def unmet(self, params: dict[str, Any], present: set[str]) -> list[str]:
        """The needs a file with ``present`` fields does not meet (empty: it can be judged)."""
        out = []
        for need in self.needs(self.with_defaults(params)):
            alts = (need,) if isinstance(need, str) else need
            if not any(a in present for a in alts):
                out.append(alts[0] if len(alts) == 1 else " or ".join(alts))
        return out

    def recent_of(self, params: dict[str, Any]) -> timedelta | None:
        """:attr:`recent` with this rule's params over the defaults."""
        return self.recent(self.with_defaults(params))
