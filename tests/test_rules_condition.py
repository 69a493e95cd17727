"""Level conditions: parsing, error positions, and identical meaning in polars and durable-rules."""

import polars as pl
import pytest

from rules.condition import (
    And,
    Compare,
    ConditionError,
    Field,
    Literal,
    Or,
    fields,
    parse,
    to_durable,
    to_polars,
)


def test_precedence_and_binds_tighter_than_or():
    node = parse("a >= 1 or b < 2 and c == 'x'")
    assert isinstance(node, Or)
    assert isinstance(node.items[1], And)
    assert fields(node) == {"a", "b", "c"}


def test_constant_on_the_left_is_flipped():
    assert parse("5 <= ratio") == Compare(Field("ratio"), ">=", Literal(5))


def test_not_is_pushed_down_to_comparisons():
    assert parse("not (a > 1 and b == 2)") == Or((Compare(Field("a"), "<=", Literal(1)),
                                                   Compare(Field("b"), "!=", Literal(2))))


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("ratio >= ", "ends too early"),
    ("ratio >> 5", "expected a field or value at position 7"),
    ("ratio 5", "expected a comparison"),
    ("(ratio >= 5", "ends too early"),
    ("ratio >= 5)", "unexpected ')'"),
    ("1 >= 5", "two constants"),
    ("ratio >= 5 and", "ends too early"),
    ("__import__('os') == 1", "expected a comparison"),
])
def test_bad_conditions_raise_with_a_message(text, fragment):
    with pytest.raises(ConditionError) as exc:
        parse(text)
    assert fragment in str(exc.value)


def test_polars_treats_missing_as_false_even_under_not():
    df = pl.DataFrame({"a": [1.0, None, 10.0]})
    assert df.select(to_polars(parse("not a > 5"))).to_series().to_list() == [True, False, False]
    assert df.select(to_polars(parse("a != 1"))).to_series().to_list() == [False, False, True]


def test_durable_json_shapes():
    assert to_durable(parse("a >= 5")) == {"$gte": {"a": 5}}
    assert to_durable(parse("kind == 'x'")) == {"kind": "x"}
    # a missing field on the right is false too (durable-rules alone would let it pass)
    assert to_durable(parse("a > b")) == {"$and": [{"$ex": {"b": 1}}, {"$gt": {"a": {"$m": "b"}}}]}
    assert to_durable(parse("a != 1")) == {"$and": [{"$ex": {"a": 1}}, {"$neq": {"a": 1}}]}


def test_explain_in_plain_words():
    from rules.condition import explain
    got = explain(parse("qty_ratio >= 30 and quantity >= 200 or baseline == 'store_sku'"),
                  {"qty_ratio": 100.0, "quantity": 120.0})
    assert got == [("qty_ratio = 100 ≥ 30", True), ("quantity = 120 ≥ 200", False),
                   ("baseline = — = 'store_sku'", None)]
