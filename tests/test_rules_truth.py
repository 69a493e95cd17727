"""Set-wise decisions (rules/truth.py) equal posting every row to durable-rules.

Property-based: random rules (random levels, each a random and/or/not tree of comparisons of
numeric and text fields with constants or with each other) and random frames (missing values,
the thresholds and their neighbours, extreme floats) are decided both ways by the same engine;
the level of every row must agree.
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.condition import And, Compare, Field, Literal, Or, negate
from rules.engine import RuleEngine
from rules.model import Rule
from rules.truth import assignments, atoms

NUMS = ("x", "y", "z")
TEXTS = ("s",)
OPS = (">=", ">", "<=", "<", "==", "!=")
CONSTS = (0, 1, 5, 2.5, -3, 100, 0.001)


def _compare():
    numeric = st.builds(Compare, st.sampled_from(NUMS).map(Field), st.sampled_from(OPS),
                        st.one_of(st.sampled_from(CONSTS).map(Literal), st.sampled_from(NUMS).map(Field)))
    text = st.builds(Compare, st.just(Field("s")), st.sampled_from(("==", "!=")),
                     st.sampled_from(("a", "b")).map(Literal))
    return st.one_of(numeric, numeric, text)


def _node():
    return st.recursive(_compare(), lambda kids: st.one_of(
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        kids.map(negate)), max_leaves=6)


@st.composite
def _rule(draw, n: int = 0) -> Rule:
    names = draw(st.lists(st.sampled_from(("info", "warn", "critical")), min_size=1, max_size=3, unique=True))
    levels = {lvl: draw(_node()) for lvl in names}
    return Rule(id=f"r{n}", title={"zh": "r"}, detector="volume_surge", params={}, levels=levels,
                level_text={k: str(v) for k, v in levels.items()}, department="operations",
                notify_store=False, enabled=True, reason={})


def _value():
    edges = [c + d for c in CONSTS for d in (0, -1, 1, 1e-9)]
    return st.one_of(st.none(), st.sampled_from(edges), st.integers(-5, 200).map(float),
                     st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6))


def _frame(rows: list[dict]) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema={**{f: pl.Float64 for f in NUMS}, "s": pl.String})
    # NaN is a missing value to both (as in the scan's feature frames)
    return df.with_columns(pl.col(NUMS).fill_nan(None)).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


ROWS = st.lists(st.fixed_dictionaries({**{f: _value() for f in NUMS},
                                       "s": st.one_of(st.none(), st.sampled_from(("a", "b", "c")))}),
                min_size=1, max_size=60)


def _levels(out: pl.DataFrame) -> dict[int, str]:
    return dict(zip(out.get_column("_row").to_list(), out.get_column("level").to_list()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.integers(0, 10_000), min_size=1, max_size=3, unique=True).flatmap(
    lambda ns: st.tuples(*(_rule(n) for n in ns))), rows=ROWS)
def test_set_wise_level_equals_per_row_level(rules, rows):
    df = _frame(rows)
    engine = RuleEngine(list(rules))
    try:
        for rule in rules:
            assert _levels(engine.evaluate_frame(rule, df)) == _levels(engine.evaluate_frame(rule, df, per_row=True))
    finally:
        engine.close()


def test_rows_share_one_message_per_assignment():
    rule = Rule(id="q", title={"zh": "q"}, detector="volume_surge", params={},
                levels={"warn": And((Compare(Field("x"), ">=", Literal(8)), Compare(Field("y"), ">=", Literal(50)))),
                        "critical": And((Compare(Field("x"), ">=", Literal(30)), Compare(Field("y"), ">=", Literal(200))))},
                level_text={}, department="operations", notify_store=False, enabled=True, reason={})
    df = _frame([{"x": 100.0, "y": 1000.0, "s": None}, {"x": 9.0, "y": 60.0, "s": None},
                 {"x": 40.0, "y": 900.0, "s": None}, {"x": None, "y": 5000.0, "s": None}])
    assert len(atoms(rule)) == 4
    rows, distinct = assignments(rule, df)
    assert distinct.height == 3 and rows.height == 4   # rows 0 and 2 hold every atom: one message
    engine = RuleEngine([rule])
    try:
        assert _levels(engine.evaluate_frame(rule, df)) == {0: "critical", 1: "warn", 2: "critical"}
    finally:
        engine.close()
