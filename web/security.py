"""Sessions (with the user's session version), CSRF and API tokens.

CSRF: every form carries a per-session token (``csrf_token()`` in templates) that a POST must
echo; the JSON API is exempt because it authenticates with a bearer token, not a cookie.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for

from store.users import Principal, get_user, user_for_token


def csrf_token() -> str:
    tok = session.get("_csrf")
    if not tok:
        tok = session["_csrf"] = secrets.token_urlsafe(32)
    return tok


def check_csrf() -> None:
    """before_request: a state-changing form request must carry the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
        return
    sent = request.form.get("_csrf") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("_csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


def load_user() -> None:
    """before_request: ``g.user`` from the session (web) or the bearer token (API)."""
    g.user = None
    engine = current_app.extensions["orderwatch.store"].engine
    if request.path.startswith("/api/"):
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            g.user = user_for_token(engine, auth[7:].strip())
        return
    uid = session.get("uid")
    if uid is not None:
        g.user = get_user(engine, user_id=int(uid))
        # a session from before the last logout or password change is over
        if g.user is None or session.get("sv") != g.user.session_version:
            g.user = None
            session.clear()


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


def require(check: Callable[[Principal], bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A logged-in user for whom ``check`` holds, else 403."""
    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not check(g.user):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return deco
