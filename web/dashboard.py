"""The dashboard: flags per day by kind, backlog and overdue per department, top stores,
per-rule hits and false-positive rates (computed from resolutions)."""

from __future__ import annotations

from flask import Blueprint, g, render_template
from markupsafe import Markup

from web import charts, context, queries
from web.review import _rules_by_id
from web.security import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required
def index():  # type: ignore[no-untyped-def]
    engine, cfg = context.engine(), context.config()
    ack = {k: int(v.get("ack_minutes", 240)) for k, v in cfg.departments.items()}
    return render_template(
        "dashboard.html",
        per_day=Markup(charts.stacked_bars(queries.flags_per_day(engine, g.user))),
        backlog=queries.backlog(engine, g.user, ack), ack=ack,
        top_stores=queries.top_stores(engine, g.user),
        stats=queries.rule_stats(engine, g.user), rules=_rules_by_id(),
    )
