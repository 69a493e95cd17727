"""The polars pre-filter: keep only rows that can reach some level of a rule.

The engine costs ~30 µs per action; a vectorised filter costs nanoseconds per row.  A row can
fire a level only if that level's condition holds, so the OR of all levels' conditions keeps
every row the engine could flag — ``tests/test_rules_parity.py`` checks exactly that.
"""

from __future__ import annotations

import polars as pl

from rules.condition import to_polars
from rules.model import Rule


def reachable(rule: Rule) -> pl.Expr:
    """True where any level of ``rule`` holds."""
    exprs = [to_polars(node) for node in rule.levels.values()]
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def candidates(frame: pl.LazyFrame, rule: Rule) -> pl.LazyFrame:
    return frame.filter(reachable(rule))
