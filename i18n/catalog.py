"""Keep the catalogs in step with the code: ``python -m i18n.catalog update`` extracts every
message (templates, web/, i18n/, rules/reasons/) into the Chinese catalog, keeping translations;
``compile`` writes the .mo that the app loads; ``check`` lists what is untranslated or stale
(tests/test_i18n_catalog.py runs it, so a new message can't ship without its translation).

The compiled .mo files are committed, so a fresh clone works without a build step.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from i18n import DIRECTORY, DOMAIN

ROOT = Path(__file__).resolve().parents[1]
METHODS = [
    ("web/templates/**.html", "jinja2.ext:babel_extract"),
    ("web/**.py", "python"),
    ("i18n/**.py", "python"),
    ("rules/reasons/**.py", "python"),
]
OPTIONS = {"web/templates/**.html": {"newstyle_gettext": "true"}}
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_l": None, "said": None}
TRANSLATED = ("zh",)


def po_path(lang: str) -> Path:
    return DIRECTORY / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message id the code and templates use (English), with where they are used."""
    template = Catalog(project="orderwatch", charset="utf-8")
    for path, lineno, message, comments, context in extract_from_dir(
            str(ROOT), METHODS, OPTIONS, KEYWORDS, comment_tags=("TRANSLATORS:",)):
        if path.startswith(("i18n/catalog.py",)):
            continue
        template.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return template


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def update(lang: str) -> Catalog:
    """Merge the extracted messages into ``lang``'s catalog (new ones empty, gone ones dropped)."""
    path = po_path(lang)
    if path.exists():
        catalog = read(lang)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=lang, project="orderwatch", charset="utf-8")
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    with path.open("wb") as fh:
        write_po(fh, catalog, width=110, sort_output=False, omit_header=False)
    return catalog


def compiled(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def compile_all() -> None:
    for lang in TRANSLATED:
        po_path(lang).with_suffix(".mo").write_bytes(compiled(read(lang)))


def check() -> list[str]:
    """What is missing: untranslated or unknown messages, a .mo that doesn't match its .po."""
    problems: list[str] = []
    used = {m.id for m in extract() if m.id}
    for lang in TRANSLATED:
        catalog = read(lang)
        have = {m.id: m for m in catalog if m.id}
        for mid in sorted(used - set(have)):
            problems.append(f"{lang}: not in the catalog (run python -m i18n.catalog update): {mid!r}")
        for mid in sorted(used & set(have)):
            m = have[mid]
            if not m.string or m.fuzzy:
                problems.append(f"{lang}: not translated: {mid!r}")
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists():
            problems.append(f"{lang}: {mo.name} missing (run python -m i18n.catalog compile)")
        else:
            with mo.open("rb") as fh:
                loaded = {m.id: m.string for m in read_mo(fh) if m.id}
            wanted = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
            if loaded != wanted:
                problems.append(f"{lang}: {mo.name} is out of date (run python -m i18n.catalog compile)")
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        for lang in TRANSLATED:
            update(lang)
        return 0
    if command == "compile":
        compile_all()
        return 0
    problems = check()
    print("\n".join(problems) or "catalogs complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
