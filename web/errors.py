"""Error pages in the site's layout and the reader's language (the API answers JSON).

Werkzeug's own descriptions are English and generic, so a page shows only a detail our code
gave (already translated where it was raised); the title and the hint come from here.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("orderwatch.web")

KEYS = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "not_allowed", 409: "conflict",
        413: "too_large", 429: "too_many", 500: "server_error"}


def _title(code: int) -> str:
    return {
        400: _("The request could not be used"), 403: _("You may not do this"), 404: _("Not found"),
        405: _("This address does not take that request"), 409: _("Someone changed this meanwhile"),
        413: _("The file is too large"), 429: _("Too many attempts"), 500: _("Something went wrong on our side"),
    }.get(code, _("Error"))


def _hint(code: int) -> str:
    return {
        403: _("Your role does not allow this page or action. Ask an administrator if you need it."),
        404: _("The page or flag does not exist, or it is outside what your role may see."),
        413: _("Split the file, or ask an administrator to raise web.upload_max_mb."),
        429: _("Wait a few minutes, then try again."),
        500: _("The error was logged. Try again; if it persists, tell an administrator."),
    }.get(code, "")


def _detail(exc: HTTPException) -> Any:
    """Only a description our code set (a class's default description is Werkzeug's English)."""
    desc = exc.description or ""
    if desc == type(exc).description:
        return ""
    if desc == "csrf":
        return _("The form expired; reload the page and try again.")
    if desc == "too_many":
        return _("Too many failed logins; try again later.")
    return desc


def render_error(code: int, detail: str = "") -> tuple[str, int]:
    try:
        return render_template("error.html", code=code, title=_title(code), hint=_hint(code), detail=detail), code
    except Exception:  # the layout itself failed (a database down): still answer, plainly
        log.exception("error page")
        return f"{code} · {_title(code)}", code


def register(app: Flask) -> None:
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        if request.path.startswith("/api/"):
            desc = exc.description if exc.description != type(exc).description else KEYS.get(code, "error")
            return jsonify({"error": KEYS.get(code, "error"), "message": str(desc)}), code
        return render_error(code, _detail(exc))

    def server_error(exc: Exception):  # type: ignore[no-untyped-def]
        original = getattr(exc, "original_exception", None) or exc
        log.error("unhandled error on %s", request.path, exc_info=original)
        if request.path.startswith("/api/"):
            return jsonify({"error": "server_error", "message": "internal error"}), 500
        return render_error(500)

    for code in KEYS:
        if code != 500:
            app.register_error_handler(code, http_error)
    app.register_error_handler(InternalServerError, server_error)

    @app.get("/favicon.ico")
    def favicon():  # type: ignore[no-untyped-def]
        from flask import redirect, url_for
        return redirect(url_for("static", filename="favicon.svg"), code=301)
