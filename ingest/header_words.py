"""A header read as words: English words (camelCase, snake_case, kebab-case split), digits,
``#`` and runs of Chinese characters, with where each ends, so the last role word can win.

Terms with a CJK character match as substrings; ASCII terms match whole words (a trailing
"s" or "es" allowed).  Specificity (how much a match says) is the term's length, Chinese
characters counting double.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .vocabulary import TRAD_MAP


@dataclass(frozen=True)
class Header:
    raw: str
    tokens: tuple[str, ...]
    joined: str
    ends: tuple[int, ...]       # char offset (in ``joined``) where each token ends


def _cjk(s: str) -> bool:
    return not s.isascii()


@lru_cache(maxsize=4096)
def analyse(raw: str, brackets: bool = False) -> Header:
    """Tokens of a header: English words (camelCase split), digits, ``#`` and CJK runs.

    Bracketed parts (units: ``单价(元)``) are left out unless ``brackets``: they say nothing
    of the field, but may tell two columns apart (``Grand Total (Base)``).
    """
    text = unicodedata.normalize("NFKC", str(raw)).replace("\ufeff", "").translate(TRAD_MAP)
    base = text if brackets else re.sub(r"[(\[（【<《][^)\]）】>》]*[)\]）】>》]", " ", text)
    if not re.search(r"\w", base):
        base = text
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", base)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced).lower()
    tokens = tuple(re.findall(r"[a-z]+|\d+|#|[^\x00-\x7f\s]+", spaced))
    ends, pos = [], 0
    for t in tokens:
        pos += len(t)
        ends.append(pos)
    return Header(raw, tokens, "".join(tokens), tuple(ends))


@lru_cache(maxsize=8192)
def _term_tokens(term: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z]+|\d+|#", term.lower()))


def find(h: Header, term: str) -> int | None:
    """End position of the last occurrence of ``term`` in the header, else None."""
    if _cjk(term):
        t = re.sub(r"[\s/]", "", term)
        i = h.joined.rfind(t)
        return None if i < 0 else i + len(t)
    want = _term_tokens(term)
    if not want:
        return None
    n = len(want)
    for i in range(len(h.tokens) - n, -1, -1):
        if all(h.tokens[i + k] in (w, w + "s", w + "es") for k, w in enumerate(want)):
            return h.ends[i + n - 1]
    return None


def specificity(term: str) -> float:
    return 2.0 * len(re.sub(r"[\s/]", "", term)) if _cjk(term) else float(len(term.replace(" ", "")))


def best_term(h: Header, terms: tuple[str, ...]) -> tuple[float, int | None]:
    best, pos = 0.0, None
    for t in terms:
        p = find(h, t)
        if p is not None and specificity(t) > best:
            best, pos = specificity(t), p
    return best, pos


def has_any(h: Header, terms: tuple[str, ...]) -> bool:
    return any(find(h, t) is not None for t in terms)


def count_terms(h: Header, terms: tuple[str, ...]) -> int:
    return sum(find(h, t) is not None for t in terms)


def bias(raw: str, prefer: tuple[str, ...], avoid: tuple[str, ...]) -> float:
    """+4 per preferred word (two at most), -8 for an avoided one; brackets count here."""
    full = analyse(raw, brackets=True)
    return 4.0 * min(2, count_terms(full, prefer)) - 8.0 * has_any(full, avoid)


