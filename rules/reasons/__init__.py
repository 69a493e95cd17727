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
keys, named and joined), ``title`` (a rule title by language), or a key of
``i18n.vocabulary.FEATURE_VALUES`` (a named value).

Every reason is a sentence with its figures (``rules.reasons.sentence``): a part whose figures
may be missing is written ``[[ … ]]`` and left out without them; :func:`choose` never hands on
a template whose required figures are missing — it follows the module's ``FALLBACKS`` (template
key -> the key to try next) and, when none fits, says the rule's title about the order or the
store (``generic.*``), never a dash.  A flag whose cause explains other findings on the same
order (``rules.inhibit``) carries them in ``also``: each is rendered after the main sentence.
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

from i18n import N_, gettext_for
from i18n.formats import day, listing, number, percent
from i18n.vocabulary import FEATURE_VALUES, label
from rules.reasons import sentence

#: the figures of other findings a flag explains (rules.inhibit): [{"id":…, "args":…}, …]
ALSO = "also"
ALSO_TEMPLATE = N_("This also explains another finding on the order: {sentence}")

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


def by_title(row: dict[str, Any], title: dict[str, str] | None, detector: str | None = None) -> Reason:
    """The last resort: the rule's title (else the detector's kind name) said about the order
    (or the store), with its ids."""
    if not title and detector:
        from i18n.vocabulary import KINDS

        name = KINDS.get(detector)
        title = {lang: gettext_for(lang)(name) for lang in ("zh", "en")} if name else None
    args = {"title": title or {}, "order_id": row.get("order_id"), "store_id": row.get("store_id")}
    for key in ("order", "order_only", "store", "any"):
        if not sentence.lacking(template(f"generic.{key}") or "", args):
            return Reason(f"generic.{key}", {k: plain(v) for k, v in args.items()})
    return Reason("generic.any", {"title": title or {}})


def choose(detector: str, level: str, row: dict[str, Any], params: dict[str, Any],
           title: dict[str, str] | None = None) -> Reason | None:
    """The reason for one flag row (None when the detector has no reason module).

    The module picks the sentence; when a figure that sentence requires is missing, its
    ``FALLBACKS`` are tried in turn, and then :func:`by_title` with the rule's ``title``.
    """
    mod = _module(detector)
    if mod is None:
        return None
    key, args = mod.choose(row, level, params)
    return settle(detector, key, args, title, row)


def settle(detector: str, key: str | None, args: dict[str, Any], title: dict[str, str] | None = None,
           row: dict[str, Any] | None = None) -> Reason:
    """The first of ``key`` and its ``FALLBACKS`` whose required figures ``args`` has, else
    :func:`by_title` (every reason goes through here: no template is used without its figures)."""
    mod = _module(detector)
    args = {k: plain(v) if isinstance(v, (float, date)) else v for k, v in args.items()}
    fallbacks: dict[str, str] = getattr(mod, "FALLBACKS", {}) if mod else {}
    seen: set[str] = set()
    while mod is not None and key is not None and key not in seen and key in mod.TEMPLATES:
        seen.add(key)
        if not sentence.lacking(mod.TEMPLATES[key], args):
            return Reason(f"{detector}.{key}", args)
        key = fallbacks.get(key)
    return by_title(row if row is not None else args, title, detector)


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
        if spec == "title" and isinstance(value, dict):
            return str(value.get(lang) or value.get("zh") or next(iter(value.values()), ""))
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


@functools.lru_cache(maxsize=16)
def formatter(lang: str, markup: bool = False) -> _Formatter:
    """The figure formatter of ``lang`` (it holds no state of a sentence: one per language)."""
    return _Formatter(lang, markup)


def render(reason_id: str | None, args: dict[str, Any] | None, lang: str,
           rule_templates: dict[str, str] | None = None, markup: bool = False) -> Any:
    """The sentence in ``lang``; None when the id is unknown or its figures don't fit it
    (callers fall back to the stored text).

    ``rule_templates``: the rule's own YAML reason by language, for ``rule:`` ids.  ``markup``:
    HTML (a ``Markup``) with the identifiers in it marked ``translate="no"``, for pages.
    """
    if not reason_id:
        return None
    args = args or {}
    if reason_id.startswith(RULE_PREFIX):
        if not rule_templates:
            return None
        text = rule_templates.get(lang) or rule_templates.get("zh") or next(iter(rule_templates.values()))
        try:
            main = sentence.fill(str(escape(text)) if markup else text, args, _rule_field(markup))
        except sentence.Incomplete:
            return None
        fmt = formatter(lang, markup)
    else:
        msg = template(reason_id)
        if msg is None:
            return None
        fmt = formatter(lang, markup)
        marked = {k: _Id(v) if k in IDENTIFIERS and isinstance(v, str) else v for k, v in args.items()}
        text = fmt.gettext(msg)
        try:
            main = sentence.fill(str(escape(text)) if markup else text, marked, fmt.format_field)
        except sentence.Incomplete:
            return None
    out = ("" if lang == "zh" else " ").join([main, *_also(args.get(ALSO), lang, markup, fmt)])
    return Markup(out) if markup else out


def _rule_field(markup: bool):  # noqa: ANN202 - a field formatter
    def field(value: Any, spec: str) -> str:
        text = sentence.python_field(value, spec)
        return str(escape(text)) if markup else text
    return field


def _also(items: Any, lang: str, markup: bool, fmt: "_Formatter") -> list[str]:
    """The sentences of the findings this flag also explains (rules.inhibit)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        said = render(item.get("id"), item.get("args"), lang, item.get("templates"), markup)
        if said:
            lead = fmt.gettext(ALSO_TEMPLATE)
            out.append(lead.replace("{sentence}", str(said)))
    return out


def problems(reason_id: str | None, args: dict[str, Any] | None, lang: str,
             rule_templates: dict[str, str] | None = None) -> list[str]:
    """What is wrong with a reason as rendered in ``lang`` (empty: a proper sentence)."""
    text = render(reason_id, args, lang, rule_templates)
    if text is None:
        return ["not rendered: unknown template or a required figure missing"]
    ids = tuple(str(v) for k, v in (args or {}).items() if k in IDENTIFIERS and isinstance(v, str))
    ids += tuple(str(v) for item in (args or {}).get(ALSO) or [] if isinstance(item, dict)
                 for k, v in (item.get("args") or {}).items() if k in IDENTIFIERS and isinstance(v, str))
    return sentence.problems(text, ids)
