"""How a reason template becomes a sentence, and what a sentence may never contain.

Why here, once: every reason of every rule (the detectors' templates, a rule's own YAML
``reason:``, a detector's plain default) goes through :func:`fill`, so "never an empty part,
never a dash for a missing value" holds by construction, not by each template's care.

A template is text with ``{figure}`` placeholders.  A part that holds only when its figures
are known is written inside ``[[ … ]]``: the part is left out, brackets and all, when any of
its figures is missing (None, NaN, an empty text or list).  A missing figure outside such a
part makes the template unusable for that flag (:class:`Incomplete`): the caller picks a
template that fits the figures it has (``rules.reasons.choose``).  :func:`problems` names what
a rendered sentence must never hold; the tests run it over every reason of every shipped rule
in both languages.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Iterator
from typing import Any

_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)
_SPACES = re.compile(r"(?<=\S) {2,}")


class Incomplete(ValueError):
    """A figure a template needs is missing."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("missing figure(s): " + ", ".join(names))
        self.names = names


def missing(value: Any) -> bool:
    """No value to print: None, NaN or infinite, an empty text, an empty list."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, dict)):
        return len(value) == 0
    return False


def parts(template: str) -> Iterator[tuple[bool, str]]:
    """(optional, text) pieces of a template, in order."""
    yield from _parts(template)


# templates are few and rendered for every flag of a scan: each is parsed once
@functools.lru_cache(maxsize=4096)
def _parts(template: str) -> tuple[tuple[bool, str], ...]:
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _OPTIONAL.finditer(template):
        if m.start() > pos:
            out.append((False, template[pos:m.start()]))
        out.append((True, m.group(1)))
        pos = m.end()
    if pos < len(template):
        out.append((False, template[pos:]))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def pieces(text: str) -> tuple[tuple[str, str | None, str], ...]:
    """``string.Formatter().parse`` of one part: (literal, field name, spec) triples."""
    return tuple((lit, name, spec or "") for lit, name, spec, _ in string.Formatter().parse(text))


def names(template: str, *, optional: bool | None = None) -> list[str]:
    """The figures a template reads (``optional``: only those inside / outside ``[[ ]]``)."""
    return list(_names(template, optional))


@functools.lru_cache(maxsize=4096)
def _names(template: str, optional: bool | None) -> tuple[str, ...]:
    out: list[str] = []
    for opt, text in _parts(template):
        if optional is None or opt == optional:
            out += [re.split(r"[.\[]", n, maxsplit=1)[0] for _, n, _ in pieces(text) if n]
    return tuple(dict.fromkeys(out))


def required(template: str) -> list[str]:
    """The figures outside every optional part: without them the template cannot be used."""
    return list(_names(template, False))


def lacking(template: str, args: dict[str, Any]) -> list[str]:
    """The required figures ``args`` does not have."""
    return [n for n in _names(template, False) if missing(args.get(n))]


def _fill(text: str, args: dict[str, Any], field: Callable[[Any, str], str]) -> str:
    out = []
    for lit, name, spec in pieces(text):
        out.append(lit)
        if name is None:
            continue
        value = args.get(name)
        if missing(value):
            raise Incomplete([name])
        out.append(field(value, spec))
    return "".join(out)


def fill(template: str, args: dict[str, Any], field: Callable[[Any, str], str]) -> str:
    """The sentence: optional parts without all their figures left out; raises
    :class:`Incomplete` when a required figure is missing."""
    short = lacking(template, args)
    if short:
        raise Incomplete(short)
    out = []
    for optional, text in _parts(template):
        try:
            out.append(_fill(text, args, field))
        except Incomplete:
            if not optional:
                raise
    return _SPACES.sub(" ", "".join(out)).strip()


def python_field(value: Any, spec: str) -> str:
    """A figure by a Python format spec (a rule author's own template), plainly when it doesn't fit."""
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


#: what a sentence shown to a person never holds
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a dash for a missing value", re.compile(
        r"[—–-](?=\s*(?:$|[)）.,，。;；、:：]))|[(（:：]\s*[—–]"
        r"|\b(?:of|is|at|by|to|was|the|and|from|than|for|in|on|only)\s+[—–]|[的为是约共了在和比]\s*[—–]")),
    ("a raw 0/1 or a comparison", re.compile(r"={1,2}\s*-?\d|[<>]=|!=")),
    ("a missing value written out", re.compile(r"\b(?:None|nan|NaN|null|inf)\b")),
    ("an empty part", re.compile(r"\(\s*\)|（\s*）|“\s*”|\"\s*\"|「\s*」|\[\s*\]")),
    ("an empty list item", re.compile(r"[,，、;；]\s*[,，、;；.。)）]|\(\s*[,，、]|（\s*[,，、]")),
    ("a placeholder left in", re.compile(r"\{[A-Za-z_][\w:.]*\}|\[\[|\]\]")),
    ("an internal key", re.compile(r"(?<![\w/.-])[a-z]+_[a-z_]+(?![\w/.-])")),
)


def problems(text: str, identifiers: tuple[str, ...] = ()) -> list[str]:
    """Why ``text`` is not a sentence a reviewer can read (empty: it is).

    ``identifiers``: values from the data printed in it (order ids, SKUs, phones); they are
    taken out before the checks, since a SKU may well read ``A-1`` or ``x_y``.
    """
    body = text
    for ident in sorted((i for i in identifiers if i), key=len, reverse=True):
        body = body.replace(ident, "ID")
    out = [why for why, pattern in _RULES if pattern.search(body)]
    if not body.strip():
        out.append("no text")
    elif not re.search(r"[.。!！?？]$", body.strip()):
        out.append("does not end as a sentence")
    return out
