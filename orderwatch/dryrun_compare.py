"""What a dry run changes, as tables: per rule and level, by department, by store, per day,
the precision reviewers' verdicts let us estimate, and the flags added or removed.

Every table is built from one frame, :func:`diff`: one row per (rule, subject) flagged on
either side, with its level now and with the change.  Per level, ``now = unchanged + removed``
and ``with change = unchanged + added`` (a flag moving from warn to critical is removed from
warn and added to critical); per rule ("all"), a flag counts once whatever its levels.
"""

from __future__ import annotations

import polars as pl

from orderwatch.dryrun import DryRun
from rules.model import LEVEL_ORDER, REPORT

#: reviewers' resolutions that say the flag was right: confirmed, or corrected by the store
TRUE_RESOLUTIONS = ("confirmed", "corrected")
FALSE_RESOLUTION = "false_positive"
ALL = "all"
_DETAIL = ["department", "store_id", "store_name", "order_id", "occurred_at", "kind", "title", "reason",
           "evidence", "reason_id", "reason_args"]


def diff(run: DryRun) -> pl.DataFrame:
    """One row per (rule_id, subject) flagged now or with the change: ``level_now``,
    ``level_new``, ``change`` (added, removed, raised, lowered, unchanged), the flag's details
    (the changed side's where it has one) and its stored verdict (status, resolution)."""
    key = ["rule_id", "subject"]
    now = run.live.select(*key, pl.col("level").alias("level_now"), *[pl.col(c).alias(f"{c}_now") for c in _DETAIL])
    new = run.new.select(*key, pl.col("level").alias("level_new"), *_DETAIL)
    joined = now.join(new, on=key, how="full", coalesce=True)
    r_now = pl.col("level_now").replace_strict(LEVEL_ORDER, default=0, return_dtype=pl.Int8)
    r_new = pl.col("level_new").replace_strict(LEVEL_ORDER, default=0, return_dtype=pl.Int8)
    change = (pl.when(pl.col("level_now").is_null()).then(pl.lit("added"))
              .when(pl.col("level_new").is_null()).then(pl.lit("removed"))
              .when(r_new > r_now).then(pl.lit("raised"))
              .when(r_new < r_now).then(pl.lit("lowered"))
              .otherwise(pl.lit("unchanged")))
    out = joined.with_columns([pl.coalesce(c, f"{c}_now").alias(c) for c in _DETAIL]).drop([f"{c}_now" for c in _DETAIL])
    out = out.with_columns(change.alias("change"))
    verdicts = run.verdicts.select("rule_id", "subject", "status", "resolution")
    return out.join(verdicts, on=key, how="left").sort("rule_id", "occurred_at", "subject", nulls_last=True)


def _counts(d: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return d.group_by(by).agg(
        pl.col("level_now").is_not_null().sum().alias("now"),
        pl.col("level_new").is_not_null().sum().alias("with_change"),
        (pl.col("change") == "added").sum().alias("added"),
        (pl.col("change") == "removed").sum().alias("removed"),
        (pl.col("level_now").is_not_null() & pl.col("level_new").is_not_null()).sum().alias("unchanged"),
    )


def by_level(run: DryRun, d: pl.DataFrame | None = None) -> pl.DataFrame:
    """rule_id, level (each level, then ``all``), now, with_change, added, removed, unchanged."""
    d = diff(run) if d is None else d
    rows = []
    for rid in run.rule_ids:
        part = d.filter(pl.col("rule_id") == rid)
        levels = sorted({*(run.rules_live[rid].levels if rid in run.rules_live else ()),
                         *(run.rules_new[rid].levels if rid in run.rules_new else ())} - {REPORT},
                        key=LEVEL_ORDER.__getitem__)
        for lvl in levels:
            now = part.filter(pl.col("level_now") == lvl).height
            new = part.filter(pl.col("level_new") == lvl).height
            same = part.filter((pl.col("level_now") == lvl) & (pl.col("level_new") == lvl)).height
            rows.append((rid, lvl, now, new, new - same, now - same, same))
        total = _counts(part.with_columns(pl.lit(rid).alias("_r")), ["_r"])
        n = total.row(0, named=True) if total.height else {"now": 0, "with_change": 0, "added": 0, "removed": 0,
                                                           "unchanged": 0}
        rows.append((rid, ALL, n["now"], n["with_change"], n["added"], n["removed"], n["unchanged"]))
    return pl.DataFrame(rows, schema={"rule_id": pl.String, "level": pl.String, "now": pl.Int64,
                                      "with_change": pl.Int64, "added": pl.Int64, "removed": pl.Int64,
                                      "unchanged": pl.Int64}, orient="row")


def by_department(d: pl.DataFrame) -> pl.DataFrame:
    """department, now, with_change, added, removed, unchanged (departments with any flag)."""
    return _counts(d, ["department"]).sort("department")


def top_stores(d: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The stores the change moves most (added + removed), then by flags now."""
    counts = _counts(d.filter(pl.col("store_id").is_not_null()), ["store_id"])
    names = d.group_by("store_id").agg(pl.col("store_name").drop_nulls().first())
    return (counts.join(names, on="store_id", how="left")
            .with_columns((pl.col("added") + pl.col("removed")).alias("moved"))
            .sort(["moved", "now", "store_id"], descending=[True, True, False]).head(n)
            .select("store_id", "store_name", "now", "with_change", "added", "removed", "unchanged"))


def per_day(d: pl.DataFrame) -> pl.DataFrame:
    """day, now, with_change: flags by the day the problem occurred."""
    return (d.with_columns(pl.col("occurred_at").dt.date().alias("day"))
            .group_by("day").agg(pl.col("level_now").is_not_null().sum().alias("now"),
                                 pl.col("level_new").is_not_null().sum().alias("with_change"))
            .sort("day"))


def precision(d: pl.DataFrame) -> pl.DataFrame:
    """Per rule and live level (and ``all``): what reviewers said of the live flags.

    ``resolved`` counts the live flags with a verdict (confirmed or corrected: ``true``;
    false positive: ``false``); of the flags the change removes, how many were false positives
    and how many confirmed; of those it keeps, how many were confirmed.  ``precision_now`` is
    true ÷ resolved; ``precision_with_change`` the same over the kept flags — an estimate: the
    flags the change adds have no verdicts yet.
    """
    live = d.filter(pl.col("level_now").is_not_null())
    rows = pl.concat([live.with_columns(pl.col("level_now").alias("level")),
                      live.with_columns(pl.lit(ALL).alias("level"))])
    t = pl.col("resolution").is_in(TRUE_RESOLUTIONS)
    f = pl.col("resolution") == FALSE_RESOLUTION
    gone = pl.col("change") == "removed"
    out = rows.group_by("rule_id", "level").agg(
        pl.len().alias("flags"),
        (t | f).sum().alias("resolved"), t.sum().alias("true"), f.sum().alias("false"),
        ((t | f) & gone).sum().alias("removed_resolved"), (f & gone).sum().alias("removed_false"),
        (t & gone).sum().alias("removed_true"),
        ((t | f) & ~gone).sum().alias("kept_resolved"), (t & ~gone).sum().alias("kept_true"),
    )
    order = pl.col("level").replace_strict({**LEVEL_ORDER, ALL: 9}, default=9, return_dtype=pl.Int8)
    return (out.with_columns(
        pl.when(pl.col("resolved") > 0).then(pl.col("true") / pl.col("resolved")).alias("precision_now"),
        pl.when(pl.col("kept_resolved") > 0).then(pl.col("kept_true") / pl.col("kept_resolved"))
        .alias("precision_with_change"))
        .sort(pl.col("rule_id"), order))


def changed_flags(d: pl.DataFrame, which: str) -> pl.DataFrame:
    """The flags the change adds (``added``: new, or at a new level) or removes (``removed``)."""
    if which == "added":
        return d.filter(pl.col("change").is_in(("added", "raised", "lowered")))
    return d.filter(pl.col("change") == "removed")


__all__ = ["ALL", "by_department", "by_level", "changed_flags", "diff", "per_day", "precision", "top_stores"]
