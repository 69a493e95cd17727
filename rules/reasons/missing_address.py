"""Reasons of ``missing_address``: which parts of the delivery address are missing, and whether
the phone number can be called."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "missing": N_("Order {order_id}: the delivery address has no {missing:fields}."),
    "phone": N_("Order {order_id}: the phone number “{phone}” is neither an 11-digit mobile number "
                "nor a landline with its area code."),
    "no_phone": N_("Order {order_id}: there is no phone number to reach the consignee."),
    "missing_phone": N_("Order {order_id}: the delivery address has no {missing:fields}, and the phone number "
                        "“{phone}” is not valid."),
    "missing_no_phone": N_("Order {order_id}: the delivery address has no {missing:fields}, and there is no "
                           "phone number."),
}


def _missing_keys(text: str | None) -> list[str]:
    """Field keys from the detector's joined names (``省、市`` → province, city)."""
    from detectors.missing_address import LABELS

    by_name = {v: k for k, v in LABELS.items()}
    return [by_name.get(part, part) for part in (text or "").split("、") if part]


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    missing = _missing_keys(row.get("missing_fields"))
    phone = (row.get("phone") or "").strip()
    bad_phone = row.get("phone_invalid") == 1
    args: dict[str, Any] = {"order_id": row.get("order_id"), "missing": missing, "phone": phone}
    if missing and bad_phone:
        return ("missing_phone" if phone else "missing_no_phone"), args
    if missing:
        return "missing", args
    return ("phone" if phone else "no_phone"), args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    from detectors.missing_address import LABELS

    by_name = {v: k for k, v in LABELS.items()}
    names = c("missing_fields").cast(pl.String).fill_null("").str.split("、").list.eval(
        pl.element().filter(pl.element() != "").replace(by_name))
    phone = c("phone").cast(pl.String).fill_null("").str.strip_chars()
    has_missing, has_phone = names.list.len() > 0, phone != ""
    bad = c.eq("phone_invalid", 1)
    key = (pl.when(has_missing & bad).then(pl.when(has_phone).then(pl.lit("missing_phone"))
                                           .otherwise(pl.lit("missing_no_phone")))
           .when(has_missing).then(pl.lit("missing"))
           .when(has_phone).then(pl.lit("phone")).otherwise(pl.lit("no_phone")))
    return key, {"order_id": c("order_id"), "missing": names, "phone": phone}, {}
