"""Silences in the UI (the CLI has them too) and the notification log.

A reviewer may silence only within their departments (the department matcher is required and
must be theirs); an admin may silence anything.  Times are entered and shown in the configured
timezone and stored in UTC, like the CLI does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from alerts.labels import LABEL_NAMES
from alerts.notify import list_notifications
from alerts.silences import SilenceError, add, expire, list_all
from store.models import utcnow
from web import access, context, review, stores
from web.i18n import data, said
from web.security import require

bp = Blueprint("silences", __name__)


def _may_silence(p) -> bool:  # type: ignore[no-untyped-def]
    return p.role in ("admin", "reviewer")


def _local(dt: datetime | None) -> str:
    from i18n.formats import moment

    if dt is None:
        return ""
    zone = ZoneInfo(context.config().timezone)
    return moment(dt.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None), review.lang())


@bp.route("/silences", methods=["GET", "POST"])
@require(_may_silence)
def index():  # type: ignore[no-untyped-def]
    error, form, unknown = None, {}, []
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in (*LABEL_NAMES, "hours", "comment", "confirm_store")}
        matchers = {k: form[k] for k in LABEL_NAMES if form[k]}
        try:
            hours = float(form["hours"] or 0)
        except ValueError:
            hours = 0
        unknown = stores.unknown([form["store_id"]]) if form["store_id"] else []
        if g.user.role == "reviewer" and matchers.get("department") not in g.user.departments:
            error = _("Choose one of your departments: a reviewer silences only within their own.")
        elif not matchers:
            error = _("Say what to silence: at least a department, store, kind, rule or level.")
        elif not 0 < hours <= 24 * 30:
            error = _("How long: between half an hour and 720 hours (30 days).")
        elif not form["comment"]:
            error = _("Say why, so others know what is silenced and until when.")
        elif unknown and form["confirm_store"] != "on":
            error = said("No order of store %(store)s has been seen yet. Check the code; if it is right, tick "
                         "“the store is new” and save again.", store=data(form["store_id"]))
        else:
            now = utcnow()
            try:
                add(context.engine(), matchers, now, now + timedelta(hours=hours), g.user.name,
                    form["comment"], now=now)
                return redirect(url_for("silences.index"))
            except SilenceError as exc:
                error = str(exc)
    now = utcnow()
    rows = [dict(r, starts=_local(r["starts_at"]), ends=_local(r["ends_at"]), active=r["starts_at"] <= now < r["ends_at"])
            for r in list_all(context.engine(), now, include_expired=False)]
    depts = access.visible_departments(g.user, list(context.config().departments))
    rules = review.rules_by_id()
    return render_template("silences.html", silences=rows, error=error, labels=LABEL_NAMES, my_departments=depts,
                           form=form, unknown=unknown, rules=rules,
                           kinds=sorted({r.detector for r in rules.values()})), (400 if error else 200)


@bp.post("/silences/<int:silence_id>/expire")
@require(_may_silence)
def end(silence_id: int):  # type: ignore[no-untyped-def]
    row = next((r for r in list_all(context.engine(), utcnow()) if r["id"] == silence_id), None)
    if row is None:
        abort(404)
    if g.user.role == "reviewer" and row["matchers"].get("department") not in g.user.departments:
        abort(403)
    expire(context.engine(), silence_id, utcnow())
    return redirect(url_for("silences.index"))


@bp.get("/notifications")
@require(access.can_admin)
def notifications():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    rows = [dict(r, created=_local(r["created_at"]), sent=_local(r["sent_at"]), next=_local(r["next_attempt_at"]))
            for r in list_notifications(context.engine(), status, limit=200)]
    return render_template("notifications.html", rows=rows, status=status)
