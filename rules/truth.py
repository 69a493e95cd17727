"""Set-wise decisions: a rule's comparisons as polars columns, durable-rules asked once per
distinct combination of their truths.

Why: a level condition is a boolean formula over comparisons (``qty_ratio >= 8``,
``quantity >= 50`` — the *atoms*).  Which level fires for a row depends only on which atoms
hold for it, and a scan's rows fall into a handful of such truth assignments (at most
``2 ** atoms``, in practice a few dozen), while posting each row to the engine costs ~30 µs.
So polars evaluates every atom over all rows at once (the same compilation as the
pre-filter: a missing value makes a comparison false), the rows are grouped by their
assignment, durable-rules decides each distinct assignment — the rule's own levels and
priorities, compiled over the atoms instead of the raw values — and the level is joined back
to the rows.  ``tests/test_rules_truth.py`` checks that this equals posting every row.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from rules.condition import And, Compare, Field, Node, to_polars
from rules.model import Rule

#: the message field of atom ``i`` (1 = the comparison holds, 0 = it does not)
ATOM = "a{}"
GROUP = "_truth"


def atoms(rule: Rule) -> list[Compare]:
    """Every distinct comparison of the rule's levels, in first-seen order."""
    out: dict[Compare, None] = {}

    def walk(node: Node) -> None:
        if isinstance(node, Compare):
            out.setdefault(node)
        else:
            for n in node.items:
                walk(n)

    for node in rule.levels.values():
        walk(node)
    return list(out)


def over_atoms(node: Node, index: dict[Compare, int]) -> dict:
    """durable-rules' condition of ``node`` with each comparison read as its atom's truth."""
    if isinstance(node, Compare):
        return {ATOM.format(index[node]): 1}
    key = "$and" if isinstance(node, And) else "$or"
    return {key: [over_atoms(n, index) for n in node.items]}


def truth_columns(rule: Rule, present: Sequence[str]) -> list[pl.Expr]:
    """One Int8 column per atom (1 where it holds); an atom reading an absent field is 0."""
    cols = set(present)
    out = []
    for i, atom in enumerate(atoms(rule)):
        names = {o.name for o in (atom.left, atom.right) if isinstance(o, Field)}
        expr = to_polars(atom) if names <= cols else pl.lit(False)
        out.append(expr.cast(pl.Int8).alias(ATOM.format(i)))
    return out


def assignments(rule: Rule, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``_row`` -> ``_truth`` group, one row per distinct assignment with its ``_truth``)."""
    names = [ATOM.format(i) for i in range(len(atoms(rule)))]
    truth = df.select("_row", *truth_columns(rule, df.columns))
    distinct = truth.select(names).unique(maintain_order=True).with_row_index(GROUP)
    rows = truth.join(distinct, on=names, how="left", maintain_order="left").select("_row", pl.col(GROUP))
    return rows, distinct


__all__ = ["ATOM", "GROUP", "assignments", "atoms", "over_atoms", "truth_columns"]
