"""User administration (admins): list, add, change role/remit, deactivate."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from store.models import ROLES
from store.users import UserError, add_user, list_users, update_user
from web import access, context
from web.security import require

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _split(v: str | None) -> list[str]:
    return [x.strip() for x in (v or "").replace("，", ",").split(",") if x.strip()]


@bp.route("/users", methods=["GET", "POST"])
@require(access.can_admin)
def users():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        try:
            add_user(context.engine(), (request.form.get("name") or "").strip(), request.form.get("password") or "",
                     request.form.get("role") or "", departments=request.form.getlist("departments"),
                     stores=_split(request.form.get("stores")), language=request.form.get("language") or "zh",
                     known_departments=list(context.config().departments))
            return redirect(url_for("admin.users"))
        except UserError as exc:
            error = str(exc)
    return render_template("users.html", users=list_users(context.engine()), roles=ROLES, error=error), \
        (400 if error else 200)


@bp.post("/users/<int:user_id>")
@require(access.can_admin)
def update(user_id: int):  # type: ignore[no-untyped-def]
    values = {"role": request.form.get("role"), "departments": request.form.getlist("departments"),
              "stores": _split(request.form.get("stores")), "active": request.form.get("active") == "on"}
    if values["role"] not in ROLES:
        abort(400, description="unknown role")
    update_user(context.engine(), user_id, **values)
    return redirect(url_for("admin.users"))
