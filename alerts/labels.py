"""The labels of a flag: what routes and silences match on (all strings, missing = "")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABEL_NAMES: tuple[str, ...] = ("department", "store_id", "level", "kind", "rule_id")


def labels_of(flag: Mapping[str, Any] | Any) -> dict[str, str]:
    """``{department, store_id, level, kind, rule_id}`` of a flag row (mapping or object).

    A missing or NULL value is the empty string, as in Alertmanager (so ``match_re: {store_id: ""}``
    matches flags without a store)."""
    get = flag.get if isinstance(flag, Mapping) else (lambda k: getattr(flag, k, None))
    out = {}
    for name in LABEL_NAMES:
        v = get(name)
        out[name] = "" if v is None else str(v)
    return out
