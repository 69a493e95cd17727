"""The review UI and API: a Flask app factory with one blueprint per area.

``create_app()`` reads config.yaml (like the CLI), opens the store (migrating it), and
registers: ``auth`` (login/logout), ``review`` (department queues, flag detail, lifecycle
actions), ``dashboard``, ``rules`` (rule pages, validate-and-reload), ``upload``, ``admin``
(users) and ``api`` (JSON, token auth, OpenAPI at /api/v1/openapi.json).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request

from contracts.config import Config, load_config
from store import Store


def _secret_key(config: Config) -> str:
    """The configured key, else one generated once and kept in the instance folder."""
    key = config.get("web.secret_key")
    if key:
        return str(key)
    path = config.instance_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def create_app(config: Config | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    config = config or load_config()
    app = Flask(__name__, instance_path=str(config.instance_dir.resolve()), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=_secret_key(config),
        DATABASE_URL=config.database_url,
        MAX_CONTENT_LENGTH=int(config.get("web.upload_max_mb", 200)) * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PAGE_SIZE=int(config.get("web.page_size", 50)),
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["orderwatch.config"] = config
    app.extensions["orderwatch.store"] = Store.open(app.config["DATABASE_URL"])

    from web import admin, api, auth, dashboard, review, rules_pages, silences, upload
    from web.i18n import translate
    from web.security import check_csrf, csrf_token, load_user

    app.before_request(load_user)
    app.before_request(check_csrf)
    for bp in (auth.bp, review.bp, dashboard.bp, rules_pages.bp, upload.bp, admin.bp, silences.bp, api.bp):
        app.register_blueprint(bp)

    @app.context_processor
    def inject() -> dict[str, Any]:
        lang = g.user.language if getattr(g, "user", None) else str(config.get("web.default_language", "zh"))
        return {
            "t": lambda key: translate(key, lang), "lang": lang, "user": getattr(g, "user", None),
            "csrf_token": csrf_token, "dept_name": lambda k: config.department_name(k, lang),
            "departments": list(config.departments),
        }

    from datetime import timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.timezone)

    @app.template_filter("local")
    def local(value):  # type: ignore[no-untyped-def]
        """Audit times are kept in UTC; people read them in the configured timezone."""
        if value is None:
            return ""
        return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    @app.after_request
    def headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; frame-ancestors 'none'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    def _error(code: int, key: str):  # type: ignore[no-untyped-def]
        def handler(exc):  # type: ignore[no-untyped-def]
            if request.path.startswith("/api/"):
                desc = getattr(exc, "description", "") or key
                return jsonify({"error": key, "message": str(desc)}), code
            if code == 400 and getattr(exc, "description", "") == "csrf":
                key2 = "csrf"
            else:
                key2 = key
            return render_template("error.html", code=code, key=key2,
                                   detail=getattr(exc, "description", "")), code
        return handler

    for code, key in ((400, "bad_request"), (403, "forbidden"), (404, "not_found"), (409, "conflict"),
                      (413, "too_large"), (429, "too_many")):
        app.register_error_handler(code, _error(code, key))

    # scheduled jobs in this process too (every gunicorn worker may: leases keep one runner per job)
    if config.get("jobs.in_serve", False) and not app.config.get("TESTING"):
        from jobs.scheduler import start_background
        app.extensions["orderwatch.scheduler"] = start_background(config, app.extensions["orderwatch.store"].engine)
    return app


def instance_path(app: Flask) -> Path:
    return Path(app.instance_path)
