"""A flag's evidence as a reviewer reads it: each level's condition as named comparisons with
the actual values (held or not), and the feature values by name beside the levels that read them.

Rule conditions stay visible as written (they are code, shown as code); everything around them
is in the reader's language.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from i18n import formats as fmt
from i18n import gettext_for
from i18n.vocabulary import YES_NO_FEATURES, feature_value, label
from rules.condition import And, Compare, Field, Or
from rules.reasons import IDENTIFIERS
from rules.model import LEVEL_ORDER

SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


def _shown(name: str | None, value: Any, lang: str) -> str:
    if value is None:
        return _("no value")
    v = feature_value(name or "", value, lang)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return fmt.number(round(v, 2) if abs(v) < 100 else round(v), lang)
    return str(v)


def _holds(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    try:
        return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "==": a == b, "!=": a != b}[op]
    except TypeError:
        return False


def _tokens(node: Any, values: dict[str, Any], lang: str, top: bool = True) -> list[dict[str, Any]]:
    """Flat tokens: comparisons, connectors ("and"/"or") and parentheses for nested groups."""
    gt = gettext_for(lang)
    if isinstance(node, Compare):
        name = node.left.name if isinstance(node.left, Field) else None
        left = values.get(name) if name else None
        if isinstance(node.right, Field):
            right, target = values.get(node.right.name), label("feature", node.right.name, gt)
        else:
            right, target = node.right.value, _shown(name, node.right.value, lang)
        token = {"t": "cmp", "feature": label("feature", name, gt) if name else "", "value": _shown(name, left, lang),
                 "op": SYMBOLS[node.op], "target": target, "holds": _holds(node.op, left, right), "yesno": False}
        if name in YES_NO_FEATURES and node.op in ("==", "!=") and node.right.__class__.__name__ == "Literal":
            wanted = node.right.value if node.op == "==" else 1 - int(node.right.value)
            token.update(yesno=True, target=_shown(name, wanted, lang))   # "above the limit: yes"
        return [token]
    word = _("and") if isinstance(node, And) else _("or")
    out: list[dict[str, Any]] = [] if top else [{"t": "open"}]
    for i, item in enumerate(node.items):
        if i:
            out.append({"t": "word", "text": word})
        out.extend(_tokens(item, values, lang, top=False))
    return out if top else out + [{"t": "close"}]


def explain_levels(rule: Any, values: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per level, severest first: the condition as written, its tokens, whether it holds."""
    if rule is None:
        return []
    out = []
    for level in sorted(rule.levels, key=lambda lv: -LEVEL_ORDER[lv]):
        node = rule.levels[level]
        if not isinstance(node, (And, Or, Compare)):
            continue
        holds = _eval(node, values)
        out.append({"level": level, "text": rule.level_text[level], "tokens": _tokens(node, values, lang),
                    "holds": holds})
    return out


def _eval(node: Any, values: dict[str, Any]) -> bool:
    """Whether a condition holds for these values (a missing value makes a comparison false)."""
    if isinstance(node, Compare):
        left = values.get(node.left.name) if isinstance(node.left, Field) else None
        right = values.get(node.right.name) if isinstance(node.right, Field) else node.right.value
        return bool(_holds(node.op, left, right))
    results = [_eval(item, values) for item in node.items]
    return all(results) if isinstance(node, And) else any(results)


def feature_rows(rule: Any, values: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Each feature: its name, its value as read, and the levels whose condition reads it."""
    gt = gettext_for(lang)
    rows = []
    for name, value in values.items():
        levels = [lv for lv, text in (rule.level_text.items() if rule else []) if name in _fields(rule, lv)]
        rows.append({"key": name, "name": label("feature", name, gt), "value": _shown(name, value, lang),
                     "levels": levels, "data": name in IDENTIFIERS})
    return rows


def _fields(rule: Any, level: str) -> set[str]:
    from rules.condition import fields

    return fields(rule.levels[level])
