"""Reasons as data: which sentence explains a flag (a template id) and the figures it needs.

Why data and not text: the same flag is read in Chinese and in English, so the store keeps
``reason_id`` + ``reason_args`` and each reader's language renders them (the stored ``reason``
text, in the default language, stays for files, mails and flags stored before this existed).

One module per detector (``rules/reasons/<detector>.py``) holds its templates — English message
ids, translated through the gettext catalog — and ``choose(row, level, params)``, which picks
the sentence for the flag's figures and level.  A rule with its own ``reason:`` in YAML keeps it
(template id ``rule:<rule id>``).

Placeholders take a format name instead of a Python spec, so every figure is written the
reader's way: ``int``, ``num`` (default), ``ratio``, ``money``, ``hours``, ``pct`` (a value in
percent), ``share`` (a fraction as percent), ``day`` (a date), ``fields`` and ``kinds`` (lists of
keys, named and joined), or a key of ``i18n.vocabulary.FEATURE_VALUES`` (a named value).
"""

from __future__ import annotations

import functools
import importlib
import math
import string
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any

from markupsafe import Markup, escape

from i18n import gettext_for
from i18n.formats import day, listing, number, percent
from i18n.vocabulary import FEATURE_VALUES, label

RULE_PREFIX = "rule:"
#: figures that are identifiers from the data: a page marks them as such (translate="no")
IDENTIFIERS = frozenset({"order_id", "store_id", "sku", "cancelled_order_id", "previous_order_id", "phone"})


class _Id(str):
    """An identifier figure (kept as written, marked on a page)."""


@dataclass(frozen=True)
class Reason:
    id: str                     # "<detector>.<template key>" or "rule:<rule id>"
    args: dict[str, Any]        # JSON-able figures and keys


@functools.cache
def _module(detector: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"rules.reasons.{detector}")
    except ModuleNotFoundError:
        return None


def templates(detector: str) -> dict[str, str]:
    """A detector's templates by full id (empty when it has no module)."""
    mod = _module(detector)
    return {f"{detector}.{k}": v for k, v in (mod.TEMPLATES if mod else {}).items()}


def template(reason_id: str) -> str | None:
    detector, _, key = reason_id.partition(".")
    mod = _module(detector)
    return mod.TEMPLATES.get(key) if mod else None


def plain(value: Any) -> Any:
    """A JSON-able figure: NaN/inf → None, datetimes → ISO text."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def choose(detector: str, level: str, row: dict[str, Any], params: dict[str, Any]) -> Reason | None:
    """The reason for one flag row (None when the detector has no reason module)."""
    mod = _module(detector)
    if mod is None:
        return None
    key, args = mod.choose(row, level, params)
    return Reason(f"{detector}.{key}", {k: plain(v) for k, v in args.items()})


def near_power_of_ten(ratio: float | None, tolerance: float = 0.15) -> bool:
    """10×, 100×, 1000× the usual within ±15 %: the shape of an extra zero (or two) typed."""
    if ratio is None or not ratio > 0 or math.isnan(ratio) or math.isinf(ratio):
        return False
    k = round(math.log10(ratio))
    return k >= 1 and abs(ratio / 10 ** k - 1) <= tolerance


class _Formatter(string.Formatter):
    def __init__(self, lang: str, markup: bool = False) -> None:
        self.lang = lang
        self.gettext = gettext_for(lang)
        self.markup = markup

    def format_field(self, value: Any, spec: str) -> str:
        text = self._field(value, spec)
        if not self.markup:
            return text
        if isinstance(value, _Id):
            return str(Markup('<span translate="no" class="id">{}</span>').format(text))
        return str(escape(text))

    def _field(self, value: Any, spec: str) -> str:
        lang = self.lang
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if spec in FEATURE_VALUES:
            msg = FEATURE_VALUES[spec].get(str(value))
            return self.gettext(msg) if msg else str(value)
        if spec in ("fields", "kinds"):
            items = value if isinstance(value, list) else [value]
            return listing([label(spec[:-1], str(i), self.gettext) for i in items], lang)
        if spec == "day":
            return day(value, lang)
        if isinstance(value, str) or not isinstance(value, (int, float)):
            return str(value)
        if spec == "int":
            return number(round(value), lang)
        if spec == "ratio":
            return number(value, lang, 0 if abs(value) >= 100 else 1)
        if spec == "money":
            return number(value, lang, 2)
        if spec == "hours":
            return number(value, lang, 1)
        if spec == "pct":
            return percent(value, lang, 0 if abs(value) >= 100 else 1)
        if spec == "share":
            return percent(value, lang, 0, fraction=True)
        return number(value, lang)


def render(reason_id: str | None, args: dict[str, Any] | None, lang: str,
           rule_templates: dict[str, str] | None = None, markup: bool = False) -> Any:
    """The sentence in ``lang``; None when the id is unknown (callers fall back to the stored text).

    ``rule_templates``: the rule's own YAML reason by language, for ``rule:`` ids.  ``markup``:
    HTML (a ``Markup``) with the identifiers in it marked ``translate="no"``, for pages.
    """
    if not reason_id:
        return None
    args = args or {}
    if reason_id.startswith(RULE_PREFIX):
        from rules.flags import render_reason

        if not rule_templates:
            return None
        text = rule_templates.get(lang) or rule_templates.get("zh") or next(iter(rule_templates.values()))
        return render_reason(text, args)
    msg = template(reason_id)
    if msg is None:
        return None
    fmt = _Formatter(lang, markup)
    args = {k: _Id(v) if k in IDENTIFIERS and isinstance(v, str) else v for k, v in args.items()}
    text = fmt.gettext(msg)
    if markup:
        text = str(escape(text))
    try:
        out = fmt.format(text, **args)
    except (KeyError, IndexError, ValueError):   # a template and its figures out of step: say so plainly
        out = fmt.format(text, **{**{k: None for k in _names(msg)}, **args})
    return Markup(out) if markup else out


def _names(msg: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(msg) if name]
