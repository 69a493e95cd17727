"""Reasons of ``stage_overdue``: which stage, waiting or finished late, and by how much.

The sentence is the stage's own (reviewed, picked, handed to the carrier, shipped, delivered,
refunded), chosen by the rule's end event (and, for the shipping time, its start: from packing
it is the hand-over).  Three situations: still waiting (the file records the end event), no
sign of it (the file records only later events: "not picked nor shipped"), finished late (for
the SLA statistics).  An export's own deadline has sentences of its own.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "review.waiting": N_("Order {order_id} is not yet reviewed {hours:hours} hours {start_event:after}; "
                         "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "review.late": N_("Order {order_id} was reviewed {hours:hours} hours {start_event:after}; "
                      "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "picking.waiting": N_("Order {order_id} is not yet picked {hours:hours} hours {start_event:after}; "
                          "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "picking.unseen": N_("Order {order_id} shows no sign of being picked or shipped {hours:hours} hours "
                         "{start_event:after}; picking and the hand-over to the carrier take at most "
                         "{sla_hours:hours} hours together ({overdue_hours:hours} hours over)."),
    "picking.late": N_("Order {order_id} was picked {hours:hours} hours {start_event:after}; "
                       "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "handover.waiting": N_("Order {order_id} is not yet handed to the carrier {hours:hours} hours after it was "
                           "packed; {basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "handover.unseen": N_("Order {order_id} shows no sign of being shipped or delivered {hours:hours} hours after it "
                          "was packed; the hand-over and the delivery take at most {sla_hours:hours} hours together "
                          "({overdue_hours:hours} hours over)."),
    "handover.late": N_("Order {order_id} was handed to the carrier {hours:hours} hours after it was packed; "
                        "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "shipment.waiting": N_("Order {order_id} is not yet shipped {hours:hours} hours {start_event:after}; "
                           "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "shipment.unseen": N_("Order {order_id} shows no sign of being shipped or delivered {hours:hours} hours "
                          "{start_event:after}; shipping and the delivery take at most {sla_hours:hours} hours "
                          "together ({overdue_hours:hours} hours over)."),
    "shipment.late": N_("Order {order_id} was shipped {hours:hours} hours {start_event:after}; "
                        "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "shipment.deadline": N_("Order {order_id} is not yet shipped, {overdue_hours:hours} hours past the ship-by time "
                            "the export gives for it ({hours:hours} hours {start_event:after})."),
    "shipment.deadline_late": N_("Order {order_id} was shipped {overdue_hours:hours} hours after the ship-by time "
                                 "the export gives for it ({hours:hours} hours {start_event:after})."),
    "delivery.waiting": N_("Order {order_id} is not yet delivered {hours:hours} hours after it was shipped; "
                           "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "delivery.late": N_("Order {order_id} was delivered {hours:hours} hours after it was shipped; "
                        "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "delivery.deadline": N_("Order {order_id} is not yet delivered, {overdue_hours:hours} hours past the delivery "
                            "time the export promises ({hours:hours} hours after it was shipped)."),
    "delivery.deadline_late": N_("Order {order_id} was delivered {overdue_hours:hours} hours after the delivery "
                                 "time the export promised ({hours:hours} hours after it was shipped)."),
    "refund.waiting": N_("The refund asked for on order {order_id} is not yet made {hours:hours} hours after the "
                         "request; {basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "refund.late": N_("The refund on order {order_id} was made {hours:hours} hours after the request; "
                      "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
    "other.waiting": N_("Order {order_id} has spent {hours:hours} hours in stage {stage} without finishing it; "
                        "{basis:sla_basis} is {sla_hours:hours} hours ({overdue_hours:hours} hours over)."),
    "other.late": N_("Order {order_id} finished stage {stage} in {hours:hours} hours; {basis:sla_basis} is "
                     "{sla_hours:hours} hours ({overdue_hours:hours} hours late)."),
}

#: the sentence family of a rule, by its end event
_BY_END = {"confirmed_at": "review", "picked_at": "picking", "shipped_at": "shipment",
           "delivered_at": "delivery", "refunded_at": "refund"}
#: families with their own sentences for a deadline the export carries
_DEADLINES = ("shipment", "delivery")
#: families that have a sentence for "no sign of it" (the file records only later events)
_UNSEEN = ("picking", "handover", "shipment")


def family(params: dict[str, Any]) -> str:
    """Which stage's sentences speak for a rule (its end event; from packing: the hand-over)."""
    fam = _BY_END.get(str(params.get("end")), "other")
    if fam == "shipment" and list(params.get("start") or []) == ["picked_at"]:
        return "handover"
    return fam


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fam = family(params)
    done = row.get("done") == 1
    if row.get("deadline") == 1 and fam in _DEADLINES:
        situation = "deadline_late" if done else "deadline"
    elif done:
        situation = "late"
    elif row.get("tracked") == 0 and fam in _UNSEEN:
        situation = "unseen"
    else:
        situation = "waiting"
    args = {k: row.get(k) for k in ("order_id", "hours", "sla_hours", "overdue_hours", "start_event", "basis")}
    if fam == "other":
        args["stage"] = params.get("stage")
    return f"{fam}.{situation}", args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    fam = family(params)
    done = c.eq("done", 1)
    situation = pl.when(done).then(pl.lit("late"))
    if fam in _DEADLINES:
        situation = (pl.when(c.eq("deadline", 1) & done).then(pl.lit("deadline_late"))
                     .when(c.eq("deadline", 1)).then(pl.lit("deadline")).when(done).then(pl.lit("late")))
    if fam in _UNSEEN:
        situation = situation.when(c.eq("tracked", 0)).then(pl.lit("unseen"))
    situation = situation.otherwise(pl.lit("waiting"))
    args = {k: c(k) for k in ("order_id", "hours", "sla_hours", "overdue_hours", "start_event", "basis")}
    if fam == "other":
        args["stage"] = pl.lit(params.get("stage"))
    return pl.concat_str([pl.lit(f"{fam}."), situation]), args, {}
