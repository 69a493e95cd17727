"""The order-handling policy as data: how long each stage of an order may take.

``config.yaml`` ``sla`` holds it: ``stages`` (stage -> limit, with overrides per goods class,
logistics class and promotion day), ``promotion_days`` and the words that name a logistics
class in an export's shipping-method column.  A limit is a number of hours or a text with its
unit (``30m``, ``4h``, ``5d``), or a range (``3d-5d``: the promise "in 3 to 5 days" — overdue past
its start, past its end the promise is broken).  The rules (``rules/pack/fulfilment.yaml``) name a stage and
its start and end events; this module only says how long it may last.  A deadline the export
carries for the order itself (``ship_by``, ``deliver_by``) wins over all of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.config import Config, ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?|d|days?)?\s*$", re.I)
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0}
#: logistics class of an order whose shipping method names no class of the policy
STANDARD = "standard"
GOODS = ("fresh", "normal")


def hours(value: Any, where: str) -> float:
    """``4`` / ``"4h"`` -> 4.0, ``"30m"`` -> 0.5, ``"5d"`` -> 120.0; a clear error otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: a time limit like 30m, 4h or 5d, got {value!r}")
    if isinstance(value, (int, float)):
        out = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(f"{where}: a time limit like 30m, 4h or 5d, got {value!r}")
        out = float(m.group(1)) * _UNIT_HOURS[(m.group(2) or "h")[0].lower()]
    if not out > 0:
        raise ConfigError(f"{where}: a time limit must be more than zero, got {value!r}")
    return out


@dataclass(frozen=True)
class Limit:
    """A time limit in hours; ``latest`` > ``hours`` for a range (``3d-5d``)."""

    hours: float
    latest: float

    @classmethod
    def parse(cls, value: Any, where: str) -> Limit:
        if isinstance(value, str) and "-" in value.strip()[1:]:
            lo, hi = (part.strip() for part in value.split("-", 1))
            lo_unit, hi_unit = lo[-1:].isalpha(), hi[-1:].isalpha()
            a = hours(lo if lo_unit or not hi_unit else lo + _unit(hi), where)   # 3-5d: both in days
            b = hours(hi if hi_unit or not lo_unit else hi + _unit(lo), where)
            if b < a:
                raise ConfigError(f"{where}: a range goes from the shorter to the longer limit, got {value!r}")
            return cls(a, b)
        h = hours(value, where)
        return cls(h, h)


def _unit(text: str) -> str:
    m = _DURATION.match(text)
    return (m.group(2) or "h") if m else "h"


@dataclass(frozen=True)
class StageSla:
    """One stage's limit and what overrides it."""

    name: str
    limit: Limit
    goods: dict[str, Limit] = field(default_factory=dict)     # goods class -> limit
    methods: dict[str, Limit] = field(default_factory=dict)   # logistics class -> limit
    promotion: Limit | None = None                            # orders placed on a promotion day


@dataclass(frozen=True)
class SlaPolicy:
    stages: dict[str, StageSla]
    promotion_days: frozenset[date]
    method_words: dict[str, tuple[str, ...]]                  # logistics class -> words (lower case)

    def stage(self, name: str) -> StageSla:
        return self.stages[name]


def _classes(raw: Any, where: str) -> dict[str, Limit]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a mapping of class -> time limit")
    return {str(k): Limit.parse(v, f"{where}.{k}") for k, v in raw.items()}


def _stage(name: str, raw: Any) -> StageSla:
    where = f"sla.stages.{name}"
    if not isinstance(raw, dict):
        raw = {"limit": raw}
    unknown = set(raw) - {"limit", "goods", "methods", "promotion"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                          "(allowed: limit, goods, methods, promotion)")
    if "limit" not in raw:
        raise ConfigError(f"{where}: limit is required (e.g. 4h)")
    goods = _classes(raw.get("goods"), f"{where}.goods")
    bad = sorted(set(goods) - set(GOODS))
    if bad:
        raise ConfigError(f"{where}.goods: unknown goods class(es) {', '.join(bad)} (known: {', '.join(GOODS)})")
    promo = raw.get("promotion")
    return StageSla(name=name, limit=Limit.parse(raw["limit"], f"{where}.limit"), goods=goods,
                    methods=_classes(raw.get("methods"), f"{where}.methods"),
                    promotion=Limit.parse(promo, f"{where}.promotion") if promo is not None else None)


def _legacy(sla: dict[str, Any]) -> dict[str, Any]:
    """A site file of the first releases (``picking_hours``, ``delivery_hours``) still counts."""
    stages = dict(sla.get("stages") or {})
    old_pick = sla.get("picking_hours")
    if isinstance(old_pick, dict) and "picking" in stages:
        pick = dict(stages["picking"]) if isinstance(stages["picking"], dict) else {"limit": stages["picking"]}
        if "normal" in old_pick:
            pick["limit"] = old_pick["normal"]
        if "fresh" in old_pick:
            pick["goods"] = {**(pick.get("goods") or {}), "fresh": old_pick["fresh"]}
        stages["picking"] = pick
    if sla.get("delivery_hours") is not None and "delivery" in stages:
        deliver = dict(stages["delivery"]) if isinstance(stages["delivery"], dict) else {}
        stages["delivery"] = {**deliver, "limit": sla["delivery_hours"]}
    return stages


def sla_policy(config: Config) -> SlaPolicy:
    """The ``sla`` section, checked: a bad value names its key."""
    raw = config.get("sla") or {}
    if not isinstance(raw, dict):
        raise ConfigError("sla: must be a mapping (stages, promotion_days, methods)")
    stages = {str(k): _stage(str(k), v) for k, v in _legacy(raw).items()}
    days: set[date] = set()
    for i, d in enumerate(raw.get("promotion_days") or []):
        try:
            days.add(d if isinstance(d, date) else date.fromisoformat(str(d)))
        except ValueError:
            raise ConfigError(f"sla.promotion_days[{i}]: a date like 2026-11-11, got {d!r}") from None
    words = raw.get("methods") or {}
    if not isinstance(words, dict):
        raise ConfigError("sla.methods: a mapping of logistics class -> words, e.g. {express: [特快, express]}")
    method_words = {str(k): tuple(str(w).lower() for w in (v or [])) for k, v in words.items()}
    return SlaPolicy(stages=stages, promotion_days=frozenset(days), method_words=method_words)


__all__ = ["GOODS", "STANDARD", "Limit", "SlaPolicy", "StageSla", "hours", "sla_policy"]
