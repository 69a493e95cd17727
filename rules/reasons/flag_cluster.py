"""Reasons of ``flag_cluster``: several flags of one store within the window."""

from __future__ import annotations

from typing import Any

from i18n import N_

TEMPLATES = {
    "cluster": N_("Store {store_id} had {flags_in_window} flags within {window_hours} hours "
                  "({kinds:kinds}), {critical_in_window} of them critical — the store may need help "
                  "with how it orders."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("store_id", "flags_in_window", "window_hours", "critical_in_window")}
    args["kinds"] = [k for k in (row.get("kinds") or "").split("、") if k]
    return "cluster", args
