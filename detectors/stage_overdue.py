"""stage_overdue: an order that has not finished a stage of its handling within the stage's limit.

One detector for every stage (review, picking, hand-over to the carrier, order to shipment,
delivery, refund …): a rule names the stage (its limit is ``config.yaml`` ``sla.stages``), the
event that starts its clock, the event that ends it, and the states that close it.  What it
may say follows from what the data shows:

- **waiting** (``done`` 0): the end has not happened — no end time, no time of a later event
  (a shipped order was picked), no state at or past the end's (已打包 is picked), no closing
  state (completed, cancelled, closed …).  Judged against the file's clock, so it grows late as
  time passes.  When the file records the end neither by its time nor by its state, only a
  later event can show it happened (``tracked`` 0): the judgement is then "not picked nor
  shipped within the limits of picking and of the stage that follows (``then``: the hand-over)"
  — true only when one of the two stages is late; a later event only bounds the end, it never
  stands in for its time.
- **finished** (``done`` 1): the end's own time is known, so how long the stage took is known;
  late-but-done is for the SLA statistics (the rule's ``report`` level), never a queue flag.
- not judged: the end is proven only by a later event or a state (its time is unknown: "picked
  late" cannot be asserted), the order is closed without the end's time, the stage has not
  started (a start event the file tracks has not happened; an order waiting for payment).

The clock starts at the first ``start`` event the order has; a start event the file tracks
but the order lacks means the stage has not begun (an unconfirmed order is not waiting to be
picked) — except the payment, which gates nothing by itself: an order waiting for its buyer
is ``pending_payment`` by its state, and a cash-on-delivery order never waits for payment.

The limit: the export's own deadline for the order when the rule names one (``deadline``:
``ship_by``, ``deliver_by``), else the stage's configured limit, overridden per goods class
(fresh, from the catalog), logistics class (from the order's shipping method) and promotion
day (``sla.promotion_days``, by the order's day).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.schema import DEADLINE_FIELDS, EVENT_STATE, LIFECYCLE_EVENTS, STATE_RANK, STATES, TIMESTAMP_FIELDS
from contracts.sla import STANDARD, Limit, SlaPolicy
from detectors.base import DetectContext, Detector, Parts
from detectors.common import OKEY, order_subject

EVENTS = tuple(f for f in TIMESTAMP_FIELDS if f not in DEADLINE_FIELDS)
#: events that never gate a stage's start by their absence (see the module docstring)
NON_GATES = ("paid_at",)
#: states in which no stage has begun: the order waits for its buyer
NOT_STARTED = ("pending_payment",)
CLOSING = ("completed", "cancelled", "closed", "returned", "refunded")
#: an order's fields, from its first line
_FIRST_FIELDS = ("source", "store_id", "order_id", "store_name", "source_file")

FEATURES = {
    "hours": "阶段已用（或已等待）的小时数",
    "sla_hours": "时限（小时）",
    "latest_hours": "承诺的最晚时限（小时；时限为区间时为区间终点）",
    "overdue_hours": "超出时限的小时数",
    "overdue_ratio": "用时 / 时限",
    "past_latest": "已超过承诺区间的终点（1 是 / 0 否）",
    "done": "阶段已完成（1 是 / 0 否：仍在等待）",
    "tracked": "文件记录了该阶段的结束（时间或状态；1 是 / 0 否：只能由后续事件界定，时限含下一阶段的时限）",
    "deadline": "时限来自导出文件中订单自己的截止时间（1 是 / 0 否）",
    "fresh": "生鲜订单（1 是 / 0 否）",
    "express": "快件（1 是 / 0 否）",
    "promotion": "大促日订单（1 是 / 0 否）",
    "start_event": "计时起点事件",
    "basis": "时限依据",
}
PARAMS: dict[str, Any] = {
    "stage": "picking",                                  # key of config.yaml sla.stages
    "start": ["confirmed_at", "paid_at", "created_at"],  # the clock starts at the first the order has
    "end": "picked_at",                                  # the event that ends the stage
    "tracked_by": ["shipped_at", "state:picking", "state:picked", "state:shipped"],  # what else lets a file be judged
    "closes": list(CLOSING),                             # states that end the stage without its end event
    "deadline": "",                                      # ship_by | deliver_by: the export's own deadline wins
    "then": "handover",                                  # the next stage: its limit is allowed when only
}                                                        # its end (a later event) can show this one's
TRACKED = (*EVENTS, *(f"state:{s}" for s in STATES))
CHOICES: dict[str, tuple[Any, ...]] = {"start": EVENTS, "end": EVENTS, "tracked_by": TRACKED, "closes": STATES,
                                       "deadline": ("", *DEADLINE_FIELDS)}


def _later(end: str) -> list[str]:
    """Lifecycle events after ``end``: their time proves the end happened (before them)."""
    if end not in LIFECYCLE_EVENTS:
        return []
    return list(LIFECYCLE_EVENTS[LIFECYCLE_EVENTS.index(end) + 1:])


def _order_frame(ctx: DetectContext) -> pl.DataFrame:
    """One row per order of the batch with every event's first time, its states and classes
    (built once per scan and shared by every stage rule)."""
    lines = ctx.lines
    batch = lines.filter(pl.col("_in_batch")).select(OKEY).unique()
    mine = lines.join(batch, on=OKEY, how="semi")
    if ctx.catalog is not None:
        mine = mine.join(ctx.catalog.select("sku", pl.col("fresh").alias("_fresh_sku")), on="sku", how="left")
    else:
        mine = mine.with_columns(pl.lit(False).alias("_fresh_sku"))
    rank = pl.col("state").replace_strict(STATE_RANK, default=None, return_dtype=pl.Int8)
    goods = pl.col("goods").fill_null(True)
    orders = mine.group_by(OKEY).agg(
        pl.col("shipping_method").drop_nulls().first(),
        *[pl.col(e).min().alias(f"_{e}") for e in (*EVENTS, *DEADLINE_FIELDS)],
        pl.col("state").drop_nulls().unique().alias("_states"),
        rank.max().alias("_rank"),
        pl.col("_in_batch").any(),
        pl.col("is_cod").any().alias("_cod"),
        goods.any().alias("_goods"),
        pl.col("_fresh_sku").filter(goods).fill_null(False).any().alias("_fresh"),
    ).filter(pl.col("_in_batch") & pl.col("_goods"))
    # the first line's fields joined on: cheaper than ``first()`` of five text columns
    first = mine.filter(pl.col(OKEY).is_first_distinct()).select(OKEY, *_FIRST_FIELDS)
    orders = orders.join(first, on=OKEY, how="left").select(OKEY, *_FIRST_FIELDS, pl.exclude(OKEY, *_FIRST_FIELDS))
    return orders.join(ctx.platform("carried", Parts(_carried, _carried_merged)), on="source_file", how="left").collect()


def _carried_merged(parts: pl.LazyFrame) -> pl.LazyFrame:
    """Per source file what any part says it records, and every state of its parts (sorted)."""
    return parts.group_by("source_file").agg(
        *[pl.col(f"_carries_{e}").any() for e in EVENTS],
        pl.col("_file_states").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort())


def _carried(ctx: DetectContext) -> pl.LazyFrame:
    """Per source file: which events it records and which states its lines are in — from the
    scan's presence (the whole file and its source's history) when given, else from the lines."""
    if not ctx.present:
        return ctx.lines.group_by("source_file").agg(
            *[pl.col(e).is_not_null().any().alias(f"_carries_{e}") for e in EVENTS],
            pl.col("state").drop_nulls().unique().alias("_file_states"))
    files = list(ctx.present)
    return pl.LazyFrame({
        "source_file": files,
        **{f"_carries_{e}": [e in ctx.present[f] for f in files] for e in EVENTS},
        "_file_states": [sorted(x[6:] for x in ctx.present[f] if x.startswith("state:")) for f in files],
    }, schema={"source_file": pl.String, **{f"_carries_{e}": pl.Boolean for e in EVENTS},
               "_file_states": pl.List(pl.String)})


def _order_states() -> pl.Expr:
    """The states an order's lines tell: ``pending_payment`` only when no line says more (an
    export that gives the order's fields on its first line leaves the others without a payment
    time, and they read as waiting for payment)."""
    told = pl.col("_states").list.eval(pl.element().filter(~pl.element().is_in(NOT_STARTED)))
    return pl.when(told.list.len() > 0).then(told).otherwise(pl.col("_states"))


def _start(fields: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """(start time, start event name): the first start event the order has; a gate the file
    tracks and the order lacks means the stage has not begun (null)."""
    time: pl.Expr = pl.lit(None, dtype=pl.Datetime("us"))
    name: pl.Expr = pl.lit(None, dtype=pl.String)
    for f in reversed(fields):
        has = pl.col(f"_{f}").is_not_null()
        if f in NON_GATES:
            time = pl.when(has).then(pl.col(f"_{f}")).otherwise(time)
            name = pl.when(has).then(pl.lit(f)).otherwise(name)
        else:
            blocked = pl.col(f"_carries_{f}").fill_null(False)
            time = pl.when(has).then(pl.col(f"_{f}")).when(blocked).then(None).otherwise(time)
            name = pl.when(has).then(pl.lit(f)).when(blocked).then(None).otherwise(name)
    return time, name


def _limit(policy: SlaPolicy, stage: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(hours, latest hours, basis) of each order's configured limit."""
    sla = policy.stage(stage)
    lo, hi, basis = pl.lit(sla.limit.hours), pl.lit(sla.limit.latest), pl.lit("standard")

    def use(cond: pl.Expr, limit: Limit, why: str) -> None:
        nonlocal lo, hi, basis
        lo = pl.when(cond).then(pl.lit(limit.hours)).otherwise(lo)
        hi = pl.when(cond).then(pl.lit(limit.latest)).otherwise(hi)
        basis = pl.when(cond).then(pl.lit(why)).otherwise(basis)

    for cls, limit in sla.goods.items():
        use(pl.col("_fresh") if cls == "fresh" else ~pl.col("_fresh"), limit, cls)
    for cls, limit in sla.methods.items():
        use(pl.col("_method") == cls, limit, cls if cls in ("express", STANDARD) else "method")
    if sla.promotion is not None and policy.promotion_days:
        longer = pl.col("_promotion") & (pl.lit(sla.promotion.hours) > lo)
        use(longer, sla.promotion, "promotion")
    return lo, hi, basis


def _method(policy: SlaPolicy) -> pl.Expr:
    """The logistics class an order's shipping method names (standard when none)."""
    method = pl.col("shipping_method").str.to_lowercase()
    out: pl.Expr = pl.lit(STANDARD)
    for cls, words in reversed(list(policy.method_words.items())):
        hit = pl.lit(False)
        for w in words:
            hit = hit | method.str.contains(w, literal=True)
        out = pl.when(hit.fill_null(False)).then(pl.lit(cls)).otherwise(out)
    return out


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    policy: SlaPolicy = ctx.config.sla
    orders = ctx.shared("stage_orders", lambda: _order_frame(ctx)).lazy()
    end, later = p["end"], _later(p["end"])
    start, start_name = _start(list(p["start"]))
    end_at = pl.col(f"_{end}")
    proven = pl.lit(False)
    for e in later:
        proven = proven | pl.col(f"_{e}").is_not_null()
    if STATE_RANK.get(EVENT_STATE.get(end, "")) is not None:
        proven = proven | (pl.col("_rank") >= STATE_RANK[EVENT_STATE[end]]).fill_null(False)
    states = _order_states()
    closed = (states.list.len() > 0) & states.list.eval(pl.element().is_in(list(p["closes"]))).list.all()
    # a cash-on-delivery order is paid on delivery: its "payment pending" (Shopify's) waits for nothing
    waiting_payment = (pl.col("_states").list.len() > 0) & ~pl.col("_cod") & \
        pl.col("_states").list.eval(pl.element().is_in(NOT_STARTED)).list.all()
    lo, hi, basis = _limit(policy, p["stage"])
    direct = pl.col(f"_carries_{end}").fill_null(False)
    if EVENT_STATE.get(end):
        direct = direct | pl.col("_file_states").list.contains(EVENT_STATE[end]).fill_null(False)
    allowance = policy.stage(p["then"]).limit.hours if p["then"] else 0.0
    frame = orders.with_columns(
        start.alias("_start"), start_name.alias("start_event"), ctx.clock().alias("_clock"),
        _method(policy).alias("_method"),
        pl.col("_created_at").dt.date().is_in(sorted(policy.promotion_days)).alias("_promotion"),
    ).with_columns(lo.alias("_lo"), hi.alias("_hi"), basis.alias("basis"))
    own = pl.col(f"_{p['deadline']}") if p["deadline"] else pl.lit(None, dtype=pl.Datetime("us"))
    hours_to = lambda t: (t - pl.col("_start")).dt.total_seconds() / 3600.0  # noqa: E731
    done = end_at.is_not_null()
    waiting = ~done & ~proven & ~closed & ~waiting_payment & (pl.col("_start") <= pl.col("_clock"))
    bounded = pl.when(~done & ~direct).then(pl.lit(allowance)).otherwise(pl.lit(0.0))   # the next stage's time
    frame = (frame.filter(pl.col("_start").is_not_null() & (done | waiting))
             .with_columns(pl.coalesce(end_at, pl.col("_clock")).alias("_until"), own.alias("_own"),
                           direct.alias("_direct"), bounded.alias("_extra"))
             .with_columns(
                 hours_to(pl.col("_until")).alias("hours"),
                 (pl.coalesce(hours_to(pl.col("_own")), pl.col("_lo")) + pl.col("_extra")).alias("sla_hours"),
                 (pl.coalesce(hours_to(pl.col("_own")), pl.col("_hi")) + pl.col("_extra")).alias("latest_hours"),
                 pl.when(pl.col("_own").is_not_null()).then(pl.lit("deadline")).otherwise(pl.col("basis"))
                 .alias("basis"),
             ))
    return frame.select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("_created_at").alias("occurred_at"),
        "hours", "sla_hours", "latest_hours",
        (pl.col("hours") - pl.col("sla_hours")).alias("overdue_hours"),
        (pl.col("hours") / pl.col("sla_hours")).alias("overdue_ratio"),
        ((pl.col("latest_hours") > pl.col("sla_hours")) & (pl.col("hours") > pl.col("latest_hours")))
        .cast(pl.Int8).alias("past_latest"),
        done.cast(pl.Int8).alias("done"),
        (pl.col("_direct") | done).cast(pl.Int8).alias("tracked"),
        pl.col("_own").is_not_null().cast(pl.Int8).alias("deadline"),
        pl.col("_fresh").cast(pl.Int8).alias("fresh"),
        (pl.col("_method") != STANDARD).cast(pl.Int8).alias("express"),
        pl.col("_promotion").cast(pl.Int8).alias("promotion"),
        "start_event", "basis",
    )


def _needs(p: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(p["start"]), (p["end"], *p["tracked_by"])


def check(p: dict[str, Any], config: Any) -> list[tuple[str, str]]:  # noqa: ANN401 - a Config
    """(param, problem) for a rule whose stage the configuration does not define."""
    stages = config.sla.stages
    for key in ("stage", "then"):
        if p[key] and p[key] not in stages:
            return [(key, f"unknown stage {p[key]!r}: config.yaml sla.stages has {', '.join(stages)}")]
    if p["end"] in p["start"]:
        return [("end", f"the end event {p['end']!r} is also a start event")]
    return []


DETECTOR = Detector(
    name="stage_overdue",
    title_zh="阶段超时",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: "订单{order_id}在{stage}阶段已用{hours:.1f}小时（时限{sla_hours:g}小时）",
    choices=CHOICES,
    time_based=True,
    needs=_needs,
    check=check,
    # an order's stage times are its own lines' events: every line of a batch order that is not in
    # the batch is stored on the order's own store-day, which a state-mode context holds; what a
    # file carries comes from the scan's presence (``DetectContext.present``)
    from_state=lambda p, state: True,
)
