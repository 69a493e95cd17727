"""Log in and out.

Limits are per (name, address) with a progressive delay (``store.logins``): a NAT's other users
and the admin logging in from elsewhere are never locked out by someone else's guesses.  An
unknown name costs the same password-hash work as a known one.  A session carries the user's
session version; logout and password changes raise it, so a captured cookie dies with them.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from flask_babel import gettext as _

from store import logins
from store.users import authenticate, end_sessions
from web import context
from web.errors import render_error
from web.params import safe_next

bp = Blueprint("auth", __name__)
MAX_NAME = 128


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("review.home"))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        name = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        if len(name) > MAX_NAME:
            abort(400, description=_("A user name has at most %(n)s characters.", n=MAX_NAME))
        cfg = context.config()
        slot = logins.reserve(context.engine(), name, request.remote_addr,
                              limit=int(cfg.get("web.login_attempts", 5)),
                              window_minutes=int(cfg.get("web.login_window_minutes", 15)),
                              base_delay=float(cfg.get("web.login_delay_seconds", 1)))
        if slot.attempt_id is None:
            body, code = render_error(429, _("Too many failed logins for this name from this address; "
                                             "try again in %(n)s seconds.", n=slot.retry_after))
            return body, code, {"Retry-After": str(slot.retry_after)}
        user = authenticate(context.engine(), name, password)
        logins.settle(context.engine(), slot.attempt_id, user is not None)
        if user is not None:
            session.clear()
            session["uid"] = user.id
            session["sv"] = user.session_version
            return redirect(_safe_next(request.args.get("next")))
        error = "bad_login"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if g.user is not None:
        end_sessions(context.engine(), g.user.id)  # a copy of this cookie stops working too
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():  # type: ignore[no-untyped-def]
    from store.users import update_user
    if g.user is None:
        abort(403)
    lang = request.form.get("language")
    if lang in ("zh", "en"):
        update_user(context.engine(), g.user.id, language=lang)
    flash("ok")
    return redirect(_safe_next(request.form.get("next")))
