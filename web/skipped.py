"""What the scans could not judge, in the reader's words: the detectors a file lacked the fields
for (or a catalog, or credit limits), and why — for the upload result page and the dashboard.

The scan keeps them as data (``scans.skipped``: file -> detector -> unmet needs, each a list of
alternatives; ``detectors.needs``); this module only says them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.lists import format_list
from sqlalchemy import Engine, select

from i18n import N_, gettext_for, normalise
from i18n.vocabulary import label
from store.models import Scan

S = Scan.__table__
RECENT_SCANS = 30
#: a detector judged at several grains (or stages) names the one it skipped
SCOPES = {"line": N_("per order line"), "day": N_("per store and day"), "auto_review": N_("automatic review"),
          "review": N_("review"), "picking": N_("picking"), "handover": N_("hand-over to the carrier"),
          "shipment": N_("shipment"), "delivery": N_("delivery"), "refund": N_("refund")}
#: canonical states, as a need (``state:<s>``: a status column that reaches that state)
STATES = {"pending_payment": N_("waiting for payment"), "paid": N_("paid"), "confirmed": N_("reviewed"),
          "picking": N_("being picked"), "picked": N_("picked"), "shipped": N_("shipped"),
          "delivered": N_("delivered"), "completed": N_("completed"), "cancelled": N_("cancelled"),
          "closed": N_("closed"), "returned": N_("returned"), "refunded": N_("refunded")}


def _need(name: str, gt: Any) -> str:
    if name == "catalog":
        return gt(N_("a catalog (the product master)"))
    if name == "credit_limits":
        return gt(N_("credit limits (a store master or a platform-wide cap)"))
    if name.startswith("state:"):
        state = name.split(":", 1)[1]
        return gt(N_("a status that says “%(state)s”")) % {"state": gt(STATES[state]) if state in STATES else state}
    return label("field", name, gt)


def describe(needs: list[list[str]], lang: str) -> str:
    """``needs product code and quantity`` / ``needs confirmation time or payment time`` in ``lang``."""
    gt, loc = gettext_for(lang), normalise(lang)
    parts = [format_list([_need(a, gt) for a in alts], style="or", locale=loc) if len(alts) > 1
             else _need(alts[0], gt) for alts in needs if alts]
    return gt(N_("needs %(what)s")) % {"what": format_list(parts, locale=loc)} if parts else ""


def said(skipped: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """A report's ``skipped`` entries with the detector's name and the reason in ``lang``."""
    gt = gettext_for(lang)
    out = []
    for s in skipped:
        name, scope = s.get("detector", ""), s.get("name", "")
        scope = scope[len(name):].strip(" ()") if scope.startswith(name) else ""
        scope = gt(SCOPES[scope]) if scope in SCOPES else scope
        out.append({**s, "label": label("kind", name, gt) + (f" ({scope})" if scope else ""),
                    "why_said": describe(s.get("needs") or [], lang) or s.get("why", "")})
    return out


def recent(engine: Engine, lang: str, limit: int = RECENT_SCANS) -> list[dict[str, Any]]:
    """Per file of the recent scans (its newest scan): each detector that could not judge it, and why."""
    with engine.connect() as conn:
        rows = conn.execute(select(S.c.id, S.c.started_at, S.c.skipped)
                            .where(S.c.status == "done", S.c.skipped.is_not(None))
                            .order_by(S.c.id.desc()).limit(limit)).all()
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for scan_id, started, skipped in rows:
        for path, detectors in (skipped or {}).items():
            name = Path(path).name
            if name in seen:
                continue
            seen.add(name)
            entries = said([{"detector": d.split(" (")[0], "name": d, "needs": n} for d, n in detectors.items()],
                           lang)
            out.append({"file": name, "scan_id": scan_id, "started_at": started, "detectors": entries})
    return out


__all__ = ["describe", "recent", "said"]
