"""The dashboard: flags per day by the time the problem occurred over a chosen period, the
backlog and what is past its acknowledgement SLA per department, the SLA statistics of every
stage (flagged while waiting, finished late), the stores with most flags, per-rule
false-positive rates with their counts and a 95 % interval (or "too few"), and what the latest
scans could not judge for lack of data (so an empty queue is not read as "all fine")."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from contracts.config import now_local
from web import charts, context, review, skipped, stats
from web.i18n import date_from_input
from web.security import login_required
from web.sla import ack_minutes

bp = Blueprint("dashboard", __name__)
PRESETS = (7, 30, 90)


def period() -> tuple[date, date, int | None, str | None]:
    """[start, end] from ``from``/``to`` or ``days`` (default: the 30 days up to the latest flag)."""
    today = now_local(context.config()).date()
    error = None
    try:
        start, end = date_from_input(request.args.get("from")), date_from_input(request.args.get("to"))
    except ValueError:
        start = end = None
        error = _("The period's dates could not be read; showing the last 30 days. Write dates as 2026-09-01.")
    if start and end:
        if start > end:
            start, end = end, start
        return start, min(end, start + timedelta(days=366)), None, error
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        days = 30
    days = min(max(days, 1), 366)
    if end is None:
        latest = stats.latest_occurrence(context.engine(), g.user)
        end = min(latest, today) if latest else today
    return (start or end - timedelta(days=days - 1)), end, (days if not start else None), error


@bp.get("/dashboard")
@login_required
def index():  # type: ignore[no-untyped-def]
    engine, cfg = context.engine(), context.config()
    lang = review.lang()
    start, end, days, error = period()
    ack = ack_minutes(cfg.departments)
    backlog = stats.backlog(engine, g.user, ack)
    rules = review.rules_by_id()
    titles = {rid: (r.title.get(lang) or r.title.get("zh") or rid) for rid, r in rules.items()}
    rate = stats.rule_stats(engine, g.user, start, end)
    names = {k: cfg.department_name(k, lang) for k in cfg.departments}
    per_day = stats.flags_per_day(engine, g.user, start, end)
    stages = stage_rows(engine, cfg, rules, titles, start, end)
    return render_template(
        "dashboard.html", start=start, end=end, days=days, presets=PRESETS, error=error,
        per_day_chart=charts.flags_per_day(per_day, start, end, lang), per_day_total=sum(n for *_x, n in per_day),
        backlog=backlog, backlog_chart=charts.backlog(backlog, names, lang) if backlog else None,
        top_stores=stats.top_stores(engine, g.user, start, end), stats=rate, titles=titles,
        fp_chart=charts.fp_rates(rate, titles, lang), min_n=stats.MIN_RESOLUTIONS, stages=stages,
        not_judged=skipped.recent(engine, lang),
    )


def stage_rows(engine, cfg, rules: dict, titles: dict[str, str], start: date,  # noqa: ANN001
               end: date) -> list[dict]:
    """The SLA statistics of the period: per stage rule, flagged while waiting, still open, and
    finished late (the rules' ``report`` level: counted here, never queued)."""
    from datetime import datetime

    from detectors import REGISTRY
    from store.sla_reports import stage_stats
    from web.access import flag_scope

    timed = [rid for rid, r in rules.items() if r.detector in REGISTRY and REGISTRY[r.detector].time_based]
    since = datetime.combine(start, datetime.min.time())
    until = datetime.combine(end + timedelta(days=1), datetime.min.time())
    with engine.connect() as conn:
        frame = stage_stats(conn, timed, since, until, lambda t: flag_scope(g.user, t))
    stage_of = {rid: rules[rid].params.get("stage") for rid in timed}
    limits = cfg.sla.stages
    out = []
    for row in frame.iter_rows(named=True):
        limit = limits.get(stage_of.get(row["rule_id"]) or "")
        out.append({**row, "title": titles.get(row["rule_id"], row["rule_id"]),
                    "limit_hours": limit.limit.hours if limit else None,
                    "latest_hours": limit.limit.latest if limit else None})
    return out
