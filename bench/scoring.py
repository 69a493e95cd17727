"""Score a scan's flags against a world's truth: per kind TP, FP, FN, recall, precision.

A flag is matched to the truth by its benchmark kind (``bench_kind``: the rule that raised it
— by ``KIND_BY_RULE``, or its own id when that names a truth kind — else its detector, mapped
to the truth vocabulary of ``bench.worlds.spec.KINDS``) and its
subject-level key: the order id for order and line kinds, ``store|YYYY-MM-DD`` for store-day
kinds (the store given by id or by name, whichever the truth knows).  Several flags of one
kind on one key count once.  Per kind:

- TP: flagged keys that are seeded anomalies; FN: seeded anomalies not flagged;
- accepted: flagged keys that are acceptable consequences of a seeded anomaly (neither);
- FP: every other flagged key, of which ``decoys`` are known look-alikes;
- recall = TP / (TP + FN), precision = TP / (TP + FP).

A finding a flag carries for another rule (``explains`` in its evidence: an inhibited
consequence, ``rules.inhibit``) is scored as a flag of that rule on the same order (or
store-day): it is in the queue, inside its cause's flag, and a reviewer reads it there — it
counts for recall when it is a seeded anomaly, and against precision when it is not.

Correlation kinds (``flag_cluster``, ``cancel_reorder``) are scored the same way but reported
apart and kept out of the per-kind targets.  When rules or detectors are renamed, extend
``KIND_BY_RULE`` / ``KIND_BY_DETECTOR``; anything else is scored under its rule id (a kind no
world seeds: all its flags are false alarms, shown on their own line).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import polars as pl

from bench.worlds.spec import CORRELATION_KINDS, KINDS

KIND_BY_RULE: dict[str, str] = {
    "store_day_surge": "store_day_surge", "line_qty_outlier": "line_qty_outlier",
    "picking_overdue": "picking_overdue", "delivery_late": "delivery_overdue",
}
KIND_BY_DETECTOR: dict[str, str] = {
    "amount_spike": "amount_spike", "step_mismatch": "step_mismatch", "stale_picking": "picking_overdue",
    "delivery_overdue": "delivery_overdue", "missing_address": "missing_address",
    "duplicate_order": "duplicate_order", "price_deviation": "price_deviation",
    "payment_mismatch": "payment_mismatch", "cancel_reorder": "cancel_reorder", "flag_cluster": "flag_cluster",
    "credit_limit": "credit_limit",
}
STORE_DAY = ("store_day_surge", "flag_cluster")
TARGET_RECALL, TARGET_PRECISION, TARGET_CLEAN_PER_1000 = 0.95, 0.90, 2.0


def bench_kinds(flags: pl.DataFrame) -> pl.Series:
    """The truth kind each flag speaks to."""
    named = set(KINDS) | set(CORRELATION_KINDS)
    out = []
    for rule, kind, subject in flags.select("rule_id", "kind", "subject").iter_rows():
        if rule in KIND_BY_RULE or rule in named:      # a rule named after what it finds
            out.append(KIND_BY_RULE.get(rule, rule))
        elif kind == "volume_surge":
            out.append("store_day_surge" if str(subject).startswith("store_day:") else "line_qty_outlier")
        else:
            out.append(KIND_BY_DETECTOR.get(kind) or str(rule or kind))
    return pl.Series("bench_kind", out, dtype=pl.String)


def with_findings(flags: pl.DataFrame) -> pl.DataFrame:
    """``flags`` and one row per finding a flag explains (its ``rule_id`` and ``kind``, the cause's
    order, store and time; subject ``store_day:`` for a store-day finding)."""
    if flags.height == 0 or "evidence" not in flags.columns:
        return flags
    base = flags.select("rule_id", "kind", "subject", "order_id", "store_id", "store_name", "occurred_at")
    extra = []
    for row, ev in zip(base.iter_rows(named=True), flags["evidence"].to_list()):
        if not ev or "explains" not in ev:
            continue
        for e in json.loads(ev).get("explains", []):
            day = e.get("rule_id") == "store_day_surge" or str(e.get("figures", {}).get("subject", "")).startswith("store_day:")
            extra.append({**row, "rule_id": e.get("rule_id"), "kind": e.get("kind"),
                          "subject": "store_day:" if day else row["subject"]})
    if not extra:
        return base
    return pl.concat([base, pl.DataFrame(extra, schema=base.schema)])


def flag_keys(flags: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """(bench_kind, key) of every flag and every finding it explains; store-day keys use the
    store id, else its name, as the truth does."""
    if flags.height == 0:
        return pl.DataFrame(schema={"bench_kind": pl.String, "key": pl.String})
    flags = with_findings(flags)
    f = flags.with_columns(bench_kinds(flags), pl.col("occurred_at").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d").alias("_d"))
    known = set(truth.get_column("key").to_list())
    # the truth keys a store-day by the store's id; a scan may know the same store by its name
    # (a Shopify B2B export's company, with the e-mail as the world's id): name|day -> the key
    named: dict[str, str] = {}
    if "store_name" in truth.columns:
        rows = truth.filter(pl.col("kind").is_in(STORE_DAY) & pl.col("store_name").is_not_null())
        named = dict(zip((rows["store_name"] + "|" + rows["day"].cast(pl.String)).to_list(), rows["key"].to_list()))
    by_id = pl.concat_str([pl.col("store_id"), pl.lit("|"), pl.col("_d")])
    by_name = pl.concat_str([pl.col("store_name"), pl.lit("|"), pl.col("_d")])
    name_key = by_name.replace_strict(named, default=None, return_dtype=pl.String) if named else pl.lit(None, pl.String)
    store_key = (pl.when(by_id.is_in(list(known))).then(by_id).when(by_name.is_in(list(known))).then(by_name)
                 .when(name_key.is_not_null()).then(name_key).otherwise(by_id))
    key = pl.when(pl.col("bench_kind").is_in(STORE_DAY)).then(store_key).otherwise(pl.col("order_id").cast(pl.String))
    return f.select("bench_kind", key.alias("key"))


@dataclass
class KindScore:
    kind: str
    truth: int
    flags: int
    tp: int
    fp: int
    fn: int
    accepted: int
    decoys: int
    recall: float | None
    precision: float | None

    def meets(self) -> bool:
        return (self.truth == 0 or (self.recall or 0) >= TARGET_RECALL) and \
               (self.tp + self.fp == 0 or (self.precision or 0) >= TARGET_PRECISION)


@dataclass
class WorldScore:
    world: str
    orders: int
    kinds: list[KindScore]
    correlation: list[KindScore]
    flags: int
    false_alarms: int
    unseeded_false_alarms: int        # FP of kinds the world does not seed (incl. correlation)
    seeded: bool

    def per_1000(self, n: int) -> float:
        return 1000.0 * n / max(self.orders, 1)

    def checks(self) -> list[tuple[str, bool]]:
        """(what, met) for every target that applies to this world."""
        if not self.seeded:
            return [(f"{self.world}: {self.per_1000(self.flags):.2f} flags per 1,000 orders <= {TARGET_CLEAN_PER_1000:g}",
                     self.per_1000(self.flags) <= TARGET_CLEAN_PER_1000)]
        out = [(f"{self.world}/{k.kind}: recall {_f(k.recall)} >= {TARGET_RECALL}, precision {_f(k.precision)} "
                f">= {TARGET_PRECISION}", k.meets()) for k in self.kinds if k.truth]
        rate = self.per_1000(self.unseeded_false_alarms)
        out.append((f"{self.world}: {rate:.2f} false alarms per 1,000 orders of kinds not seeded "
                    f"<= {TARGET_CLEAN_PER_1000:g}", rate <= TARGET_CLEAN_PER_1000))
        return out

    def as_dict(self) -> dict:
        return {**asdict(self), "flags_per_1000": self.per_1000(self.flags),
                "false_alarms_per_1000": self.per_1000(self.false_alarms),
                "checks": [{"check": c, "met": m} for c, m in self.checks()]}


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _score_kind(kind: str, truth: pl.DataFrame, keys: pl.DataFrame, n_flags: int) -> KindScore:
    t = truth.filter(pl.col("kind") == kind)
    anomaly = set(t.filter(pl.col("role") == "anomaly")["key"].to_list())
    accept = set(t.filter(pl.col("role") == "consequence")["key"].to_list())
    decoy = set(t.filter(pl.col("role") == "decoy")["key"].to_list())
    flagged = set(keys.filter(pl.col("bench_kind") == kind)["key"].to_list())
    tp, fn = len(flagged & anomaly), len(anomaly - flagged)
    accepted = len((flagged - anomaly) & accept)
    fp_keys = flagged - anomaly - accept
    return KindScore(kind=kind, truth=len(anomaly), flags=n_flags, tp=tp, fp=len(fp_keys), fn=fn,
                     accepted=accepted, decoys=len(fp_keys & decoy),
                     recall=tp / len(anomaly) if anomaly else None,
                     precision=tp / (tp + len(fp_keys)) if tp + len(fp_keys) else None)


def score_world(world: str, truth: pl.DataFrame, flags: pl.DataFrame, orders: int) -> WorldScore:
    """Every kind's score on one world (``flags``: run_scan(...).flags or a scan's --out file)."""
    keys = flag_keys(flags, truth)
    counts = dict(keys.group_by("bench_kind").len().iter_rows()) if keys.height else {}
    found = set(counts) | set(truth.filter(pl.col("role") == "anomaly")["kind"].to_list())
    main = [k for k in KINDS if k in found] + sorted(found - set(KINDS) - set(CORRELATION_KINDS))
    kinds = [_score_kind(k, truth, keys, counts.get(k, 0)) for k in main]
    corr = [_score_kind(k, truth, keys, counts.get(k, 0)) for k in CORRELATION_KINDS]
    seeded_kinds = set(truth.filter(pl.col("role") == "anomaly")["kind"].to_list())
    unseeded = sum(k.fp for k in kinds + corr if k.kind not in seeded_kinds)
    return WorldScore(world=world, orders=orders, kinds=kinds, correlation=corr, flags=flags.height,
                      false_alarms=sum(k.fp for k in kinds + corr), unseeded_false_alarms=unseeded,
                      seeded=bool(seeded_kinds))
