"""Inhibition: a consequence is not queued beside its cause (Alertmanager's ``inhibit_rules``).

An extra zero typed on one line makes the order's amount spike and may push it over the
store's credit limit: three flags, two departments, one mistake.  Fixing the line fixes the
rest, so the cause's flag carries the consequences as findings of its own ("this also
explains …") and they are not queued separately: one flag with all the findings.

Written in the rule files (``inhibit:`` beside ``rules:``), like Alertmanager's::

    inhibit:
      - id: extra_zero_explains_amount
        cause: [line_qty_outlier]              # source: flags of these rules ...
        consequence: [order_amount_spike]      # ... inhibit flags of these rules
        equal: [store_id, order_id]            # on the same order (the default)
        when: "excess_share >= 0.5"            # and only when the cause explains it

``when`` (optional) is a condition in the rules' own language over the pair: ``cause_<f>`` and
``effect_<f>`` for each feature ``f`` of the two flags, and what the cause's line adds beyond
its usual quantity: ``excess_qty`` (units) and ``excess_value`` (at the line's own unit value),
with ``excess_share`` = ``excess_value`` ÷ the consequence's ``order_amount`` and
``excess_qty_share`` = ``excess_qty`` ÷ its ``day_qty`` (a store-day).  ``equal`` names what
the two flags share: ``store_id``, ``order_id``, ``day`` (of occurrence).  Without ``when`` the
pair alone inhibits, as in Alertmanager.

The merged flag keeps the cause's rule, department and subject, takes the more severe of the
two levels, lists each consequence under ``explains`` in its evidence, and its reason says
them after its own sentence (``rules.reasons``: ``also``).  Store clusters then see one order
with one flag, not an echo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from rules import reasons
from rules.condition import ConditionError, Node, parse, to_polars
from rules.condition import fields as condition_fields
from rules.model import LEVEL_ORDER, Rule

KEYS = {"id", "description", "cause", "consequence", "equal", "when"}
EQUAL = ("store_id", "order_id", "day")
DEFAULT_EQUAL = ("store_id", "order_id")
DERIVED = {"excess_value", "excess_share", "excess_qty", "excess_qty_share"}


@dataclass(frozen=True)
class Inhibition:
    id: str
    cause: tuple[str, ...]          # rule ids
    consequence: tuple[str, ...]    # rule ids
    equal: tuple[str, ...]
    when: Node | None
    when_text: str | None


def rule_features(rule: Rule) -> set[str]:
    """What a rule's flags carry in their evidence: its detector's features and the context."""
    from detectors import REGISTRY, SUBJECT_COLUMNS

    return set(REGISTRY[rule.detector].features(rule.params)) | set(SUBJECT_COLUMNS) | {"sku", "line_no",
                                                                                        "lines_fired"}


def read_inhibitions(items: Any, file: str, rules: dict[str, Rule],
                     features=rule_features) -> tuple[list[Inhibition], list]:  # noqa: ANN001
    """Validate one file's ``inhibit:`` list; (inhibitions, problems as (file, id, field, message))."""
    out: list[Inhibition] = []
    problems: list[tuple[str, str | None, str | None, str]] = []
    if not isinstance(items, list):
        return [], [(file, None, "inhibit", "must be a list of inhibitions")]
    for i, raw in enumerate(items):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            problems.append((file, None, f"inhibit[{i}]", "each inhibition is a mapping with an id"))
            continue
        iid, before = raw["id"], len(problems)
        for k in sorted(set(raw) - KEYS):
            problems.append((file, iid, k, f"unknown key (allowed: {', '.join(sorted(KEYS))})"))
        sides = {}
        for side in ("cause", "consequence"):
            ids = raw.get(side)
            ids = [ids] if isinstance(ids, str) else ids
            if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
                problems.append((file, iid, side, "is required: a list of rule ids"))
                continue
            unknown = [x for x in ids if x not in rules]
            if unknown:
                problems.append((file, iid, side, f"unknown rule(s) {', '.join(unknown)}"))
            sides[side] = tuple(ids)
        equal = raw.get("equal", list(DEFAULT_EQUAL))
        if not isinstance(equal, list) or not equal or any(e not in EQUAL for e in equal):
            problems.append((file, iid, "equal", f"must list labels of {', '.join(EQUAL)}"))
        node, text = None, raw.get("when")
        if text is not None:
            try:
                node = parse(str(text))
            except ConditionError as exc:
                problems.append((file, iid, "when", f"{exc} in {text!r}"))
            if node is not None and len(problems) == before:
                known = DERIVED | {f"cause_{f}" for r in sides["cause"] for f in features(rules[r])} \
                    | {f"effect_{f}" for r in sides["consequence"] for f in features(rules[r])}
                unknown = condition_fields(node) - known
                if unknown:
                    problems.append((file, iid, "when", f"unknown field(s) {', '.join(sorted(unknown))} "
                                                        f"(known: {', '.join(sorted(known))})"))
        if len(problems) == before:
            out.append(Inhibition(iid, sides["cause"], sides["consequence"], tuple(equal), node,
                                  str(text) if text is not None else None))
    return out, problems


def _features(flags: pl.DataFrame, prefix: str, names: set[str]) -> list[pl.Expr]:
    """Evidence values as numbers named ``<prefix><feature>`` (a text feature reads as null)."""
    return [pl.col("evidence").str.json_path_match(f"$.{n}").cast(pl.Float64, strict=False).alias(prefix + n)
            for n in sorted(names)]


def _excess(pairs: pl.DataFrame, lines: pl.LazyFrame | None) -> pl.DataFrame:
    """``excess_value``: the cause's line beyond its usual quantity, at its own unit value (else
    the order's value per unit)."""
    if lines is None or "cause_line_no" not in pairs.columns:
        return pairs.with_columns(pl.lit(None, pl.Float64).alias("excess_value"))
    on = ["_c_store", "_c_order", "cause_line_no"]
    # a line without a value of its own (an export with order totals only) is worth the
    # order's value per unit ordered
    per_unit = pl.coalesce(pl.col("line_value") / pl.col("quantity"),
                           pl.col("order_value") / pl.col("quantity").sum().over("store_id", "order_id"))
    # only the causes' orders: the value per unit is a figure of one order, so the other
    # orders' lines need not be read
    orders = pairs.select(pl.col("_c_store").alias("store_id"), pl.col("_c_order").alias("order_id")).unique()
    unit = (lines.filter(pl.col("_in_batch"))
            .join(orders.lazy(), on=["store_id", "order_id"], how="semi", maintain_order="left")
            .select(pl.col("store_id").alias("_c_store"), pl.col("order_id").alias("_c_order"),
                    pl.col("line_no").cast(pl.Float64).alias("cause_line_no"), per_unit.alias("_unit"))
            .unique(subset=on, keep="first")
            .collect())
    joined = pairs.join(unit, on=on, how="left")
    extra = (pl.col("cause_quantity") - pl.col("cause_usual_qty")).clip(lower_bound=0) * pl.col("_unit")
    return joined.with_columns(extra.alias("excess_value")).drop("_unit")


def _pairs(flags: pl.DataFrame, inh: Inhibition, rules: dict[str, Rule], lines: pl.LazyFrame | None,
           features=rule_features) -> pl.DataFrame:  # noqa: ANN001
    """(cause row, consequence row) pairs of ``inh`` that hold, one cause per consequence."""
    cause = flags.with_row_index("_c").filter(pl.col("rule_id").is_in(inh.cause))
    effect = flags.with_row_index("_e").filter(pl.col("rule_id").is_in(inh.consequence))
    if cause.height == 0 or effect.height == 0:
        return pl.DataFrame(schema={"_c": pl.UInt32, "_e": pl.UInt32})
    # only the figures the pair is judged on are read out of the evidence: what ``when`` names
    # and what the excess needs (a JSON path per feature and flag is the cost of this pass)
    wanted = condition_fields(inh.when) if inh.when is not None else set()
    c_names = ({f for r in inh.cause for f in features(rules[r])} & {w[6:] for w in wanted if w.startswith("cause_")}) \
        | {"line_no", "quantity", "usual_qty"}
    e_names = ({f for r in inh.consequence for f in features(rules[r])} & {w[7:] for w in wanted if w.startswith("effect_")}) \
        | {"order_amount", "day_qty"}
    day = pl.col("occurred_at").dt.date().alias("day")
    keys = [day if k == "day" else pl.col(k) for k in inh.equal]
    left = cause.select("_c", *keys, pl.col("store_id").alias("_c_store"), pl.col("order_id").alias("_c_order"),
                        pl.col("level").alias("_c_level"),
                        *_features(cause, "cause_", c_names))
    right = effect.select("_e", *keys, *_features(effect, "effect_", e_names))
    pairs = left.join(right, on=list(inh.equal), how="inner").filter(pl.col("_c") != pl.col("_e"))
    if pairs.height == 0:
        return pairs.select("_c", "_e")
    pairs = _excess(pairs, lines).with_columns(
        (pl.col("cause_quantity") - pl.col("cause_usual_qty")).clip(lower_bound=0).alias("excess_qty"))
    pairs = pairs.with_columns((pl.col("excess_value") / pl.col("effect_order_amount")).alias("excess_share"),
                               (pl.col("excess_qty") / pl.col("effect_day_qty")).alias("excess_qty_share"))
    if inh.when is not None:
        pairs = pairs.filter(to_polars(inh.when).fill_null(False))
    rank = pl.col("_c_level").replace_strict(LEVEL_ORDER, default=0, return_dtype=pl.Int8)
    return (pairs.sort(rank, "_c", descending=[True, False]).unique(subset="_e", keep="first")
            .select("_c", "_e"))


def _also_item(row: dict[str, Any], rule: Rule | None) -> dict[str, Any]:
    args = json.loads(row["reason_args"]) if row.get("reason_args") else {}
    nested = args.pop(reasons.ALSO, [])
    item = {"id": row.get("reason_id"), "args": args}
    if rule is not None and rule.reason:
        item["templates"] = rule.reason
    return [item, *nested] if isinstance(nested, list) else [item]


def apply(flags: pl.DataFrame, inhibitions: list[Inhibition], rules: list[Rule],
          lines: pl.LazyFrame | None = None, language: str = "zh") -> pl.DataFrame:
    """Merge each inhibited consequence into its cause's flag; the consequences are dropped."""
    if flags.height == 0 or not inhibitions:
        return flags
    by_id = {r.id: r for r in rules}
    for inh in inhibitions:
        if not all(r in by_id for r in (*inh.cause, *inh.consequence)):
            continue                     # a rule of it is disabled: nothing to inhibit
        pairs = _pairs(flags, inh, by_id, lines)
        if pairs.height == 0:
            continue
        flags = _merge(flags, pairs, inh, by_id, language)
    return flags


def _merge(flags: pl.DataFrame, pairs: pl.DataFrame, inh: Inhibition, by_id: dict[str, Rule],
           language: str) -> pl.DataFrame:
    """Each pair's consequence written into its cause's row and dropped; the other rows are
    left as they are (only the rows of the pairs are taken into Python)."""
    involved = sorted(set(pairs.get_column("_c").to_list()) | set(pairs.get_column("_e").to_list()))
    base = flags.with_row_index("_i")
    picked = base.filter(pl.col("_i").is_in(involved))
    rows = {r["_i"]: r for r in picked.to_dicts()}
    for c, e in pairs.iter_rows():
        cause, effect = rows[c], rows[e]
        if LEVEL_ORDER.get(effect["level"], 0) > LEVEL_ORDER.get(cause["level"], 0):
            cause["level"] = effect["level"]
        ev = json.loads(cause["evidence"]) if cause.get("evidence") else {}
        ev.setdefault("explains", []).append({
            "rule_id": effect["rule_id"], "kind": effect["kind"], "level": effect["level"],
            "department": effect["department"], "inhibition": inh.id,
            "figures": {k: v for k, v in (json.loads(effect["evidence"]) if effect.get("evidence") else {}).items()
                        if k not in ("conditions", "level_condition", "explains")}})
        # a consequence that had merged findings of its own keeps them: a chain merges whole
        effect_ev = json.loads(effect["evidence"]) if effect.get("evidence") else {}
        ev["explains"].extend(effect_ev.get("explains", []))
        cause["evidence"] = json.dumps(ev, ensure_ascii=False)
        if cause.get("reason_id"):
            args = json.loads(cause["reason_args"]) if cause.get("reason_args") else {}
            args[reasons.ALSO] = [*args.get(reasons.ALSO, []), *_also_item(effect, by_id.get(effect["rule_id"]))]
            cause["reason_args"] = json.dumps(args, ensure_ascii=False)
            rule = by_id.get(cause["rule_id"])
            cause["reason"] = reasons.render(cause["reason_id"], args, language, rule.reason if rule else None) \
                or cause["reason"]
        effect["_inhibited"] = True
    kept = [r for r in rows.values() if not r.pop("_inhibited", False)]
    changed = pl.DataFrame(kept, schema=base.schema) if kept else base.clear()
    return pl.concat([base.filter(~pl.col("_i").is_in(involved)), changed]).sort("_i").drop("_i")
