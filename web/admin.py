"""User administration (admins): list, add, change role/remit, deactivate.

Mistakes are said in the admin's words and the form comes back as typed; a store code the
service has never seen is a warning to confirm, not a silent accept.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from store.models import ROLES
from store.users import UserError, add_user, list_users, update_user
from web import access, context, stores
from web.i18n import data, said
from web.security import require

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _values(prefix: str = "") -> dict[str, Any]:
    return {"name": (request.form.get("name") or "").strip(), "role": request.form.get(f"{prefix}role") or "",
            "departments": request.form.getlist(f"{prefix}departments"),
            "stores": stores.split(request.form.get(f"{prefix}stores")),
            "language": request.form.get("language") or "zh",
            "confirm_stores": request.form.get(f"{prefix}confirm_stores") == "on"}


def problems(v: dict[str, Any], *, new: bool, password: str = "") -> tuple[Any, list[str]]:
    """(an error in the admin's words or None, store codes never seen that need confirming)."""
    if new and not v["name"]:
        return _("Give the user a name."), []
    if v["role"] not in ROLES:
        return _("Choose a role."), []
    if new and len(password) < 8:
        return _("The password needs at least 8 characters."), []
    if v["role"] == "reviewer" and not v["departments"]:
        return _("A reviewer needs at least one department: the queues they work on."), []
    if v["role"] == "store_manager" and not v["stores"]:
        return _("A store manager needs at least one store code, e.g. MD0001."), []
    unknown = stores.unknown(v["stores"]) if v["role"] == "store_manager" else []
    if unknown and not v["confirm_stores"]:
        return said("No order of store %(stores)s has been seen yet. Check the code; if the store is new, tick "
                    "“the store is new” and save again.", stores=data(", ".join(unknown))), unknown
    return None, []


def _page(error: str | None = None, form: dict[str, Any] | None = None, unknown: list[str] | None = None,
          row_error: tuple[int, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("users.html", users=list_users(context.engine()), roles=ROLES, error=error,
                           form=form or {}, unknown=unknown or [], row_error=row_error), status


@bp.get("/users")
@require(access.can_admin)
def users():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/users")
@require(access.can_admin)
def add():  # type: ignore[no-untyped-def]
    v = _values()
    error, unknown = problems(v, new=True, password=request.form.get("password") or "")
    if error is None:
        try:
            add_user(context.engine(), v["name"], request.form.get("password") or "", v["role"],
                     departments=v["departments"], stores=v["stores"], language=v["language"],
                     known_departments=list(context.config().departments))
            return redirect(url_for("admin.users"))
        except UserError as exc:
            error = (said("A user named %(name)s already exists.", name=data(v["name"])) if "already exists" in str(exc)
                     else str(exc))
    return _page(error, v, unknown, status=400)


@bp.post("/users/<int:user_id>")
@require(access.can_admin)
def update(user_id: int):  # type: ignore[no-untyped-def]
    v = _values("u_")
    error, unknown = problems(v, new=False)
    if error:
        return _page(row_error=(user_id, error), form=v, unknown=unknown, status=400)
    if not any(u["id"] == user_id for u in list_users(context.engine())):
        abort(404)
    update_user(context.engine(), user_id, role=v["role"], departments=v["departments"], stores=v["stores"],
                active=request.form.get("u_active") == "on", language=request.form.get("u_language") or "zh")
    return redirect(url_for("admin.users"))
