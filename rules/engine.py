"""The decision engine: compiled rules on durable-rules, one ruleset per YAML rule.

Why one ruleset per rule: an event posted to durable-rules is consumed by the first rule
(lowest ``pri``) that matches it, so inside a ruleset the levels compete and exactly one
level fires per candidate — the most severe, because severer levels get a lower ``pri``.
Rules don't compete with each other, so each gets its own ruleset.

Traps handled here (see ../shared/notes/durable_rules.md): the stock ``Host`` starts timer
threads that are never collected (``_run`` is a no-op here); ``set_rulesets`` mutates its
argument (we pass a fresh dict); the JSON parser rejects exponent floats, NaN and infinity
(numbers are sanitised); posts from several threads drop events (one lock around every
call); every rule carries a positive business condition (``t == rule id``) so the state
fact the engine re-asserts never matches.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import durable.engine
import durable_rules_engine
import polars as pl

from rules import truth
from rules.condition import Node, engine_number, to_durable
from rules.model import LEVEL_ORDER, Rule

_LOCK = threading.RLock()
FIRED_SCHEMA = {"_row": pl.Int64, "level": pl.String}
BATCH = 500
#: the catch-all "level" every candidate reaches last: a message no rule matches would raise
#: MessageNotHandledException and leave the rest of its batch pending
NO_LEVEL = "__none__"


class _QuietHost(durable.engine.Host):
    """A Host without the self-rescheduling timer threads; actions resolve to a collector."""

    def __init__(self, definitions: dict, collector: list[tuple[str, int, str]]) -> None:
        self._collector = collector
        super().__init__()
        self.set_rulesets(definitions)

    def _run(self) -> None:  # no timer threads: nothing here uses durable timers
        return None

    def get_action(self, action_name: str):  # "rule_id|level"
        rule_id, level = action_name.split("|", 1)
        collector = self._collector

        def action(c) -> None:
            if level != NO_LEVEL:
                collector.append((rule_id, int(c.m["id"]), level))

        return action


def _clean(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return engine_number(value)
    return value


def ruleset_name(rule: Rule, over_atoms: bool = False) -> str:
    return f"owt_{rule.id}" if over_atoms else f"ow_{rule.id}"


def compile_rule(rule: Rule, over_atoms: bool = False) -> dict:
    """The durable-rules definition of one rule: one entry per level, severest first.

    ``over_atoms``: each comparison reads its atom's truth (``rules.truth``) instead of the
    row's values — the same levels, priorities and boolean structure."""
    out: dict[str, dict] = {}
    ordered = sorted(rule.levels.items(), key=lambda kv: -LEVEL_ORDER[kv[0]])
    index = {atom: i for i, atom in enumerate(truth.atoms(rule))}

    def condition(node: Node) -> dict:
        return truth.over_atoms(node, index) if over_atoms else to_durable(node)

    for pri, (level, node) in enumerate(ordered, start=1):
        out[f"{rule.id}__{level}"] = {
            "all": [{"m": {"$and": [{"t": rule.id}, condition(node)]}}],
            "pri": pri,
            "run": f"{rule.id}|{level}",
        }
    out[f"{rule.id}__none"] = {"all": [{"m": {"t": rule.id}}], "pri": len(ordered) + 1,
                               "run": f"{rule.id}|{NO_LEVEL}"}
    return out


class RuleEngine:
    """Decides, for candidate rows of each rule, which level fires (if any)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = {r.id: r for r in rules}
        self._fired: list[tuple[str, int, str]] = []
        definitions = {ruleset_name(r): compile_rule(r) for r in rules}
        definitions |= {ruleset_name(r, True): compile_rule(r, True) for r in rules}
        with _LOCK:
            self._host = _QuietHost(copy.deepcopy(definitions), self._fired)
        self.definitions = definitions

    def evaluate(self, rule: Rule, rows: Iterable[dict[str, Any]]) -> dict[int, str]:
        """Post each row (needs an int ``id``) and return ``{row id: level}`` for those that fired."""
        fields = rule.fields
        messages = []
        for row in rows:
            msg = {"id": int(row["id"]), "t": rule.id}
            for f in fields:
                v = _clean(row.get(f))
                if v is not None:
                    msg[f] = v
            messages.append(msg)
        return self._post(ruleset_name(rule), messages)

    def _post(self, name: str, messages: list[dict[str, Any]]) -> dict[int, str]:
        out: dict[int, str] = {}
        with _LOCK:
            for start in range(0, len(messages), BATCH):
                self._fired.clear()
                chunk = messages[start:start + BATCH]
                self._host.post_batch(name, chunk)
                for rule_id, row_id, level in self._fired:
                    out[row_id] = level
            self._fired.clear()
        return out

    def evaluate_frame(self, rule: Rule, df: pl.DataFrame, *, per_row: bool = False) -> pl.DataFrame:
        """Candidates in, ``(_row, level)`` out for the rows where a level fired.

        Set-wise by default (``rules.truth``): one message per distinct truth assignment of
        the rule's comparisons, the level joined back to its rows.  ``per_row`` posts every
        row's values instead (the reference the set-wise path is tested against)."""
        if df.height == 0:
            return pl.DataFrame(schema=FIRED_SCHEMA)
        if per_row:
            cols = ["_row", *[f for f in rule.fields if f in df.columns]]
            fired = self.evaluate(rule, ({"id": r["_row"], **r} for r in df.select(cols).iter_rows(named=True)))
            return pl.DataFrame({"_row": list(fired.keys()), "level": list(fired.values())}, schema=FIRED_SCHEMA)
        rows, distinct = truth.assignments(rule, df)
        messages = [{"id": r[truth.GROUP], "t": rule.id, **{k: v for k, v in r.items() if k != truth.GROUP}}
                    for r in distinct.iter_rows(named=True)]
        fired = self._post(ruleset_name(rule, True), messages)
        levels = pl.DataFrame({truth.GROUP: list(fired.keys()), "level": list(fired.values())},
                              schema={truth.GROUP: distinct.schema[truth.GROUP], "level": pl.String})
        return rows.join(levels, on=truth.GROUP, how="inner", maintain_order="left").select("_row", "level").cast(FIRED_SCHEMA)

    def close(self) -> None:
        """Free the C-side rulesets (a Host is never collected otherwise)."""
        with _LOCK:
            for rs in getattr(self._host, "_ruleset_list", []):
                try:
                    durable_rules_engine.delete_ruleset(rs._handle)
                except Exception:  # already freed
                    pass
            self._host._ruleset_list = []
            self._host._ruleset_directory = {}
