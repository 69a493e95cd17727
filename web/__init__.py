"""The review UI and API: a Flask app factory with one blueprint per area.

``create_app()`` reads config.yaml (like the CLI), opens the store (migrating it), and
registers: ``auth`` (login/logout), ``review`` (department queues, flag detail), ``actions``
(lifecycle, take next, bulk), ``saved`` (saved filters), ``export`` (the queue as a workbook),
``dashboard``, ``rules`` (rule pages, validate-and-reload), ``workbench`` (a rule's page: dry run,
suggestions, shadow rules), ``upload``, ``admin`` (users),
``silences`` and ``api`` (JSON, token auth, OpenAPI at /api/v1/openapi.json).  Every page speaks
the user's language (web/i18n.py); errors are pages in the site's layout (web/errors.py).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from contracts.config import Config, history_dir_for, load_config
from store import History, Store


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


def _open_store(url: str, config: Config) -> Store:
    """The store, with dead scans marked interrupted and their leftovers beside it settled."""
    from orderwatch.scan import lease_seconds
    from store.recovery import recover

    store = Store.open(url, scan_lease_seconds=lease_seconds(config))
    recover(store, History(history_dir_for(url, config)))
    return store


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
    app.extensions["orderwatch.store"] = _open_store(app.config["DATABASE_URL"], config)

    from web import (actions, admin, api, auth, dashboard, errors, export, review, rules_pages, saved, silences, upload,
                     workbench)
    from web.i18n import init_app as init_i18n
    from web.params import Int64Converter, bound_streamed_body, check_nul_bytes
    from web.security import check_csrf, load_user

    app.url_map.converters["int"] = Int64Converter   # before any route: ids past 64 bits are a 400
    app.before_request(bound_streamed_body)   # first: before anything reads the body
    app.before_request(check_nul_bytes)
    init_i18n(app)
    app.before_request(load_user)
    app.before_request(check_csrf)
    for bp in (auth.bp, review.bp, actions.bp, saved.bp, export.bp, dashboard.bp, rules_pages.bp, workbench.bp,
               upload.bp, admin.bp, silences.bp, api.bp):
        app.register_blueprint(bp)
    errors.register(app)

    @app.context_processor
    def inject() -> dict[str, Any]:
        from web.layout import layout_context
        return layout_context(config)

    @app.after_request
    def headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; frame-ancestors 'none'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    # scheduled jobs in this process too (every gunicorn worker may: leases keep one runner per job)
    if config.get("jobs.in_serve", False) and not app.config.get("TESTING"):
        from jobs.scheduler import start_background
        app.extensions["orderwatch.scheduler"] = start_background(config, app.extensions["orderwatch.store"].engine)
    return app


def instance_path(app: Flask) -> Path:
    return Path(app.instance_path)
