"""Threshold suggestions learnt from reviewers' verdicts.

Reviewers resolve flags as confirmed, corrected (both: the flag was right) or false positive:
labels on exactly the rows a rule fired on, with the feature values it saw (the flag's
evidence).  For a rule with enough of them, this fits the level thresholds that would have kept
a target precision on those flags while losing the fewest confirmed ones.

Only tightening can be judged from verdicts (nobody reviewed what the rule did not flag), so a
suggestion only raises a ``>=``/``>`` threshold or lowers a ``<=``/``<`` one.  Levels are
fitted severest first: a level's set is the flags its condition or a severer one keeps, and
its precision must reach the target.  One threshold at a time is searched exhaustively over
the values the flags show; when none reaches the target, pairs of thresholds on a grid.  The
chosen threshold is the roundest number between the last value dropped and the first kept.
A suggestion is never applied by itself: ``rules suggest --out-dir`` writes a copy to dry-run.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import polars as pl

from rules.condition import _tokens, parse, to_polars
from rules.model import LEVEL_ORDER, REPORT, Rule

TRUE_RESOLUTIONS = ("confirmed", "corrected")
FALSE_RESOLUTION = "false_positive"
_TIGHTER = {">=": "up", ">": "up", "<=": "down", "<": "down"}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}
PAIR_GRID = 24


@dataclass(frozen=True)
class Threshold:
    """A ``field OP number`` comparison of a condition, and where its number is in the text."""

    field: str
    op: str              # as if the field were on the left
    value: float
    start: int
    end: int


def thresholds(text: str) -> list[Threshold]:
    """The numeric thresholds of a condition (none under ``not``: tightening would be ambiguous)."""
    toks = _tokens(text)
    if any(k == "word" and v.lower() == "not" for k, v, _ in toks):
        return []
    out = []
    for i in range(len(toks) - 2):
        (k1, v1, p1), (k2, v2, _), (k3, v3, p3) = toks[i], toks[i + 1], toks[i + 2]
        if k2 != "op" or v2 not in _TIGHTER:
            continue
        if k1 == "word" and k3 == "num" and v1.lower() not in ("and", "or", "true", "false"):
            out.append(Threshold(v1, v2, float(v3), p3, p3 + len(v3)))
        elif k1 == "num" and k3 == "word" and v3.lower() not in ("and", "or", "true", "false"):
            out.append(Threshold(v3, _FLIP[v2], float(v1), p1, p1 + len(v1)))
    return out


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"


def with_values(text: str, values: dict[int, float]) -> str:
    """``text`` with the i-th threshold's number replaced by ``values[i]``."""
    ts = thresholds(text)
    for i in sorted(values, key=lambda i: -ts[i].start):
        t = ts[i]
        text = text[:t.start] + _fmt(values[i]) + text[t.end:]
    return text


def roundest(lo: float, hi: float, include_lo: bool, include_hi: bool) -> float:
    """The number with the fewest significant digits in the interval between lo and hi."""
    span = max(abs(lo), abs(hi), 1e-12)
    for digits in range(1, 8):
        step = 10 ** (math.floor(math.log10(span)) - digits + 1)
        v = math.ceil(lo / step) * step
        if not include_lo and v <= lo:
            v += step
        v = round(v, 10)
        if v < hi or (include_hi and v <= hi):
            return v
    return hi if include_hi else lo


@dataclass
class LevelFit:
    level: str
    before: str
    after: str
    flags: int                 # resolved flags this level (or a severer one) keeps now
    true_before: int
    false_before: int
    true_after: int
    false_after: int
    reached: bool              # the target precision holds after the change

    @property
    def precision_before(self) -> float | None:
        n = self.true_before + self.false_before
        return self.true_before / n if n else None

    @property
    def precision_after(self) -> float | None:
        n = self.true_after + self.false_after
        return self.true_after / n if n else None


@dataclass
class Suggestion:
    """A rule's fitted thresholds and the counts behind them; ``status`` says what was found:
    ``suggested``, ``meets_target`` (nothing to tighten), ``unreachable`` (no threshold reaches
    the target), ``too_few`` (fewer resolved flags than asked), ``no_thresholds``."""

    rule_id: str
    status: str
    resolved: int
    true: int
    false: int
    min_resolved: int
    target: float
    levels: list[LevelFit] = field(default_factory=list)

    @property
    def changed(self) -> dict[str, str]:
        """level -> suggested condition, for the levels that change."""
        return {f.level: f.after for f in self.levels if f.after != f.before}

    @property
    def lost_true(self) -> int:
        """Confirmed flags the rule would no longer raise at any level."""
        return self.true - (self.levels[-1].true_after if self.levels else self.true)

    @property
    def removed_false(self) -> int:
        return self.false - (self.levels[-1].false_after if self.levels else self.false)

    @property
    def costly(self) -> bool:
        """The suggestion loses most confirmed flags: the features hardly separate the verdicts."""
        return self.status == "suggested" and self.lost_true * 2 > self.true


def _mask(frame: pl.DataFrame, conds: list[str]) -> pl.Series:
    expr = pl.lit(False)
    for c in conds:
        expr = expr | to_polars(parse(c))
    return frame.select(expr.alias("m")).to_series()


def _score(frame: pl.DataFrame, conds: list[str]) -> tuple[int, int]:
    m = _mask(frame, conds)
    t = int((m & frame["_true"]).sum())
    return t, int(m.sum()) - t


def _candidates(frame: pl.DataFrame, t: Threshold, limit: int | None = None) -> list[float]:
    """Tighter settings of one threshold, as the first value kept: each value the flags show
    beyond it, nearest first (``limit``: an even grid of them)."""
    if t.field not in frame.columns or not frame.schema[t.field].is_numeric():
        return []
    vals = frame.get_column(t.field).drop_nulls().cast(pl.Float64).unique().sort()
    up = _TIGHTER[t.op] == "up"
    vals = vals.filter(vals > t.value) if up else vals.filter(vals < t.value).reverse()
    out = vals.to_list()
    if limit and len(out) > limit:
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out


def _settle(frame: pl.DataFrame, t: Threshold, kept_at: float) -> float:
    """The roundest threshold keeping the same flags as ``kept_at`` does (the first value kept)."""
    col = frame.get_column(t.field).drop_nulls().cast(pl.Float64)
    if _TIGHTER[t.op] == "up":
        below = col.filter(col < kept_at)
        lo = max(below.max() if below.len() else t.value, t.value)
        v = roundest(lo, kept_at, include_lo=(t.op == ">"), include_hi=(t.op == ">="))
        return v if v > t.value else (kept_at if t.op == ">=" else lo)
    above = col.filter(col > kept_at)
    hi = min(above.min() if above.len() else t.value, t.value)
    v = -roundest(-hi, -kept_at, include_lo=(t.op == "<"), include_hi=(t.op == "<="))
    return v if v < t.value else (kept_at if t.op == "<=" else hi)


def _fit_level(frame: pl.DataFrame, text: str, severer: list[str], target: float) -> tuple[str, bool]:
    """The tightest-needed version of one level's condition (its text, and whether it reaches)."""
    ts = thresholds(text)
    if not ts:
        return text, False
    best: tuple[tuple, dict[int, float]] | None = None

    def consider(kept: dict[int, float]) -> None:
        nonlocal best
        values = {i: _settle(frame, ts[i], v) for i, v in kept.items()}
        cond = with_values(text, values)
        t, f = _score(frame, [*severer, cond])
        if t + f == 0 or t / (t + f) < target:
            return
        key = (t, -f, -len(values))
        if best is None or key > best[0]:
            best = (key, values)

    for i, t in enumerate(ts):
        for v in _candidates(frame, t):
            consider({i: v})
    if best is None:
        for (i, a), (j, b) in itertools.combinations(enumerate(ts), 2):
            for va in _candidates(frame, a, PAIR_GRID):
                for vb in _candidates(frame, b, PAIR_GRID):
                    consider({i: va, j: vb})
    if best is None:
        return text, False
    return with_values(text, best[1]), True


def fit(rule: Rule, resolved: pl.DataFrame, *, min_resolved: int = 30, target: float = 0.9) -> Suggestion:
    """Fit ``rule``'s level thresholds on its resolved flags (evidence columns + ``resolution``)."""
    frame = resolved.filter(pl.col("resolution").is_in([*TRUE_RESOLUTIONS, FALSE_RESOLUTION]))
    frame = frame.with_columns(pl.col("resolution").is_in(TRUE_RESOLUTIONS).alias("_true"))
    for f in rule.fields:
        if f not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(f))
    n_true = int(frame["_true"].sum()) if frame.height else 0
    out = Suggestion(rule.id, "suggested", frame.height, n_true, frame.height - n_true, min_resolved, target)
    if frame.height < min_resolved:
        out.status = "too_few"
        return out
    if not any(thresholds(t) for lv, t in rule.level_text.items() if lv != REPORT):
        out.status = "no_thresholds"
        return out
    severer: list[str] = []
    # the queued levels only: a ``report`` row (late but done) is never a flag reviewers judge
    for level in sorted(set(rule.level_text) - {REPORT}, key=lambda lv: -LEVEL_ORDER[lv]):
        before = rule.level_text[level]
        t0, f0 = _score(frame, [*severer, before])
        after, reached = before, (t0 + f0 > 0 and t0 / (t0 + f0) >= target) or f0 == 0
        if not reached:
            after, reached = _fit_level(frame, before, severer, target)
        t1, f1 = _score(frame, [*severer, after])
        out.levels.append(LevelFit(level, before, after, t0 + f0, t0, f0, t1, f1, reached))
        severer.append(after)
    if not out.changed:
        out.status = "meets_target" if all(f.reached for f in out.levels) else "unreachable"
    return out


__all__ = ["FALSE_RESOLUTION", "LevelFit", "Suggestion", "TRUE_RESOLUTIONS", "Threshold", "fit", "roundest",
           "thresholds", "with_values"]
