"""``orderwatch routes test``: which receivers a flag with these labels goes to, and whether a
silence in effect at a given time mutes it (Alertmanager's ``amtool config routes test``, with
the time its users ask for in prometheus/alertmanager#3889).

The answer comes from the same code the planner uses: ``Route.route`` for the tree, the store
contacts for a critical flag of a rule with ``notify_store: true``, ``silences.matching`` for
the silences stored in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.labels import LABEL_NAMES
from alerts.routing import Route
from alerts.settings import STORE_PREFIX, AlertSettings
from alerts.silences import matching
from store.models import LEVELS


class LabelsError(ValueError):
    """``--labels`` can't be read (the message says which part)."""


def parse_labels(text: str, departments: Iterable[str] | None = None) -> dict[str, str]:
    """``department=finance,level=critical,store_id=MD0001`` → a full label set (missing = "")."""
    out = {name: "" for name in LABEL_NAMES}
    seen: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise LabelsError(f"expected label=value, got {part!r}")
        if key not in LABEL_NAMES:
            raise LabelsError(f"unknown label {key!r} (labels: {', '.join(LABEL_NAMES)})")
        if key in seen:
            raise LabelsError(f"label {key!r} given twice")
        seen.add(key)
        out[key] = value
    if out["level"] and out["level"] not in LEVELS:
        raise LabelsError(f"unknown level {out['level']!r} (use {', '.join(LEVELS)})")
    known = list(departments or [])
    if known and out["department"] and out["department"] not in known:
        raise LabelsError(f"unknown department {out['department']!r} (known: {', '.join(known)})")
    return out


@dataclass
class RouteTest:
    """Where a flag with ``labels`` goes at ``at`` (naive UTC), and what mutes it."""

    labels: dict[str, str]
    at: datetime
    routes: list[Route]
    store_receiver: str | None           # store:<id> for a critical flag of a notify_store rule
    store_note: str | None               # why the store manager does or might hear of it
    silences: list[Mapping[str, Any]] = field(default_factory=list)
    alerts_off: bool = False

    @property
    def receivers(self) -> list[str]:
        """Every receiver it goes to (route receivers in tree order, then the store manager)."""
        out = [] if self.alerts_off else [r.receiver for r in self.routes if r.receiver]
        if self.store_receiver:
            out.append(self.store_receiver)
        return list(dict.fromkeys(out))

    @property
    def muted(self) -> bool:
        return bool(self.silences)

    @property
    def sent(self) -> bool:
        return bool(self.receivers) and not self.muted


def check_route(settings: AlertSettings, labels: dict[str, str], at: datetime, silences: Iterable[Any],
                notify_store_rules: set[str]) -> RouteTest:
    """The routes, store manager and silences for ``labels`` at ``at`` (naive UTC)."""
    root = settings.route
    routes = root.route(labels)
    sid = labels.get("store_id", "")
    store_receiver, note = None, None
    if sid and sid in settings.store_contacts:
        rule = labels.get("rule_id", "")
        if labels.get("level") == "critical" and rule in notify_store_rules:
            store_receiver = f"{STORE_PREFIX}{sid}"
            note = f"{store_receiver}: critical, and rule {rule} has notify_store: true"
        elif not rule:
            note = f"{STORE_PREFIX}{sid} too when the flag is critical and its rule has notify_store: true"
        else:
            note = f"not {STORE_PREFIX}{sid}: only critical flags of rules with notify_store: true go to stores"
    return RouteTest(labels=labels, at=at, routes=routes, store_receiver=store_receiver, store_note=note,
                     silences=matching(labels, silences, at), alerts_off=root.receiver is None)


__all__ = ["LabelsError", "RouteTest", "check_route", "parse_labels"]
