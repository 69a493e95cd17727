"""The routing tree of ``alerts.route`` (Alertmanager semantics).

A node matches a flag when every ``match`` label equals and every ``match_re`` regex
full-matches (a missing label is ""); the root matches everything.  Below a matching node the
children are tried in order: the first matching child wins, unless it has ``continue: true``,
in which case the following siblings are tried as well.  When no child matches, the node
itself is the result.  ``receiver``, ``group_by``, ``repeat_interval_minutes`` and
``send_resolved`` are inherited from the parent when a node doesn't set them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from alerts.labels import LABEL_NAMES
from alerts.settings import AlertsConfigError
from store.models import LEVELS

_KEYS = {"receiver", "group_by", "repeat_interval_minutes", "send_resolved", "routes", "match",
         "match_re", "continue"}


@dataclass(frozen=True)
class Route:
    path: str                                   # "alerts.route.routes[1]"
    receiver: str | None                        # None: alerts not set up, nothing is sent
    group_by: tuple[str, ...]
    repeat_interval: timedelta
    send_resolved: bool
    match: dict[str, str] = field(default_factory=dict)
    match_re: dict[str, re.Pattern] = field(default_factory=dict)
    continue_: bool = False
    routes: tuple[Route, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return (all(labels.get(k, "") == v for k, v in self.match.items())
                and all(p.fullmatch(labels.get(k, "")) for k, p in self.match_re.items()))

    def route(self, labels: dict[str, str]) -> list[Route]:
        """The deepest matching routes for these labels (the root: always at least itself)."""
        return _walk(self, labels) or [self]

    def group_key(self, labels: dict[str, str]) -> str:
        """``department=finance,store_id=MD0001`` from this route's group_by labels."""
        return ",".join(f"{k}={labels.get(k, '')}" for k in self.group_by)


def _walk(node: Route, labels: dict[str, str]) -> list[Route]:
    if not node.matches(labels):
        return []
    out: list[Route] = []
    for child in node.routes:
        found = _walk(child, labels)
        if found:
            out.extend(found)
            if not child.continue_:
                break
    return out or [node]


def route(root: Route, labels: dict[str, str]) -> list[Route]:
    """Module-level form of :meth:`Route.route`."""
    return root.route(labels)


def _label_map(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertsConfigError(f"{path}: expected a mapping of label: value")
    out = {}
    for k, v in value.items():
        if k not in LABEL_NAMES:
            raise AlertsConfigError(f"{path}.{k}: unknown label (labels: {', '.join(LABEL_NAMES)})")
        if isinstance(v, (dict, list)) or v is None:
            raise AlertsConfigError(f"{path}.{k}: expected a single value, got {v!r}")
        out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


def _parse(raw: Any, path: str, parent: Route | None, receivers: set[str],
           departments: list[str] | None) -> Route:
    if not isinstance(raw, dict):
        raise AlertsConfigError(f"{path}: expected a mapping, got {type(raw).__name__}")
    bad = sorted(str(k) for k in raw if k not in _KEYS)
    if bad:
        raise AlertsConfigError(f"{path}.{bad[0]}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
    if parent is None and any(k in raw for k in ("match", "match_re", "continue")):
        raise AlertsConfigError(f"{path}: the root route matches every flag; match, match_re and "
                                f"continue belong on its child routes")

    receiver = raw.get("receiver", parent.receiver if parent else None)
    if receiver is None and parent is not None:
        # a root without a receiver means alerts are off (nothing is sent); below it, a route must say
        raise AlertsConfigError(f"{path}.receiver: this route needs a receiver, and the root route has none "
                                f"(known: {', '.join(sorted(receivers)) or 'none yet: add alerts.receivers'})")
    if receiver is not None and receiver not in receivers:
        raise AlertsConfigError(f"{path}.receiver: unknown receiver {receiver!r} "
                                f"(known: {', '.join(sorted(receivers)) or 'none'})")

    if "group_by" in raw:
        gb = raw["group_by"] if raw["group_by"] is not None else []
        if not isinstance(gb, list):
            raise AlertsConfigError(f"{path}.group_by: expected a list of label names")
        for i, g in enumerate(gb):
            if g not in LABEL_NAMES:
                raise AlertsConfigError(f"{path}.group_by[{i}]: unknown label {g!r} "
                                        f"(labels: {', '.join(LABEL_NAMES)})")
        group_by = tuple(dict.fromkeys(gb))
    else:
        group_by = parent.group_by if parent else ("department", "store_id")

    if "repeat_interval_minutes" in raw:
        m = raw["repeat_interval_minutes"]
        if isinstance(m, bool) or not isinstance(m, (int, float)) or m <= 0:
            raise AlertsConfigError(f"{path}.repeat_interval_minutes: expected a number of minutes > 0, got {m!r}")
        repeat = timedelta(minutes=m)
    else:
        repeat = parent.repeat_interval if parent else timedelta(minutes=240)

    send_resolved = raw.get("send_resolved", parent.send_resolved if parent else True)
    if not isinstance(send_resolved, bool):
        raise AlertsConfigError(f"{path}.send_resolved: expected true or false, got {send_resolved!r}")
    cont = raw.get("continue", False)
    if not isinstance(cont, bool):
        raise AlertsConfigError(f"{path}.continue: expected true or false, got {cont!r}")

    match = _label_map(raw.get("match"), f"{path}.match")
    if departments is not None and "department" in match and match["department"] not in departments:
        raise AlertsConfigError(f"{path}.match.department: unknown department {match['department']!r} "
                                f"(known: {', '.join(departments)})")
    if "level" in match and match["level"] not in LEVELS:
        raise AlertsConfigError(f"{path}.match.level: unknown level {match['level']!r} (use {', '.join(LEVELS)})")
    match_re = {}
    for k, v in _label_map(raw.get("match_re"), f"{path}.match_re").items():
        try:
            match_re[k] = re.compile(v)
        except re.error as exc:
            raise AlertsConfigError(f"{path}.match_re.{k}: bad regex {v!r}: {exc}") from None

    node = Route(path=path, receiver=receiver, group_by=group_by, repeat_interval=repeat,
                 send_resolved=send_resolved, match=match, match_re=match_re, continue_=cont)
    children = raw.get("routes") or []
    if not isinstance(children, list):
        raise AlertsConfigError(f"{path}.routes: expected a list of routes")
    kids = tuple(_parse(c, f"{path}.routes[{i}]", node, receivers, departments) for i, c in enumerate(children))
    return Route(path=path, receiver=receiver, group_by=group_by, repeat_interval=repeat,
                 send_resolved=send_resolved, match=match, match_re=match_re, continue_=cont, routes=kids)


def parse_route(raw: Any, receivers: set[str], departments: list[str] | None = None,
                path: str = "alerts.route") -> Route:
    """Parse and validate the routing tree; errors name the path (``alerts.route.routes[1].match_re.kind``)."""
    if raw is None:
        raise AlertsConfigError(f"{path}: missing (a root route with a default receiver is required)")
    return _parse(raw, path, None, set(receivers), departments)
