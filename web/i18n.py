"""The UI's language: Flask-Babel over the catalogs in ``i18n/translations``, the user's
language (or ``web.default_language`` before login), and the template helpers that name keys,
render reasons and write numbers and dates the reader's way.

Why helpers and not ``_()`` alone: most of what a page shows is data with keys (kinds, statuses,
features); ``label()`` names them through the same catalog, and a reason is rendered from its
template id and figures in the reader's language (rules/reasons).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_babel import Babel, get_locale, gettext
from markupsafe import Markup

from i18n import DIRECTORY, normalise
from i18n import formats as fmt
from i18n.vocabulary import feature_value, label
from rules import reasons


def current_language() -> str:
    user = getattr(g, "user", None)
    if user is not None:
        return normalise(user.language)
    return normalise(str(current_app.extensions["orderwatch.config"].get("web.default_language", "zh")))


def init_app(app: Flask) -> None:
    """Flask-Babel with our catalogs and locale, and the helpers every template may use."""
    config = app.extensions["orderwatch.config"]
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(DIRECTORY))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", normalise(str(config.get("web.default_language", "zh"))))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", config.timezone)
    Babel(app, locale_selector=current_language)
    zone = ZoneInfo(config.timezone)

    def lang() -> str:
        return str(get_locale() or "zh")

    def local(value: datetime | None, seconds: bool = False) -> str:
        """An audit time (naive UTC) as the configured zone's wall clock, in the reader's form."""
        if value is None:
            return ""
        return fmt.moment(value.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None), lang(), seconds)

    def reason_of(flag: dict[str, Any], rule: Any = None) -> str:
        """The flag's reason in the reader's language; the stored text for flags without data."""
        args = flag.get("reason_args")
        if isinstance(args, str):
            args = json.loads(args)
        text = reasons.render(flag.get("reason_id"), args, lang(), rule.reason if rule is not None else None,
                              markup=True)
        return text if text is not None else (flag.get("reason") or "")

    def value_of(name: str, value: Any) -> Any:
        shown = feature_value(name, value, lang())
        return fmt.number(shown, lang()) if isinstance(shown, (int, float)) and not isinstance(shown, bool) else shown

    app.jinja_env.globals.update(
        label=lambda group, key: label(group, key, gettext),
        num=lambda v, decimals=None: fmt.number(v, lang(), decimals),
        pct=lambda v, decimals=1: fmt.percent(v, lang(), decimals, fraction=True),
        when=lambda v, seconds=False: fmt.moment(v, lang(), seconds),
        when_short=lambda v: f"{fmt.short_day(v, lang())} {v:%H:%M}" if v else "",
        day=lambda v: fmt.day(v, lang()),
        local=local, reason_of=reason_of, value_of=value_of,
        listing=lambda items: fmt.listing(items, lang()),
        duration_of=lambda minutes: fmt.duration(timedelta(minutes=minutes), lang()),
        age=lambda td: fmt.duration(td, lang()),
        calendar=lambda: calendar_words(lang()),
    )
    app.jinja_env.filters["local"] = local


def data(value: Any) -> Markup:
    """A value from the data or typed by a user, inside a sentence: shown as written."""
    return Markup('<span translate="no">{}</span>').format(value)


def said(message: str, **values: Any) -> Markup:
    """``gettext`` for a sentence with values in it: the values escaped (and those made with
    :func:`data` marked as data), the result safe to put on a page."""
    return Markup(gettext(message)) % values


def calendar_words(lang: str) -> dict[str, Any]:
    """Month and weekday names (Monday first) for the date picker in app.js, from babel."""
    from babel.dates import get_day_names, get_month_names

    months = get_month_names("wide" if lang == "en" else "abbreviated", locale=lang)
    days = get_day_names("short" if lang == "en" else "narrow", locale=lang)
    return {"months": [months[i] for i in range(1, 13)], "weekdays": [days[i] for i in range(7)],
            "title": "{month} {year}" if lang == "en" else "{year}年{month}", "today": gettext("Today"),
            "clear": gettext("Clear")}


def date_from_input(text: str | None) -> date | None:
    """A date typed the reader's way: ``2026-09-01``, ``2026/9/1`` or ``2026年9月1日``."""
    import re

    if not text or not text.strip():
        return None
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*", text)
    if not m:
        raise ValueError(text)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
