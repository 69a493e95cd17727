"""Department queues, the store manager's view, a flag's detail and the lifecycle actions."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from rules.condition import explain
from rules.loader import load_rules_cached
from rules.model import LEVEL_ORDER
from store import lifecycle
from store.models import LEVELS
from web import access, charts, context, queries
from web.i18n import translate
from web.security import login_required

bp = Blueprint("review", __name__)


def _rules_by_id() -> dict[str, Any]:
    try:
        return {r.id: r for r in load_rules_cached(context.config(), include_disabled=True)}
    except Exception:  # a broken rules directory must not take the queues down
        return {}


@bp.app_context_processor
def nav() -> dict[str, Any]:
    if getattr(g, "user", None) is None:
        return {}
    return {"queue_counts": queries.queue_counts(context.engine(), g.user)}


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


def _page(filters: queries.Filters, title: str, endpoint: str, **route: Any):  # type: ignore[no-untyped-def]
    rows, nxt = queries.list_flags(context.engine(), g.user, filters, current_page_size())
    rules = _rules_by_id()
    lang = g.user.language
    labels = {k: translate(k, lang) for k in (*LEVELS, *lifecycle.STATUSES, *lifecycle.RESOLUTIONS)}
    for r in rows:  # resolved once here: the template's per-row work is the page's main cost
        rule = rules.get(r["rule_id"])
        r["title_label"] = (rule.title.get(lang) if rule else None) or r["title"] or r["rule_id"]
        r["level_label"] = labels.get(r["level"], r["level"])
        r["status_label"] = labels[r["status"]] + (f" · {labels[r['resolution']]}" if r["resolution"] else "")
    args = {**{k: v for k, v in filters.as_args().items() if k not in route}, **route}
    return render_template("queue.html", rows=rows, filters=filters, title=title,
                           first_url=url_for(endpoint, **args),
                           next_url=url_for(endpoint, **args, after=nxt) if nxt else None,
                           flag_base=url_for("review.flag", flag_id=0)[:-1],
                           rules=rules, bulk_args=filters.as_args(),
                           kinds=sorted({r.detector for r in rules.values()}),
                           can_act_any=g.user.role in ("admin", "reviewer"))


def current_page_size() -> int:
    from flask import current_app
    return int(current_app.config["PAGE_SIZE"])


def _filters() -> queries.Filters:
    try:
        return queries.Filters.from_args(request.args)
    except queries.BadFilter as exc:
        abort(400, description=str(exc))


@bp.get("/queue/<department>")
@login_required
def queue(department: str):  # type: ignore[no-untyped-def]
    if department not in access.visible_departments(g.user, list(context.config().departments)):
        abort(404)
    f = _filters()
    f.department = department
    return _page(f, context.config().department_name(department, g.user.language), "review.queue",
                 department=department)


@bp.get("/stores")
@login_required
def stores():  # type: ignore[no-untyped-def]
    """A store manager's flags (their stores only); admins may look at any store's."""
    if g.user.role not in ("store_manager", "admin"):
        abort(404)
    f = _filters()
    if f.store_id and g.user.role == "store_manager" and f.store_id not in g.user.stores:
        abort(404)
    return _page(f, ", ".join(g.user.stores) or "—", "review.stores")


def _visible_flag(flag_id: int) -> dict[str, Any]:
    flag = queries.get_flag(context.engine(), flag_id)
    if flag is None or not access.can_see(g.user, flag):
        abort(404)
    return flag


@bp.get("/flags/<int:flag_id>")
@login_required
def flag(flag_id: int):  # type: ignore[no-untyped-def]
    f = _visible_flag(flag_id)
    engine = context.engine()
    evidence = f["evidence"] if isinstance(f["evidence"], dict) else json.loads(f["evidence"] or "{}")
    rule = _rules_by_id().get(f["rule_id"])
    chart = Markup("")
    if f.get("store_id"):
        daily = charts.store_daily(context.config(), context.store().engine.url.render_as_string(False),
                                   f["store_id"])
        mark = f["occurred_at"].date() if f.get("occurred_at") else None
        chart = Markup(charts.line_chart(daily, mark))
    features = {k: v for k, v in evidence.items() if k not in ("conditions", "level_condition")}
    reasoning = []  # per level: each comparison with the actual value, held or not
    if rule is not None:
        for level in sorted(rule.levels, key=lambda lv: -LEVEL_ORDER[lv]):
            reasoning.append((level, rule.level_text[level], explain(rule.levels[level], features)))
    return render_template(
        "flag.html", f=f, evidence=evidence, features=features, rule=rule, chart=chart, reasoning=reasoning,
        lines=queries.order_lines(engine, f.get("store_id"), f.get("order_id")),
        related=queries.related_flags(engine, g.user, f), events=queries.flag_events(engine, flag_id),
        can_act=access.can_act(g.user, f), can_comment=access.can_comment(g.user, f),
        can_correct=access.can_confirm_correction(g.user, f), transitions=lifecycle.TRANSITIONS[f["status"]],
        resolutions=lifecycle.RESOLUTIONS, conflict=request.args.get("conflict"),
    )


def _version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400, description="version missing")


@bp.post("/flags/<int:flag_id>/transition")
@login_required
def transition(flag_id: int):  # type: ignore[no-untyped-def]
    f = _visible_flag(flag_id)
    to_status = request.form.get("to_status", "")
    resolution = request.form.get("resolution") or None
    if not access.allowed_transition(g.user, f, to_status, resolution):
        abort(403)
    try:
        lifecycle.transition(context.engine(), flag_id, actor=g.user.name, to_status=to_status,
                             expected_version=_version(), resolution=resolution,
                             note=request.form.get("note") or None)
    except lifecycle.Conflict as exc:
        return redirect(url_for("review.flag", flag_id=flag_id, conflict=str(exc)))
    except lifecycle.LifecycleError as exc:
        abort(400, description=str(exc))
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/assign")
@login_required
def assign(flag_id: int):  # type: ignore[no-untyped-def]
    f = _visible_flag(flag_id)
    if not access.can_act(g.user, f):
        abort(403)
    try:
        lifecycle.assign(context.engine(), flag_id, actor=g.user.name,
                         assignee=(request.form.get("assignee") or "").strip() or None,
                         expected_version=_version())
    except lifecycle.Conflict as exc:
        return redirect(url_for("review.flag", flag_id=flag_id, conflict=str(exc)))
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/comment")
@login_required
def comment(flag_id: int):  # type: ignore[no-untyped-def]
    f = _visible_flag(flag_id)
    if not access.can_comment(g.user, f):
        abort(403)
    try:
        lifecycle.comment(context.engine(), flag_id, actor=g.user.name, note=request.form.get("note") or "")
    except lifecycle.LifecycleError as exc:
        abort(400, description=str(exc))
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/flags/bulk")
@login_required
def bulk():  # type: ignore[no-untyped-def]
    """Apply one transition to the ticked flags, or to every flag the current filter selects."""
    if g.user.role not in ("admin", "reviewer"):
        abort(403)
    engine = context.engine()
    if request.form.get("scope") == "filtered":
        try:
            f = queries.Filters.from_args(request.form)
        except queries.BadFilter as exc:
            abort(400, description=str(exc))
        ids = queries.all_flag_ids(engine, g.user, f)
    else:
        ids = [int(x) for x in request.form.getlist("ids") if x.isdigit()]
    allowed = []
    for fid in ids:
        flag = queries.get_flag(engine, fid)
        if flag is not None and access.can_act(g.user, flag):
            allowed.append(fid)
    to_status = request.form.get("to_status", "")
    result = lifecycle.bulk_transition(engine, allowed, actor=g.user.name, to_status=to_status,
                                       resolution=request.form.get("resolution") or None,
                                       note=request.form.get("note") or None)
    back = request.form.get("back") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("review.home")
    return render_template("bulk_done.html", result=result, refused=len(ids) - len(allowed), back=back)
