"""Where the tests find real data: ``../shared`` beside the checkout (developers' machines and
CI) or the small slice kept in ``tests/data`` (everywhere, a fresh clone included).

``shared(path)`` returns a file under ``../shared`` or skips the calling test with a reason that
says what is missing and what still covers the behaviour, so a bare clone runs green.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
ONLINE_RETAIL_SLICE = DATA / "online_retail_slice.csv"


def shared(relative: str) -> Path:
    """``../shared/<relative>``, or skip: the file is not beside this clone."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/{relative}, which is not beside this clone "
                    f"(a fresh clone has no ../shared; tests/data/ covers the same behaviour on a slice)")
    return path
