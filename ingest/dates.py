"""Timestamps in every common form, with the form found once per column and parsed in polars.

Forms: ISO with or without seconds, fraction and zone (``2026-09-01T13:05:00+08:00``),
``YYYY/M/D``, ``YYYY.M.D``, ``YYYYMMDD[HHMMSS]``, Chinese ``2026年9月1日 13:05``, US
``M/D/YYYY [H:MM[:SS] [AM|PM]]``, day-first ``D/M/YYYY`` (also with ``.`` or ``-``), Excel
serial day numbers and Unix seconds or milliseconds (when the header says it is a time).

Month-first or day-first is decided per column from all its values: a first field above 12
proves day-first, a second field above 12 month-first.  When a column has neither, the other
date columns of the file decide, else month-first is assumed and the report says so; a
source's ``date_format`` (``day_first``, ``month_first`` or a strftime format) overrides all
of it.  A column that mixes both orders keeps the majority; each row only readable the other
way is quarantined with its reason, never guessed.

Speed: a sample picks the column's formats, one ``str.to_datetime`` per format parses the
column, and only the rows those miss go through the forgiving normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from .values import repair, to_halfwidth

DATETIME = pl.Datetime("us")
MONTH_FIRST, DAY_FIRST = "month_first", "day_first"
SAMPLE = 500
#: Excel serial day numbers accepted (1954-10-03 .. 2119-01-09)
SERIAL_RANGE = (20000.0, 80000.0)
_EXCEL_EPOCH_US = int((datetime(1899, 12, 30) - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
YEAR_LAST = r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})\b"

YMD_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y%m%d",
    "%Y%m%d%H%M%S", "%Y.%m.%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M",
)
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", " %I:%M%p", " %H:%M:%S%.f")
#: month names (eBay ``Mar-01-24``, ``5 Mar 2024``, ``Mar 5, 2024``): never ambiguous
MONTH_NAME_FORMATS = tuple(f"{d}{t}" for d in ("%b-%d-%y", "%b-%d-%Y", "%d-%b-%Y", "%d-%b-%y", "%d %b %Y",
                                               "%b %d, %Y", "%B %d, %Y", "%d %B %Y")
                           for t in ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %H:%M:%S %Z"))
#: formats of the slow path, applied after normalisation to ``YYYY-MM-DD HH:MM:SS``
NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d",
    "%Y%m%d%H%M%S", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y-%m-%d %I:%M %p", "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M%p",
)
ZONED_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z")


def year_last_formats(order: str) -> tuple[str, ...]:
    """Every separator, year width and time form of the D/M/Y (or M/D/Y) family."""
    dm = ("%d", "%m") if order == DAY_FIRST else ("%m", "%d")
    # two-digit years first: %Y would read "26" as the year 26
    return tuple(f"{dm[0]}{sep}{dm[1]}{sep}{y}{t}" for y in ("%y", "%Y") for sep in "/.-" for t in _TIMES)


@dataclass(frozen=True)
class DateSpec:
    """What was found for one date column: how it is parsed and how the report says it."""

    formats: tuple[str, ...] = ()
    order: str | None = None        # month_first / day_first for the D/M/Y family
    decided_by: str = ""            # values / config / file / assumed
    numeric: str | None = None      # excel / unix_s / unix_ms
    contradicting: int = 0          # rows readable only in the other order
    repeats: bool = False           # neighbouring rows share values (an order's lines): cache the parse

    @property
    def label(self) -> str:
        if self.numeric:
            return {"excel": "Excel serial days", "unix_s": "Unix seconds",
                    "unix_ms": "Unix milliseconds"}[self.numeric]
        if not self.formats:
            return "(no values)"
        text = self.formats[0]
        for a, b in (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD"), ("%H", "HH"),
                     ("%I", "hh"), ("%M", "mm"), ("%S", "ss"), ("%.f", ".fff"), ("%p", "AM/PM"),
                     ("%z", "±zone")):
            text = text.replace(a, b)
        if self.order:
            how = {"values": "from the values", "config": "as configured",
                   "file": "like the file's other dates", "assumed": "assumed: no field above 12"}
            text += f" ({self.order.replace('_', '-')}, {how.get(self.decided_by, self.decided_by)})"
        return text


def _sample(s: pl.Series) -> pl.Series:
    """Values from the start, the middle and the end of the column (slices: no copy)."""
    if s.len() <= SAMPLE * 2:
        return s.drop_nulls()
    k = SAMPLE // 4
    blocks = [s.slice(i, k) for i in (0, s.len() // 3, 2 * s.len() // 3, s.len() - k)]
    sample = pl.concat(blocks).drop_nulls()
    if sample.len() == 0:  # a sparse column: look at every value once
        sample = s.drop_nulls().head(SAMPLE)
    return sample


def _cover(sample: pl.Series, formats: tuple[str, ...], most: int = 3) -> tuple[str, ...]:
    """Up to ``most`` formats that together parse the most sample values (greedy)."""
    left, chosen = sample, []
    for _ in range(most):
        best, hits, parsed = None, 0, None
        for fmt in formats:
            ok = left.str.to_datetime(fmt, time_unit="us", strict=False).is_not_null()
            n = int(ok.sum())
            if n > hits:
                best, hits, parsed = fmt, n, ok
                if n == left.len():
                    break
        if best is None:
            break
        chosen.append(best)
        left = left.filter(~parsed)
        if left.len() == 0:
            break
    return tuple(chosen)


def year_last_evidence(s: pl.Series) -> tuple[int, int, int]:
    """(rows of the D/M/Y family, rows whose first field > 12, rows whose second field > 12)."""
    g = pl.DataFrame({"v": s}).select(pl.col("v").str.extract_groups(YEAR_LAST).alias("g")).unnest("g")
    a, b = g[:, 0].cast(pl.Int32, strict=False), g[:, 1].cast(pl.Int32, strict=False)
    return int(a.is_not_null().sum()), int((a > 12).sum()), int((b > 12).sum())


def _repeats(s: pl.Series) -> bool:
    """Do neighbouring rows repeat values (the lines of one order share its times)?  Then a
    cached parse (each distinct text once) is faster; for unique times it is slower."""
    head = s.head(400).drop_nulls()
    return head.len() >= 20 and head.n_unique() < head.len() / 2


@dataclass(frozen=True)
class ColumnSeen:
    """What format detection reads of a column: the sample, its first rows (do neighbours
    repeat?) and, only when the sample needs it, the day/month evidence of every row.  A
    column read in parts (``ingest.chunks``) builds it from the parts, so every part parses
    with the spec the whole column would have given."""

    sample: pl.Series
    head: pl.Series
    evidence: Callable[[], tuple[int, int, int]]

    @classmethod
    def of(cls, s: pl.Series) -> ColumnSeen:
        return cls(_sample(s), s.head(400), lambda: year_last_evidence(s))


def detect(s: pl.Series, configured: str | None = None, file_order: str | None = None,
           numeric_ok: bool = True) -> DateSpec:
    """The spec of one column of date text (``configured``: the source's date_format)."""
    return detect_seen(ColumnSeen.of(s), configured, file_order, numeric_ok)


def detect_seen(seen: ColumnSeen, configured: str | None = None, file_order: str | None = None,
                numeric_ok: bool = True) -> DateSpec:
    """:func:`detect` from what was seen of the column."""
    spec = _detect(seen, configured, file_order, numeric_ok)
    return replace(spec, repeats=_repeats(seen.head)) if spec.formats else spec


def _detect(seen: ColumnSeen, configured: str | None, file_order: str | None, numeric_ok: bool) -> DateSpec:
    sample = seen.sample
    if configured and "%" in configured:
        year_first = configured.find("%Y") < min(i for i in (configured.find("%m"), configured.find("%d"), 99) if i >= 0)
        order = None if year_first else (DAY_FIRST if configured.find("%d") < configured.find("%m") else MONTH_FIRST)
        return DateSpec((configured,), order, "config")
    if sample.len() == 0:
        return DateSpec()
    clean = pl.DataFrame({"v": sample}).select(pl.col("v").str.strip_chars())["v"]
    if numeric_ok and clean.str.contains(r"^\d+(\.\d+)?$").mean() >= 0.8:
        if clean.str.contains(r"^\d{5}(\.\d+)?$").mean() >= 0.8:
            return DateSpec(numeric="excel")
        if clean.str.contains(r"^1\d{12}$").mean() >= 0.8:
            return DateSpec(numeric="unix_ms")
        if clean.str.contains(r"^1\d{9}(\.\d+)?$").mean() >= 0.8:
            return DateSpec(numeric="unix_s")
    if clean.str.contains(r"(?i)^\d{0,2}[-\s]?[a-z]{3}").mean() >= 0.5:
        return DateSpec(_cover(clean, MONTH_NAME_FORMATS + YMD_FORMATS))
    if not clean.str.contains(YEAR_LAST).any():
        return DateSpec(_cover(clean, YMD_FORMATS))
    n, first, second = seen.evidence()
    if configured in (DAY_FIRST, MONTH_FIRST):
        order, by = configured, "config"
    elif first and second:
        order, by = (DAY_FIRST if first >= second else MONTH_FIRST), "values"
    elif first or second:
        order, by = (DAY_FIRST if first else MONTH_FIRST), "values"
    elif file_order:
        order, by = file_order, "file"
    else:
        order, by = MONTH_FIRST, "assumed"
    contra = second if order == DAY_FIRST else first
    return DateSpec(_cover(clean, year_last_formats(order) + YMD_FORMATS), order, by,
                    contradicting=contra)


# -- the slow, forgiving path ---------------------------------------------------------------
def _normalise_datetime_text(v: pl.Expr, order: str | None) -> pl.Expr:
    """``2026年9月1日 1:05``, ``9/1/2026 1:05 PM``, ``2026/9/1T13:05Z`` -> ``2026-09-01 …``."""
    t = to_halfwidth(v).str.strip_chars()
    t = (
        t.str.replace_all(r"(\d)\s*年\s*(\d)", "$1-$2")
        .str.replace_all(r"(\d)\s*月\s*(\d)", "$1-$2")
        .str.replace_all(r"(\d)\s*[日号]", "$1 ")
        .str.replace_all(r"(\d)\s*[时點点]\s*(\d)", "$1:$2")
        .str.replace_all(r"(\d)\s*分\s*(\d)", "$1:$2")
        .str.replace_all(r"(\d)\s*[时分秒]", "$1")
        .str.replace_all(r"(?i)\s*(上午)\s*(.*)$", "$2 AM")
        .str.replace_all(r"(?i)\s*(下午|晚上)\s*(.*)$", "$2 PM")
    )
    t = t.str.replace(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})(\s|$)", "${1}/${2}/20${3}${4}")
    if order == DAY_FIRST:
        t = t.str.replace(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", "$3-$2-$1")
    else:
        t = t.str.replace(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", "$3-$1-$2")
    t = t.str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", "$1-$2-$3")
    t = t.str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})(?:[Tt]|\s+)", "$1 ").str.strip_chars()
    # offsets: Z, +0800, " +08:00" -> +08:00 (only after a time)
    t = t.str.replace(r"(:\d{2}(?:\.\d+)?)\s*[Zz]$", "${1}+00:00")
    t = t.str.replace(r"(:\d{2}(?:\.\d+)?)\s*([+-]\d{2}):?(\d{2})$", "$1$2:$3")
    # zero-pad single digits (twice: adjacent matches overlap); not fractional seconds
    for _ in range(2):
        t = t.str.replace_all(r"(^|[^\d.])(\d)(\D|$)", "${1}0${2}${3}")
    return t.str.to_uppercase()


def datetime_slow(s: pl.Series, tz: str, order: str | None = None, numeric: str | None = None) -> pl.Series:
    """Parse whatever the fast path left, one vectorised pass over those rows only."""
    raw = to_halfwidth(pl.col("v")).str.strip_chars()
    number = raw.cast(pl.Float64, strict=False)
    frame = pl.DataFrame({"v": s}).select(
        _normalise_datetime_text(pl.col("v"), order).alias("t"),
        pl.when(raw.str.contains(r"^\d{5}(\.\d+)?$")).then(number).alias("serial"),
        pl.when(raw.str.contains(r"^\d{10}(\.\d+)?$|^\d{13}$")).then(number).alias("epoch"),
    )
    t, serial = pl.col("t"), pl.col("serial")
    serial = pl.when((serial >= SERIAL_RANGE[0]) & (serial <= SERIAL_RANGE[1])).then(serial)
    serial_dt = (pl.lit(_EXCEL_EPOCH_US, dtype=pl.Int64)
                 + (serial * 86400).round(0).cast(pl.Int64) * 1_000_000).cast(DATETIME)
    epoch = pl.col("epoch")
    epoch_us = pl.when(epoch >= 1e12).then(epoch * 1000).otherwise(epoch * 1_000_000)
    epoch_dt = (pl.when(pl.lit(numeric in ("unix_s", "unix_ms")))
                .then(pl.from_epoch(epoch_us.round(0).cast(pl.Int64), time_unit="us")
                      .dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.replace_time_zone(None)))
    naive = pl.coalesce([t.str.strptime(DATETIME, f, strict=False) for f in NAIVE_FORMATS])
    zoned = pl.coalesce([t.str.strptime(pl.Datetime("us", "UTC"), f, strict=False) for f in ZONED_FORMATS])
    zoned = zoned.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    has_zone = t.str.contains(r":\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}$")
    out = pl.when(has_zone).then(zoned).otherwise(pl.coalesce([naive, epoch_dt, serial_dt]))
    return frame.select(out.cast(DATETIME).alias(s.name or "v")).to_series()


def fast_expr(e: pl.Expr, spec: DateSpec, tz: str = "UTC") -> pl.Expr:
    """The column parsed with its detected formats: one vectorised pass per format.

    Unix times are instants: they become wall-clock time in ``tz`` like zoned text does.
    """
    if spec.numeric == "excel":
        n = e.str.strip_chars().cast(pl.Float64, strict=False)
        n = pl.when((n >= SERIAL_RANGE[0]) & (n <= SERIAL_RANGE[1])).then(n)
        return (pl.lit(_EXCEL_EPOCH_US, dtype=pl.Int64) + (n * 86400).round(0).cast(pl.Int64) * 1_000_000
                ).cast(DATETIME)
    if spec.numeric in ("unix_s", "unix_ms"):
        n = e.str.strip_chars().cast(pl.Float64, strict=False)
        us = (n * (1000 if spec.numeric == "unix_ms" else 1_000_000)).round(0).cast(pl.Int64)
        return (pl.from_epoch(us, time_unit="us").dt.replace_time_zone("UTC")
                .dt.convert_time_zone(tz).dt.replace_time_zone(None))
    if not spec.formats:
        return pl.lit(None, dtype=DATETIME)
    parts = [e.str.to_datetime(f, time_unit="us", strict=False, cache=spec.repeats) for f in spec.formats]
    return parts[0] if len(parts) == 1 else pl.coalesce(parts)


def parse_column(text: pl.Series, fast: pl.Series, spec: DateSpec, tz: str
                 ) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(values, failed, other_order): repair the fast parse; flag rows only readable the other way."""
    values, failed = repair(text, fast.cast(DATETIME),
                            lambda sub: datetime_slow(sub, tz, spec.order, spec.numeric))
    other = failed if not failed.any() else pl.repeat(False, text.len(), dtype=pl.Boolean, eager=True)
    if spec.order and failed.any():
        idx = failed.arg_true()
        flip = DAY_FIRST if spec.order == MONTH_FIRST else MONTH_FIRST
        readable = datetime_slow(text.gather(idx), tz, flip).is_not_null()
        if readable.any():
            other = other.scatter(idx.filter(readable), True)
    return values, failed, other


def parse_datetime(s: pl.Series, tz: str, configured: str | None = None) -> tuple[pl.Series, pl.Series]:
    """Timestamps in the usual forms -> naive Datetime(us) wall-clock in ``tz``; (values, failed)."""
    spec = detect(s, configured)
    fast = pl.DataFrame({"v": s}).select(fast_expr(pl.col("v"), spec, tz).alias("v"))["v"]
    values, failed, _ = parse_column(s, fast, spec, tz)
    return values, failed
