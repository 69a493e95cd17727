"""Numbers, percentages, money, dates and lists in the reader's locale (babel's CLDR data).

Why not babel's ``format_decimal`` per value: reasons are rendered for every flag of a scan; the
locale's symbols are looked up once and Python's formatting does the rest (same output).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list

from i18n import normalise


@functools.cache
def _symbols(lang: str) -> tuple[str, str]:
    syms = Locale.parse(normalise(lang)).number_symbols["latn"]
    return syms["decimal"], syms["group"]


def _localise(text: str, lang: str) -> str:
    dec, group = _symbols(lang)
    if (dec, group) == (".", ","):
        return text
    return text.replace(",", "\0").replace(".", dec).replace("\0", group)


def number(value: float | int | None, lang: str, decimals: int | None = None, signed: bool = False) -> str:
    """``1,234.5``; whole numbers without decimals unless ``decimals`` is given; None → "—"."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    sign = "+" if signed else ""
    if decimals is None:
        if float(value).is_integer():
            text = f"{int(value):{sign},d}"
        else:
            text = f"{value:{sign},.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:{sign},.{decimals}f}"
    return _localise(text, lang)


def percent(value: float | None, lang: str, decimals: int = 1, *, fraction: bool = False) -> str:
    """``25.6%`` from 25.6 (or from 0.256 with ``fraction=True``)."""
    if value is None:
        return "—"
    return number(value * 100 if fraction else value, lang, decimals) + "%"


def day(value: date | datetime | str | None, lang: str) -> str:
    """``2026年9月1日`` / ``Sep 1, 2026``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _day(value.date() if isinstance(value, datetime) else value, normalise(lang))


@functools.lru_cache(maxsize=8192)
def _day(value: date, lang: str) -> str:
    # the days of a scan are few and its reasons many: babel's pattern work is done once a day
    return format_skeleton("yMMMd", value, locale=lang)


def short_day(value: date | datetime, lang: str) -> str:
    """``9月1日`` / ``Sep 1`` (chart axes)."""
    return format_skeleton("MMMd", value, locale=normalise(lang))


def moment(value: datetime | str | None, lang: str, seconds: bool = False) -> str:
    """``2026年9月1日 13:05`` / ``Sep 1, 2026 13:05`` (a 24-hour clock in both)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    clock = f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"
    return f"{day(value, lang)} {clock}"


def listing(items: Iterable[str], lang: str) -> str:
    """``省、市和区县`` / ``province, city, and district``."""
    items = [str(i) for i in items if i]
    return format_list(items, locale=normalise(lang)) if items else ""


def duration(value: timedelta, lang: str) -> str:
    """``1小时20分钟`` / ``1 hr, 20 min``: minutes, hours and minutes, or days past 48 hours."""
    from babel.units import format_unit

    loc = normalise(lang)
    minutes = max(1, int(abs(value.total_seconds()) // 60))

    def unit(n: int, name: str) -> str:
        return format_unit(n, f"duration-{name}", length="short", locale=loc)

    if minutes < 60:
        return unit(minutes, "minute")
    if minutes >= 48 * 60:
        return unit(minutes // 1440, "day")
    hours, rest = divmod(minutes, 60)
    parts = [unit(hours, "hour")] + ([unit(rest, "minute")] if rest else [])
    return ("" if loc == "zh" else " ").join(parts)
