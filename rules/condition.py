"""Level conditions: a tiny expression language, parsed (never ``eval``-ed).

Grammar::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := operand OP operand          OP: >= > <= < == !=
    operand    := field | number | 'string' | "string" | true | false

One parsed tree compiles two ways: to a polars expression (the pre-filter that keeps only rows
that can reach a level) and to durable-rules' JSON condition (the engine that decides).  ``not``
is pushed down to the comparisons so both sides treat a missing value the same way: a
comparison with a missing field is simply false.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Union

import polars as pl


class ConditionError(ValueError):
    """A condition that doesn't parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: float | int | str | bool


Operand = Union[Field, Literal]


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Union[Compare, And, Or]

_NEGATE = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<op>>=|<=|==|!=|>|<)
    | (?P<par>[()])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()
            at = len(text) - len(bad)
            raise ConditionError(f"unexpected {bad[:1]!r} at position {at}", at)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ConditionError("condition ends too early", len(self.text))
        self.i += 1
        return tok

    def word(self, w: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == w

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.word("or"):
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.word("and"):
            self.i += 1
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.word("not"):
            self.i += 1
            return negate(self.not_expr())
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.i += 1
            node = self.expr()
            close = self.take()
            if close[1] != ")":
                raise ConditionError(f"expected ')' at position {close[2]}", close[2])
            return node
        return self.comparison()

    def operand(self) -> Operand:
        kind, value, at = self.take()
        if kind == "num":
            return Literal(float(value) if "." in value else int(value))
        if kind == "str":
            return Literal(value[1:-1])
        if kind == "word":
            low = value.lower()
            if low in ("true", "false"):
                return Literal(low == "true")
            if low in ("and", "or", "not"):
                raise ConditionError(f"expected a field or value at position {at}, got {value!r}", at)
            return Field(value)
        raise ConditionError(f"expected a field or value at position {at}, got {value!r}", at)

    def comparison(self) -> Compare:
        left = self.operand()
        tok = self.take()
        if tok[0] != "op":
            raise ConditionError(
                f"expected a comparison (>=, >, <=, <, ==, !=) at position {tok[2]}, got {tok[1]!r}", tok[2]
            )
        right = self.operand()
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise ConditionError(f"comparison at position {tok[2]} compares two constants", tok[2])
        if isinstance(left, Literal):  # keep the field on the left: `5 <= ratio` → `ratio >= 5`
            left, right = right, left
            return Compare(left, _FLIP[tok[1]], right)
        return Compare(left, tok[1], right)


def parse(text: str) -> Node:
    """Parse a condition, raising :class:`ConditionError` with the position of the mistake."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("condition is empty", 0)
    p = _Parser(text)
    node = p.expr()
    if p.peek() is not None:
        _, value, at = p.peek()  # type: ignore[misc]
        raise ConditionError(f"unexpected {value!r} at position {at}", at)
    return node


def negate(node: Node) -> Node:
    """De Morgan down to the comparisons (so a missing field stays false on both engines)."""
    if isinstance(node, Compare):
        return Compare(node.left, _NEGATE[node.op], node.right)
    if isinstance(node, And):
        return Or(tuple(negate(n) for n in node.items))
    return And(tuple(negate(n) for n in node.items))


def fields(node: Node) -> set[str]:
    """Every field name the condition reads."""
    if isinstance(node, Compare):
        return {o.name for o in (node.left, node.right) if isinstance(o, Field)}
    out: set[str] = set()
    for n in node.items:
        out |= fields(n)
    return out


# -- polars ---------------------------------------------------------------------------------
def _pl_operand(o: Operand) -> pl.Expr:
    if isinstance(o, Field):
        return pl.col(o.name)
    v = o.value
    return pl.lit(int(v) if isinstance(v, bool) else v)


def to_polars(node: Node) -> pl.Expr:
    """A boolean expression; null (missing value) counts as false."""
    if isinstance(node, Compare):
        left, right = _pl_operand(node.left), _pl_operand(node.right)
        expr = {
            ">=": left >= right,
            ">": left > right,
            "<=": left <= right,
            "<": left < right,
            "==": left == right,
            "!=": left != right,
        }[node.op]
        return expr.fill_null(False)
    parts = [to_polars(n) for n in node.items]
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if isinstance(node, And) else (out | p)
    return out


# -- durable-rules --------------------------------------------------------------------------
def engine_number(v: float) -> float | int | None:
    """A number durable-rules' JSON parser accepts, in the same order as the original.

    The parser rejects an exponent whose mantissa has no decimal point (Python writes
    ``1e-05``; error 204).  Such a float is stepped away from zero to the next float Python
    writes with a point (``1.0000000000000002e-05``).  The step is monotone and keeps the sign,
    and rule constants go through it too, so comparisons come out as in polars.  NaN is a
    missing value (the polars side gets ``fill_nan(None)``); infinity becomes the largest float.
    """
    if math.isnan(v):
        return None
    if math.isinf(v):
        return math.copysign(sys.float_info.max, v)
    if v.is_integer() and abs(v) < 2**53:
        return int(v)
    away = math.copysign(math.inf, v)
    while "e" in repr(v) and "." not in repr(v):
        v = math.nextafter(v, away)
    return v


_DR_OP = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt", "!=": "$neq"}


def _dr_value(o: Operand) -> object:
    if isinstance(o, Field):
        return {"$m": o.name}
    v = o.value
    if isinstance(v, bool):
        return int(v)
    return engine_number(v) if isinstance(v, float) else v


def to_durable(node: Node) -> dict:
    """durable-rules' JSON condition for one message (``m``)."""
    if isinstance(node, Compare):
        assert isinstance(node.left, Field)
        name, value = node.left.name, _dr_value(node.right)
        if node.op == "==":
            out = {name: value}
        elif node.op == "!=":
            # a missing field must not satisfy `!=`: require it to exist, as polars does
            out = {"$and": [{"$ex": {name: 1}}, {"$neq": {name: value}}]}
        else:
            out = {_DR_OP[node.op]: {name: value}}
        if isinstance(node.right, Field):
            # nor a missing field on the right (durable-rules would compare it as true)
            out = {"$and": [{"$ex": {node.right.name: 1}}, out]}
        return out
    key = "$and" if isinstance(node, And) else "$or"
    return {key: [to_durable(n) for n in node.items]}


# -- explanation ----------------------------------------------------------------------------
_WORDS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


def _holds(op: str, a: object, b: object) -> bool | None:
    if a is None or b is None:
        return None
    try:
        return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "==": a == b, "!=": a != b}[op]  # type: ignore[operator]
    except TypeError:
        return None


def explain(node: Node, values: dict[str, object]) -> list[tuple[str, bool | None]]:
    """Each comparison of a condition in plain words with the actual value, and whether it holds
    (None: the value is missing), e.g. ``("qty_ratio = 100.0 ≥ 30", True)``."""
    if isinstance(node, Compare):
        assert isinstance(node.left, Field)
        left = values.get(node.left.name)
        right = values.get(node.right.name) if isinstance(node.right, Field) else node.right.value
        shown = "—" if left is None else (f"{left:g}" if isinstance(left, float) else str(left))
        target = node.right.name if isinstance(node.right, Field) else repr(node.right.value) \
            if isinstance(node.right.value, str) else f"{node.right.value:g}"
        return [(f"{node.left.name} = {shown} {_WORDS[node.op]} {target}", _holds(node.op, left, right))]
    return [part for item in node.items for part in explain(item, values)]
