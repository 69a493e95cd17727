"""Log in and out.  Failed attempts are recorded; too many for a name or address within the
window are refused (429) until the window passes."""

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

from store.users import authenticate, recent_failures, record_attempt
from web import context

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("review.home")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        name = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        cfg = context.config()
        limit, window = int(cfg.get("web.login_attempts", 5)), int(cfg.get("web.login_window_minutes", 15))
        ip = request.remote_addr
        if recent_failures(context.engine(), name, ip, window) >= limit:
            abort(429, description="too_many")
        user = authenticate(context.engine(), name, password)
        record_attempt(context.engine(), name, ip, user is not None)
        if user is not None:
            session.clear()
            session["uid"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        error = "bad_login"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
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
