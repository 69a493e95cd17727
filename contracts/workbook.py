"""Workbooks orderwatch writes: text is always text, never a formula or a link.

Why: an order id ``=HYPERLINK("http://evil.example", "查看")`` or a store name ``=1+2`` read
from an export would otherwise become a live formula in the weekly and monthly workbooks that
are mailed out (formula injection).  xlsxwriter turns strings starting with ``=`` into formulas
and URL-like strings into links unless told not to; every workbook is opened through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def safe_workbook(target: str | Path | BinaryIO, **options: Any) -> xlsxwriter.Workbook:
    """An xlsxwriter Workbook (a path, or a buffer with ``in_memory=True``) that writes every
    string as a plain string; other xlsxwriter options pass through."""
    return xlsxwriter.Workbook(target if not isinstance(target, Path) else str(target), {**options, **SAFE_OPTIONS})
