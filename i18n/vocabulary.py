"""The names people read for the keys the code uses: levels, statuses, resolutions, roles, kinds,
canonical fields, detector features and their values, audit actions, notifications.

English message ids here, marked with ``N_`` for extraction; ``label(group, key, gettext)``
translates one.  A key without a name is shown as itself, and tests/test_i18n_vocabulary.py fails
on it, so a new detector, feature or field can't ship unnamed.
"""

from __future__ import annotations

from collections.abc import Callable

from i18n import N_

LEVELS = {"report": N_("Report only"), "info": N_("Info"), "warn": N_("Warning"), "critical": N_("Critical")}

STATUSES = {"open": N_("Open"), "acknowledged": N_("Acknowledged"), "resolved": N_("Resolved"),
            "dismissed": N_("Dismissed"), "active": N_("Open or acknowledged"), "all": N_("Any status")}

#: the verb that moves a flag to a status (buttons and bulk actions)
ACTIONS_TO = {"acknowledged": N_("Acknowledge"), "resolved": N_("Resolve"), "dismissed": N_("Dismiss"),
              "open": N_("Reopen")}

RESOLUTIONS = {"confirmed": N_("Confirmed anomaly"), "false_positive": N_("False positive"),
               "corrected": N_("Corrected")}

ROLES = {"admin": N_("Administrator"), "reviewer": N_("Reviewer"), "store_manager": N_("Store manager"),
         "rule_author": N_("Rule author")}

KINDS = {
    "volume_surge": N_("Volume surge"), "amount_spike": N_("Amount spike"),
    "step_mismatch": N_("Order step mismatch"), "stage_overdue": N_("Stage overdue"),
    "missing_address": N_("Address incomplete"), "duplicate_order": N_("Duplicate order"),
    "price_deviation": N_("Price off reference"), "payment_mismatch": N_("Payment mismatch"),
    "cancel_reorder": N_("Cancelled and re-ordered"),
    "flag_cluster": N_("Flags clustered at a store"), "credit_limit": N_("Credit limit exceeded"),
}

SORTS = {"severity": N_("Most severe first, oldest first"), "new": N_("Newest first"),
         "old": N_("Oldest first"), "occurred": N_("By time of occurrence")}

#: audit trail actions (flag_events.action)
EVENTS = {"created": N_("raised the flag"), "level_raised": N_("raised the level"),
          "transition": N_("changed the status"), "assign": N_("assigned"), "comment": N_("commented"),
          "escalated": N_("escalated (acknowledgement overdue)")}

NOTIFICATION_KINDS = {"firing": N_("Alert"), "resolved": N_("Resolved notice"), "escalation": N_("Escalation"),
                      "digest": N_("Store digest"), "report": N_("Report"), "test": N_("Test message")}

NOTIFICATION_STATUSES = {"pending": N_("Waiting to be sent"), "sending": N_("Being sent"), "sent": N_("Sent"),
                         "silenced": N_("Silenced"),
                         "dead": N_("Given up")}

#: routing and silence labels
ALERT_LABELS = {"department": N_("Department"), "store_id": N_("Store"), "level": N_("Level"),
                "kind": N_("Kind"), "rule_id": N_("Rule")}

FIELDS = {
    "order_id": N_("order number"), "line_no": N_("line number"), "source": N_("source"),
    "store_id": N_("store code"), "store_name": N_("store name"), "created_at": N_("order time"),
    "confirmed_at": N_("confirmation time"), "paid_at": N_("payment time"), "picked_at": N_("picking time"),
    "shipped_at": N_("shipping time"), "delivered_at": N_("delivery time"), "status": N_("order status"),
    "sku": N_("product code"), "product_name": N_("product name"), "quantity": N_("quantity"),
    "unit_price": N_("unit price"), "line_amount": N_("line amount"), "order_amount": N_("order amount"),
    "paid_amount": N_("amount paid"), "payment_method": N_("payment method"), "consignee": N_("consignee"),
    "phone": N_("phone"), "province": N_("province"), "city": N_("city"), "district": N_("district"),
    "address": N_("street address"), "postcode": N_("postcode"), "country": N_("country"),
    "source_file": N_("file"), "source_line": N_("line in the file"), "goods": N_("goods (not a fee)"),
    "buyer_id": N_("buyer"), "completed_at": N_("completion time"), "cancelled_at": N_("cancellation time"),
    "refunded_at": N_("refund time"), "refund_requested_at": N_("refund request time"),
    "shipping_method": N_("shipping method"), "ship_by": N_("ship-by deadline"), "deliver_by": N_("delivery deadline"),
    "payment_status": N_("payment status"), "aftersale_status": N_("after-sale status"),
    "state": N_("order state"), "discount_amount": N_("discount"), "shipping_fee": N_("shipping fee"),
    "refund_amount": N_("amount refunded"), "currency": N_("currency"), "tracking_no": N_("tracking number"),
}

FEATURES = {
    # volume_surge, day
    "day_qty": N_("Units ordered that day"), "day_lines": N_("Order lines that day"),
    "day_orders": N_("Orders that day"), "baseline_qty": N_("Usual daily units (median)"),
    "baseline_lines": N_("Usual daily lines (median)"), "lines_ratio": N_("Lines against the usual"),
    "qty_z": N_("Robust z-score"), "platform_factor": N_("Platform-wide factor of the day"),
    "adj_ratio": N_("Surge against the usual, net of the platform factor"),
    "history_days": N_("Days of history in the baseline"),
    "day_amount": N_("Amount ordered that day"),
    "qty_index": N_("Quantity index (the day in usual lines)"),
    "line_index": N_("Line index (each line against its usual, median)"),
    "expected_index": N_("Usual quantity index (same weekday, detrended)"),
    "index_ratio": N_("Quantity index against the usual"), "index_z": N_("Robust z-score of the quantity index"),
    "expected_line_index": N_("Usual line index"), "line_index_ratio": N_("Line index against the usual"),
    "line_index_z": N_("Robust z-score of the line index"), "surge_z": N_("Robust z-score of the surge"),
    "measure": N_("Measure of the surge"), "line_surge": N_("Surge told by the size of its lines"), "excess_lines": N_("Usual lines above the expected"),
    "same_weekdays": N_("Same weekdays in the baseline"), "weekday": N_("Weekday"),
    "promo_day": N_("Promotion day"),
    "packs": N_("Packs ordered (quantity ÷ order step)"),
    "excess_packs": N_("Packs above the usual"), "zero_shape": N_("Reads as a quantity with a zero typed after it"),
    "shape_step": N_("Step the typed zero is judged in (the catalog's or the SKU's lines' common step)"),
    # volume_surge, line
    "quantity": N_("Quantity ordered"), "usual_qty": N_("Usual quantity (median)"),
    "qty_ratio": N_("Quantity against the usual"), "history_lines": N_("Lines of history in the baseline"),
    "baseline": N_("Baseline used"), "order_qty": N_("Units in the order"),
    # amount_spike
    "order_amount": N_("Order amount"), "baseline_amount": N_("Store's median order amount"),
    "amount_ratio": N_("Amount against the store's median"), "history_orders": N_("Orders of history"),
    "platform_amount": N_("Platform's median order amount"),
    "platform_ratio": N_("Amount against the platform's median"),
    "store_high": N_("Store's big orders (its high percentile)"),
    "high_ratio": N_("Amount against the store's big orders"), "amount_z": N_("Robust z-score of the amount"),
    "platform_high": N_("Platform's big orders (its high percentile)"),
    "platform_high_ratio": N_("Amount against the platform's big orders"), "is_cod": N_("Cash on delivery"),
    "cod_cap": N_("Cash-on-delivery limit"), "over_cap": N_("Above the cash-on-delivery limit"),
    "comparison": N_("Comparison"),
    # payment_mismatch
    "paid_amount": N_("Amount paid"), "paid_gap": N_("Paid minus order amount"), "abs_gap": N_("Difference"),
    "gap_pct": N_("Difference in % of the order amount"),
    # price_deviation
    "unit_price": N_("Unit price"), "ref_price": N_("Reference price"),
    "price_ratio": N_("Price against the reference"), "deviation_pct": N_("Deviation in %"),
    "abs_deviation_pct": N_("Deviation in % (either way)"), "ref_source": N_("Reference price from"),
    "price_fold": N_("Times off the reference (either way)"),
    # stage_overdue
    "hours": N_("Hours the stage has taken (or waited)"), "sla_hours": N_("Time limit (hours)"),
    "latest_hours": N_("Latest the promise allows (hours)"), "past_latest": N_("Past the latest the promise allows"),
    "overdue_hours": N_("Hours over the limit"), "overdue_ratio": N_("Time taken against the limit"),
    "done": N_("Stage finished"), "tracked": N_("The export records the stage's end"),
    "deadline": N_("Limit from the export's own deadline"), "fresh": N_("Fresh goods"),
    "express": N_("Express delivery"), "promotion": N_("Ordered on a promotion day"),
    "start_event": N_("Clock started at"), "basis": N_("Limit based on"),
    # step_mismatch
    "order_step": N_("Order step (case size)"), "min_order_qty": N_("Minimum order quantity"),
    "step_remainder": N_("Remainder after whole steps"), "off_step": N_("Not a whole number of steps"),
    "under_min": N_("Below the minimum order"),
    # duplicate_order / cancel_reorder
    "minutes_since_previous": N_("Minutes since the identical order"),
    "previous_order_id": N_("Identical earlier order"), "line_count": N_("Lines in the order"),
    "minutes_after_cancel": N_("Minutes after the cancellation"), "cancelled_order_id": N_("Cancelled order"),
    "similarity": N_("Products in common"),
    # missing_address
    "missing_count": N_("Address parts missing"), "missing_fields": N_("Missing"),
    "phone_invalid": N_("Phone not valid"), "overseas": N_("Overseas address"), "phone": N_("Phone"),
    # flag_cluster
    "flags_in_window": N_("Flags in the window"), "kinds_in_window": N_("Kinds in the window"),
    "critical_in_window": N_("Critical flags in the window"), "window_hours": N_("Window (hours)"),
    "kinds": N_("Kinds"), "orders_in_window": N_("Orders flagged in the window"),
    "critical_orders": N_("Orders with a critical flag"), "store_orders": N_("The store's orders in the window"),
    "flagged_share": N_("Share of the store's orders flagged"),
    "common_kinds": N_("Kinds on nearly every order of the day (not counted)"),
    # credit_limit
    "credit_limit": N_("Credit limit"), "limit_source": N_("Limit from"),
    "over_limit": N_("Order amount above the limit"), "cod_exposure": N_("Open cash-on-delivery amount"),
    "open_cod_orders": N_("Open cash-on-delivery orders"), "exposure_over": N_("Open amount above the limit"),
    "over_by": N_("Above the limit by"),
    # evidence context
    "sku": N_("Product code"), "line_no": N_("Line"), "lines_fired": N_("Lines that fired"),
}

#: features whose value is 0/1 (shown as yes/no)
YES_NO_FEATURES = frozenset({"is_cod", "over_cap", "fresh", "off_step", "under_min", "phone_invalid", "overseas",
                             "past_latest", "done", "tracked", "deadline", "express", "promotion"})
YES_NO = {1: N_("yes"), 0: N_("no")}

#: features whose value is a key with a name of its own
FEATURE_VALUES = {
    "baseline": {"store_sku": N_("this store's usual for the product"),
                 "platform_sku": N_("all stores' usual for the product"),
                 "store_scaled": N_("all stores' usual for the product, scaled to this store"),
                 "platform": N_("the usual order line across the platform")},
    "ref_source": {"catalog": N_("catalog list price"), "platform": N_("platform median price")},
    # stage_overdue: where a stage's clock started, and what its limit is based on
    "start_event": {"created_at": N_("order time"), "paid_at": N_("payment time"),
                    "confirmed_at": N_("confirmation time"), "picked_at": N_("picking time"),
                    "shipped_at": N_("shipping time"), "delivered_at": N_("delivery time"),
                    "refund_requested_at": N_("refund request time"), "completed_at": N_("completion time")},
    "after": {"created_at": N_("after it was placed"), "paid_at": N_("after it was paid"),
              "confirmed_at": N_("after it was reviewed"), "picked_at": N_("after it was packed"),
              "shipped_at": N_("after it was shipped"), "delivered_at": N_("after it was delivered"),
              "refund_requested_at": N_("after the refund was asked for"),
              "completed_at": N_("after it was completed")},
    "basis": {"standard": N_("the limit"), "normal": N_("the limit for normal goods"),
              "fresh": N_("the limit for fresh goods"), "express": N_("the limit for express delivery"),
              "method": N_("the limit for its logistics method"), "promotion": N_("the promotion-day limit"),
              "deadline": N_("the export's own deadline")},
    "limit_source": {"store": N_("the store master"), "platform": N_("the platform-wide cap")},
    # volume_surge, day: which measure told the surge
    "measure": {"index": N_("the day's usual lines (quantity index)"),
                "line_index": N_("the size of each line (line index)")},
    # volume_surge, day: the weekday (ISO, 1 = Monday) of the day and of its baseline
    "weekday": {"1": N_("Monday"), "2": N_("Tuesday"), "3": N_("Wednesday"), "4": N_("Thursday"),
                "5": N_("Friday"), "6": N_("Saturday"), "7": N_("Sunday")},
    "weekdays": {"1": N_("Mondays"), "2": N_("Tuesdays"), "3": N_("Wednesdays"), "4": N_("Thursdays"),
                 "5": N_("Fridays"), "6": N_("Saturdays"), "7": N_("Sundays")},
}
#: the same names as sentence parts (a reason template's format spec)
FEATURE_VALUES["sla_basis"] = FEATURE_VALUES["basis"]

#: how a column was recognised (ingest.recognise)
FOUND_BY = {"config": N_("site config"), "alias": N_("exact name"), "meaning": N_("meaning of the words"),
            "value": N_("its values"), "default": N_("default"), "derived": N_("derived")}

GROUPS: dict[str, dict[str, str]] = {
    "level": LEVELS, "status": STATUSES, "action_to": ACTIONS_TO, "resolution": RESOLUTIONS, "role": ROLES,
    "kind": KINDS, "sort": SORTS, "event": EVENTS, "notification_kind": NOTIFICATION_KINDS,
    "notification_status": NOTIFICATION_STATUSES, "alert_label": ALERT_LABELS, "field": FIELDS,
    "feature": FEATURES, "found_by": FOUND_BY,
}


def label(group: str, key: str | None, gettext: Callable[[str], str]) -> str:
    """The translated name of ``key`` in ``group`` (the key itself when it has none)."""
    if key is None:
        return ""
    message = GROUPS[group].get(key)
    return gettext(message) if message else key


def feature_value(name: str, value: object, lang: str) -> object:
    """A feature's value as people read it: yes/no, a named key, kind names; numbers unchanged."""
    from i18n import gettext_for
    from i18n.formats import listing

    gettext = gettext_for(lang)
    if value is None:
        return None
    if name in YES_NO_FEATURES and value in (0, 1, True, False):
        return gettext(YES_NO[int(value)])
    if name in FEATURE_VALUES and isinstance(value, str):
        msg = FEATURE_VALUES[name].get(value)
        return gettext(msg) if msg else value
    if name == "kinds" and isinstance(value, str):
        return listing([label("kind", k, gettext) for k in value.split("、")], lang)
    return value
