"""Department queues, the stores view, and a flag's detail page (the actions are web/actions.py).

Rows are decorated once here (titles, labels, reasons in the reader's language, the SLA clock):
per-row template calls were once the queue page's main cost.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape
from flask_babel import gettext as _

from i18n import gettext_for
from i18n.vocabulary import label
from rules import reasons
from rules.loader import load_rules_cached
from store import lifecycle
from store.models import LEVELS, utcnow
from web import access, context, queries, saved, sla
from web.evidence import explain_levels, feature_rows
from web.security import login_required

bp = Blueprint("review", __name__)


def rules_by_id() -> dict[str, Any]:
    try:
        return {r.id: r for r in load_rules_cached(context.config(), include_disabled=True)}
    except Exception:  # a broken rules directory must not take the queues down
        return {}


_rules_by_id = rules_by_id  # the dashboard's older name


def lang() -> str:
    return str(get_locale() or "zh")


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    u = g.user
    if u.role == "store_manager":
        return redirect(url_for("review.stores"))
    if u.role == "rule_author":
        return redirect(url_for("rules.index"))
    depts = access.visible_departments(u, list(context.config().departments))
    return redirect(url_for("review.queue", department=depts[0])) if depts else abort(403)


def decorate(rows: list[dict[str, Any]], rules: dict[str, Any]) -> None:
    """Labels, the reason in the reader's language and the SLA clock, once per row."""
    language = lang()
    gt = gettext_for(language)
    ack = sla.ack_minutes(context.config().departments)
    now = utcnow()
    labels = {("level", k): label("level", k, gt) for k in LEVELS}
    labels.update({("status", k): label("status", k, gt) for k in lifecycle.STATUSES})
    labels.update({("resolution", k): label("resolution", k, gt) for k in lifecycle.RESOLUTIONS})
    for r in rows:
        rule = rules.get(r["rule_id"])
        r["title_label"] = (rule.title.get(language) or rule.title.get("zh") if rule else None) or r["title"] \
            or r["rule_id"]
        r["kind_label"] = label("kind", r["kind"], gt)
        r["level_label"] = labels[("level", r["level"])]
        r["status_label"] = labels[("status", r["status"])] + (
            f" · {labels[('resolution', r['resolution'])]}" if r.get("resolution") else "")
        args = r.get("reason_args")
        args = json.loads(args) if isinstance(args, str) else args
        text = reasons.render(r.get("reason_id"), args, language, rule.reason if rule else None, markup=True)
        r["reason_text"] = text if text is not None else escape(r.get("reason") or "")
        r["sla"] = sla.clock(r, ack, now, language)


def current_page_size() -> int:
    return int(current_app.config["PAGE_SIZE"])


def filters_from(args: Any) -> queries.Filters:
    try:
        return queries.Filters.from_args(args)
    except queries.BadFilter as exc:
        abort(400, description=bad_filter_text(exc))


def bad_filter_text(exc: queries.BadFilter) -> Markup:
    from web.i18n import data, said

    names = {"date_from": _("From"), "date_to": _("To"), "sort": _("Sort"), "after": _("Next page")}
    if exc.name in ("date_from", "date_to"):
        return said("%(field)s: “%(value)s” is not a date; write it as 2026-09-01.",
                    field=names[exc.name], value=data(exc.value))
    return said("%(field)s: “%(value)s” can't be used here; start again from the first page.",
                field=names.get(exc.name, exc.name), value=data(exc.value))


def render_queue(f: queries.Filters, title: str, endpoint: str, *, form: dict[str, Any] | None = None,
                 error: str | None = None, status: int = 200, **route: Any):  # type: ignore[no-untyped-def]
    try:
        rows, nxt = queries.list_flags(context.engine(), g.user, f, current_page_size())
    except queries.BadFilter as exc:   # a cursor only the query can judge (past 64 bits, …)
        abort(400, description=bad_filter_text(exc))
    rules = rules_by_id()
    decorate(rows, rules)
    args = {**{k: v for k, v in f.as_args().items() if k not in route}, **route}
    gt = gettext_for(lang())
    kinds = sorted({r.detector for r in rules.values()}, key=lambda k: label("kind", k, gt))
    mine = access.visible_departments(g.user, list(context.config().departments))
    return render_template(
        "queue.html", rows=rows, filters=f, title=title, endpoint=endpoint, route=route,
        first_url=url_for(endpoint, **args), next_url=url_for(endpoint, **args, after=nxt) if nxt else None,
        export_url=url_for("export.queue", **{**f.as_args(), **route}),
        flag_base=url_for("review.flag", flag_id=0)[:-1], rules=rules, bulk_args=f.as_args(), kinds=kinds,
        can_act_any=g.user.role in ("admin", "reviewer"), can_take=bool(mine) and g.user.role in ("admin", "reviewer"),
        saved_filters=saved.for_user(g.user.id), form=form or {}, error=error,
    ), status


@bp.get("/queue/<department>")
@login_required
def queue(department: str):  # type: ignore[no-untyped-def]
    if department not in access.visible_departments(g.user, list(context.config().departments)):
        abort(404)
    f = filters_from(request.args)
    f.department = department
    return render_queue(f, context.config().department_name(department, lang()), "review.queue",
                        department=department)


@bp.get("/stores")
@login_required
def stores():  # type: ignore[no-untyped-def]
    """A store manager's flags (their stores only); admins may look at every store's."""
    if g.user.role not in ("store_manager", "admin"):
        abort(404)
    f = filters_from(request.args)
    if f.store_id and g.user.role == "store_manager" and f.store_id not in g.user.stores:
        abort(404)
    if g.user.role == "admin":
        title = _("All stores") if not f.store_id else _("Store %(store)s", store=f.store_id)
    else:
        title = _("My stores: %(stores)s", stores=", ".join(g.user.stores))
    return render_queue(f, title, "review.stores")


def visible_flag(flag_id: int) -> dict[str, Any]:
    flag = queries.get_flag(context.engine(), flag_id)
    if flag is None or not access.can_see(g.user, flag):
        abort(404)
    return flag


def render_flag(flag_id: int, *, form: dict[str, Any] | None = None, error: str | None = None,
                status: int = 200):  # type: ignore[no-untyped-def]
    from web import charts

    f = visible_flag(flag_id)
    engine = context.engine()
    evidence = f["evidence"] if isinstance(f["evidence"], dict) else json.loads(f["evidence"] or "{}")
    rules = rules_by_id()
    rule = rules.get(f["rule_id"])
    decorate([f], rules)
    chart = None
    if f.get("store_id"):
        daily = charts.store_daily(context.config(), context.store().engine.url.render_as_string(False),
                                   f["store_id"])
        chart = charts.line_chart(daily, f["occurred_at"].date() if f.get("occurred_at") else None, lang())
    features = {k: v for k, v in evidence.items()
                if k not in ("conditions", "level_condition", "comparison", "explains")}
    explains = [{"title": (rules[e["rule_id"]].title.get(lang()) or rules[e["rule_id"]].title.get("zh"))
                 if e.get("rule_id") in rules else e.get("rule_id"), "level": e.get("level"),
                 "department": e.get("department")}
                for e in evidence.get("explains") or [] if isinstance(e, dict)]
    related = queries.related_flags(engine, g.user, f)
    decorate(related, rules)
    similar = queries.similar_flags(engine, g.user, f) if access.can_act(g.user, f) else []
    return render_template(
        "flag.html", f=f, evidence=evidence, rule=rule, chart=chart, explains=explains,
        levels=explain_levels(rule, features, lang()), features=feature_rows(rule, features, lang()),
        lines=queries.order_lines(engine, f.get("store_id"), f.get("order_id"), context.flagged_lines()), related=related,
        events=events_of(queries.flag_events(engine, flag_id)), can_act=access.can_act(g.user, f),
        can_comment=access.can_comment(g.user, f), can_correct=access.can_confirm_correction(g.user, f),
        transitions=lifecycle.TRANSITIONS[f["status"]], resolutions=lifecycle.RESOLUTIONS,
        conflict=request.args.get("conflict"), similar=similar, form=form or {}, error=error,
        assignees=queries.assignees(engine, f["department"]),
    ), status


def events_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit trail as people read it: the resolution out of a transition's note, people's
    notes kept, the system's own notes (level raised, escalated) left to the action's name."""
    import re

    for e in events:
        note = e.get("note") or ""
        e["resolution"] = None
        if e["action"] == "transition":
            m = re.match(r"^\[(\w+)\]\s*(.*)$", note, re.S)
            if m and m.group(1) in lifecycle.RESOLUTIONS:
                e["resolution"], note = m.group(1), m.group(2)
        e["note_text"] = None if e["action"] in ("created", "level_raised", "escalated") else (note or None)
    return events


@bp.get("/flags/<int:flag_id>")
@login_required
def flag(flag_id: int):  # type: ignore[no-untyped-def]
    return render_flag(flag_id)


def label_status(status: str | None) -> str:
    return label("status", status, gettext_for(lang()))


def local_now() -> str:
    from contracts.config import now_local
    from i18n.formats import moment

    return moment(now_local(context.config()), lang())


def local_day() -> str:
    from contracts.config import now_local
    from i18n.formats import day

    return day(now_local(context.config()), lang())
