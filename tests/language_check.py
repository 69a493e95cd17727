"""What a page says to a person, for the language tests: the visible text and the attributes
people read (placeholder, title, aria-label, alt), without what is data or code.

Data and identifiers are marked on the page itself: ``translate="no"`` (order ids, store names,
product names, notes, file contents) and ``<code>`` (rule conditions, config keys).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
#: words that stay as they are in Chinese: names of formats, products and units
LATIN_OK = {"CSV", "Excel", "JSON", "YAML", "Parquet", "xlsx", "UTF", "GBK", "GB", "MD", "SKU", "orderwatch",
            "Jaccard", "MAD", "KB", "MB"}
LATIN_PHRASES = ("JSON lines", "JSON Lines")
DOTTED = re.compile(r"\b[\w-]+(?:\.[\w-]+)+\b")              # config keys and file names: identifiers
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")      # internal keys such as volume_surge
WORD = re.compile(r"[A-Za-z]{2,}")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP_TAGS = {"script", "style", "code", "textarea", "pre"}
READ_ATTRS = ("placeholder", "title", "aria-label", "alt")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []   # open elements: (tag, hidden from the check?)
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(h for _, h in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        hide = tag in SKIP_TAGS or a.get("translate") == "no"
        if not self._hidden() and not hide:
            self.parts.extend(str(a[k]) for k in READ_ATTRS if a.get(k))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.parts.append(str(a["value"]))
        if tag not in VOID:
            self.stack.append((tag, hide))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        """Close up to the matching element (unclosed <option>, <li> and the like close with it)."""
        if any(t == tag for t, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


def readable_text(html: str) -> list[str]:
    r = _Reader()
    r.feed(html)
    return r.parts


def problems(html: str, lang: str) -> list[str]:
    """Strings in the other language, and internal keys, outside data and code."""
    out = []
    for text in readable_text(html):
        plain = DOTTED.sub(" ", text)
        for key in SNAKE.findall(plain):
            out.append(f"internal key {key!r} in {text!r}")
        if lang == "en":
            if CJK.search(plain):
                out.append(f"Chinese in an English page: {text!r}")
        else:
            rest = plain
            for phrase in LATIN_PHRASES:
                rest = rest.replace(phrase, " ")
            words = [w for w in WORD.findall(rest) if w not in LATIN_OK]
            if words:
                out.append(f"English in a Chinese page: {words} in {text!r}")
    return out
