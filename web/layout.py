"""What every page's layout needs: the language, the user, the navigation (queues with their
active counts), the CSRF token, and for admins the banner while alerts are not set up."""

from __future__ import annotations

import logging
from typing import Any

from flask import g
from flask_babel import get_locale

from contracts.config import Config
from web.security import csrf_token

log = logging.getLogger("orderwatch.web")


def _alerts_off(config: Config) -> tuple[str, ...] | None:
    """The config keys to set, while alerts are not set up (None once they are)."""
    from alerts.settings import SETUP_KEYS, is_configured, load_settings

    try:
        return None if is_configured(load_settings(config)) else SETUP_KEYS
    except Exception:  # a bad alerts section: the jobs report it; the banner names the keys
        return SETUP_KEYS


def _queue_counts(user: Any) -> dict[str, int]:
    from web import context, queries

    try:
        return queries.queue_counts(context.engine(), user)
    except Exception:  # the layout must render even when the database is down (the 500 page)
        log.exception("queue counts")
        return {}


def layout_context(config: Config) -> dict[str, Any]:
    user = getattr(g, "user", None)
    lang = str(get_locale() or "zh")
    out: dict[str, Any] = {
        "lang": lang, "user": user, "csrf_token": csrf_token,
        "dept_name": lambda k: config.department_name(k, lang), "departments": list(config.departments),
        "alerts_setup_keys": None, "queue_counts": {},
    }
    if user is not None:
        out["queue_counts"] = _queue_counts(user)
        if user.role == "admin":
            out["alerts_setup_keys"] = _alerts_off(config)
    return out
