"""One translation layer for everything people read: gettext catalogs (``i18n/translations``,
English message ids, a Chinese catalog) and babel's locale data for numbers, dates and lists.

Why its own package at the bottom of the imports: the web UI (through Flask-Babel), the reason
sentences written at scan time (rules) and the command line all need the same words, and none
of them may import the others.  ``translations(lang)`` is what Flask-Babel loads too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from babel.support import NullTranslations, Translations

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
DIRECTORY = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (translated where it is shown)."""
    return message


def normalise(lang: str | None) -> str:
    """``zh``/``en`` from anything a user or browser may say (``zh-CN``, ``en_US``, None)."""
    short = (lang or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of ``lang`` (English is the message ids themselves)."""
    lang = normalise(lang)
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(DIRECTORY), [lang], DOMAIN)


def gettext_for(lang: str) -> Callable[[str], str]:
    """``gettext`` bound to a language, for code that runs outside a request."""
    return translations(lang).gettext


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)
