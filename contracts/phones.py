"""What a deliverable contact phone looks like, shared by the reader (which of two phone columns
is the contact) and ``detectors.missing_address`` (whether the contact is valid).

Mainland numbers: an 11-digit mobile (1[3-9]…, a +86 / 0086 prefix allowed) or a landline
with its area code (0 + 2-3 digits, then a 7-8 digit number: 010-12345678, 0571 8888 6666,
(0791)27139595), with or without an extension (转 123, ext. 12, -123, #12); 400 / 800
service numbers.  Spaces, dashes and brackets are how people write them, not part of them.
"""

from __future__ import annotations

import polars as pl

MOBILE = r"^1[3-9]\d{9}$"
#: area code + number (no extension), as digits only
LANDLINE = r"^0\d{2,3}\d{7,8}$|^(400|800)\d{7}$"
#: an extension after the number: 转123, ext.12, x12, #12, or a trailing -123 / " 123" group
_EXTENSION = r"(\s*(转|分机|ext\.?|x|#)\s*\d{1,6}|[-\s]\d{1,5})$"
_LANDLINE_WRITTEN = r"^[(（]?0\d{2,3}[)）]?[-\s]?\d{3,4}[-\s]?\d{4}$|^(400|800)[-\s]?\d{3}[-\s]?\d{4}$"


def phone_digits(col: str | pl.Expr = "phone") -> pl.Expr:
    """The phone without spaces, dashes, brackets, a +86/0086 prefix and an extension."""
    e = pl.col(col) if isinstance(col, str) else col
    text = e.str.strip_chars().str.replace(r"^(\+86|0086)[-\s]?", "")
    # a written landline with a trailing extension group (0571-88886666-123): drop the extension
    base = pl.when(text.str.replace(_EXTENSION, "").str.contains(_LANDLINE_WRITTEN)) \
        .then(text.str.replace(_EXTENSION, "")).otherwise(text)
    return base.str.replace(r"(转|分机|ext\.?|#)\s*\d+$", "").str.replace_all(r"[\s\-()（）]", "")


def valid_phone(col: str | pl.Expr = "phone") -> pl.Expr:
    """True for a mainland mobile or landline (see the module docstring); null for null."""
    d = phone_digits(col)
    return d.str.contains(MOBILE) | d.str.contains(LANDLINE)


def contact_phone(first: pl.Expr, second: pl.Expr) -> pl.Expr:
    """The contact of two phone columns (手机 beside 固话): the first when it is a valid number,
    else the second when it is, else whichever is not blank (an invalid number stays invalid)."""
    blank = lambda e: e.is_null() | (e.str.strip_chars() == "")  # noqa: E731
    return (pl.when(valid_phone(first).fill_null(False)).then(first)
            .when(valid_phone(second).fill_null(False)).then(second)
            .when(~blank(first)).then(first)
            .otherwise(second))
