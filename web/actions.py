"""What reviewers do to flags: change the status, assign, comment, take the next flag, and
act on many at once (ticked, everything the filter selects, or the similar ones of a flag).

Forms never lose work: a refused change re-shows the page with the reason in the reader's
words and everything typed still in the fields.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from store import lifecycle
from web import access, context, queries, review
from web.params import safe_next
from web.security import login_required

bp = Blueprint("actions", __name__)


def _version() -> int:
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = -1
    if not 0 <= version <= 2**31 - 1:   # what the column holds: anything else is no version we gave
        abort(400, description=_("The form was incomplete; reload the page and try again."))
    return version


def _ids(values: list[str]) -> list[int]:
    """Flag ids from a form: whole numbers a 64-bit column can hold, others ignored."""
    return [int(x) for x in values if x.isdigit() and len(x) < 19]


def _flag_id(value: str | None) -> int:
    ids = _ids([value or ""])
    if not ids:
        abort(400, description=_("The form was incomplete; reload the page and try again."))
    return ids[0]


def conflict_text(exc: lifecycle.Conflict) -> str:
    m = re.search(r"changed by (.+?) \(", str(exc))
    who = m.group(1) if m else "?"
    return _("%(who)s changed this flag meanwhile (it is now %(status)s, version %(version)s); nothing was "
             "overwritten. Look at it again, then decide.", who=who, version=exc.current.get("version"),
             status=review.label_status(exc.current.get("status")))


def check_transition(to_status: str, resolution: str | None) -> str | None:
    """The reader's words for a change that can't be made as asked, else None."""
    if to_status not in lifecycle.STATUSES:
        return _("Choose what to do with the flag.")
    if to_status == "resolved" and resolution not in lifecycle.RESOLUTIONS:
        return _("Choose a resolution: was it a real anomaly, a false positive, or corrected?")
    return None


def _form() -> dict[str, Any]:
    to_status = request.form.get("to_status", "")
    resolution = request.form.get("resolution") or None
    return {"to_status": to_status, "resolution": resolution if to_status == "resolved" else None,
            "note": (request.form.get("note") or "").strip()}


@bp.post("/flags/<int:flag_id>/transition")
@login_required
def transition(flag_id: int):  # type: ignore[no-untyped-def]
    f = review.visible_flag(flag_id)
    form = _form()
    if not access.allowed_transition(g.user, f, form["to_status"], form["resolution"]):
        abort(403)
    error = check_transition(form["to_status"], form["resolution"])
    if error:
        return review.render_flag(flag_id, form=form, error=error, status=400)
    try:
        lifecycle.transition(context.engine(), flag_id, actor=g.user.name, to_status=form["to_status"],
                             expected_version=_version(), resolution=form["resolution"], note=form["note"] or None)
    except lifecycle.Conflict as exc:
        return review.render_flag(flag_id, form=form, error=conflict_text(exc), status=409)
    except lifecycle.InvalidTransition:
        return review.render_flag(flag_id, form=form, status=400, error=_(
            "A flag that is %(status)s can't go there; reload the page to see what it can do now.",
            status=review.label_status(f["status"])))
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/assign")
@login_required
def assign(flag_id: int):  # type: ignore[no-untyped-def]
    f = review.visible_flag(flag_id)
    if not access.can_act(g.user, f):
        abort(403)
    assignee = g.user.name if request.form.get("me") else (request.form.get("assignee") or "").strip() or None
    if assignee and len(assignee) > 128:
        return review.render_flag(flag_id, error=_("A name has at most 128 characters."), status=400)
    try:
        lifecycle.assign(context.engine(), flag_id, actor=g.user.name, assignee=assignee,
                         expected_version=_version())
    except lifecycle.Conflict as exc:
        return review.render_flag(flag_id, error=conflict_text(exc), status=409)
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/flags/<int:flag_id>/comment")
@login_required
def comment(flag_id: int):  # type: ignore[no-untyped-def]
    f = review.visible_flag(flag_id)
    if not access.can_comment(g.user, f):
        abort(403)
    note = (request.form.get("note") or "").strip()
    if not note:
        return review.render_flag(flag_id, error=_("Write the comment first."), status=400)
    lifecycle.comment(context.engine(), flag_id, actor=g.user.name, note=note)
    return redirect(url_for("review.flag", flag_id=flag_id))


@bp.post("/take-next")
@login_required
def take_next():  # type: ignore[no-untyped-def]
    """Claim the oldest unassigned open flag of the highest level in my queues, and open it."""
    if g.user.role not in ("admin", "reviewer"):
        abort(403)
    wanted = request.form.get("department")
    mine = access.visible_departments(g.user, list(context.config().departments))
    depts = [wanted] if wanted in mine else mine
    engine, tried = context.engine(), set()
    for _round in range(4):                       # a lost race (someone took it first): the next one
        candidates = queries.next_unassigned(engine, g.user, depts, tried)
        if not candidates:
            break
        for c in candidates:
            tried.add(c["id"])
            try:
                lifecycle.assign(engine, c["id"], actor=g.user.name, assignee=g.user.name,
                                 expected_version=c["version"])
            except lifecycle.Conflict:
                continue
            return redirect(url_for("review.flag", flag_id=c["id"]))
    return render_template("message.html", title=_("Nothing to take"),
                           text=_("No open, unassigned flag is waiting in your queues."),
                           back=_safe_back(request.form.get("back")))


def _safe_back(value: str | None) -> str:
    return safe_next(value, url_for("review.home"))


@bp.post("/flags/bulk")
@login_required
def bulk():  # type: ignore[no-untyped-def]
    """Apply one change to the ticked flags, to every flag the filter selects, or to a flag's
    similar ones (same rule, same store)."""
    if g.user.role not in ("admin", "reviewer"):
        abort(403)
    engine = context.engine()
    form = _form()
    scope = request.form.get("scope")
    if scope == "filtered":
        f = review.filters_from(request.form)
        ids = queries.all_flag_ids(engine, g.user, f)
    elif scope == "similar":
        base = review.visible_flag(_flag_id(request.form.get("flag_id")))
        ids = [s["id"] for s in queries.similar_flags(engine, g.user, base)]
    else:
        ids = _ids(request.form.getlist("ids"))
    error = check_transition(form["to_status"], form["resolution"])
    if not error and not ids:
        error = _("Tick the flags to change first.")
    if error:
        if scope == "similar":
            return review.render_flag(_flag_id(request.form.get("flag_id")), form={**form, "bulk": True}, error=error,
                                      status=400)
        return _requeue(form, error)
    allowed = [fid for fid in ids if (fl := queries.get_flag(engine, fid)) is not None and access.can_act(g.user, fl)]
    result = lifecycle.bulk_transition(engine, allowed, actor=g.user.name, to_status=form["to_status"],
                                       resolution=form["resolution"], note=form["note"] or None)
    return render_template("bulk_done.html", result=result, refused=len(ids) - len(allowed),
                           back=_safe_back(request.form.get("back")), to_status=form["to_status"])


def _requeue(form: dict[str, Any], error: str):  # type: ignore[no-untyped-def]
    """The queue the bulk form came from, with the error and the form as it was."""
    f = review.filters_from(request.form)
    form = {**form, "ids": set(_ids(request.form.getlist("ids"))),
            "scope": request.form.get("scope")}
    if f.department and f.department in access.visible_departments(g.user, list(context.config().departments)):
        title = context.config().department_name(f.department, review.lang())
        dept = f.department
        return review.render_queue(f, title, "review.queue", form=form, error=error, status=400, department=dept)
    return review.render_queue(f, _("All stores"), "review.stores", form=form, error=error, status=400)
