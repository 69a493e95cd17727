"""What a column's values look like, from a small sample: the evidence when headers are ambiguous.

Header words say what a column should hold; the values say what it does hold.  An 11-digit
number starting with 1 is a mainland mobile, ``2020-02-21 00:00:00`` is a time, ``交易成功`` is a
status, ``广东省`` alone is a province, ``****`` is a value the platform masked.  Profiles are
computed on at most ``SAMPLE`` rows spread over the file, so recognition costs the same on a
hundred rows and on ten million.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from .states import is_status_word

SAMPLE = 240

DATE_TEXT = (
    r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}"         # 2026-09-01, 2026/9/1, 2026年9月1日
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(\s|$|T)"              # 4/11/2017, 29.08.2022
    r"|^\d{8}(\d{6})?$"                                       # 20260901, 20260901130500
    r"|^\d{4}-\d{2}-\d{2}T"                                   # ISO with T
    r"|^(?i:\d{1,2}[-\s](jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-\s,]+\d{2,4})"   # 5-Mar-2024
    r"|^(?i:(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-\s]\d{1,2}[-\s,]+\d{2,4})"   # Mar-01-24
)
NUMBER = r"^\(?[-+−]?\s*(?:[A-Za-z]{0,3}\$|¥|￥|€|£|RMB|CNY|USD|EUR|GBP|BRL|HKD)?\s*[\d.,' ]+\s*(?:元|RMB|CNY|USD|EUR|GBP|BRL)?\)?-?$"
MOBILE = r"^(?:\+?86)?1[3-9]\d{9}$"
PHONE = r"^(?:\+?\d{1,3})?0?\d{6,12}$"
MASKED = r"^[*＊xX]{2,}$|^\*{3,}"
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)
PROVINCE = (r"^(?:" + "|".join(PROVINCES) + r")(?:省|市|自治区|特别行政区|壮族自治区|回族自治区|"
            r"维吾尔自治区)?$")
REGION_CODE = r"^[A-Z]{2}$"


@dataclass(frozen=True)
class Profile:
    """Fractions of a column's non-empty sample values of each shape."""

    n: int = 0                 # non-empty values in the sample
    date: float = 0.0
    number: float = 0.0
    integer: float = 0.0
    small_int: float = 0.0     # 1 .. 9999: a line number
    mobile: float = 0.0
    phone: float = 0.0
    masked: float = 0.0
    status: float = 0.0
    province: float = 0.0
    region_code: float = 0.0
    order_ref: float = 0.0     # #1001
    serial: float = 0.0        # Excel day numbers 20000..80000
    epoch: float = 0.0         # Unix seconds or milliseconds
    digits: float = 0.0        # values with any digit
    distinct: float = 0.0
    samples: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.n == 0


def sample_rows(frame: pl.DataFrame, n: int = SAMPLE) -> pl.DataFrame:
    """Rows from the start, the middle and the end: odd rows cluster at neither end.  Blocks
    are slices (no copy), so sampling a million rows costs what sampling a thousand does."""
    if frame.height <= n:
        return frame
    k = n // 4
    starts = [0, frame.height // 3, 2 * frame.height // 3, frame.height - k]
    return pl.concat([frame.slice(s, k) for s in starts])


def _exprs() -> dict[str, pl.Expr]:
    v = pl.col("v")
    digits = v.str.replace_all(r"[\s\-()（）+]", "")
    num = v.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)
    return {
        "n": v.count(),
        "distinct": v.n_unique(),
        "date": v.str.contains(DATE_TEXT).mean(),
        "number": (v.str.contains(NUMBER) & v.str.contains(r"\d")).mean(),
        "integer": (num.is_not_null() & (num == num.round(0))).mean(),
        "small_int": (num.is_not_null() & (num == num.round(0)) & (num >= 0) & (num < 10000)).mean(),
        "mobile": digits.str.contains(MOBILE).mean(),
        "phone": digits.str.contains(PHONE).mean(),
        "masked": v.str.contains(MASKED).mean(),
        "province": v.str.contains(PROVINCE).mean(),
        "region_code": v.str.contains(REGION_CODE).mean(),
        "order_ref": v.str.contains(r"^#\w+$").mean(),
        "serial": (num.is_between(20000, 80000) & v.str.contains(r"^\d{5}(\.\d+)?$")).mean(),
        "epoch": v.str.contains(r"^1\d{9}(\.\d+)?$|^1\d{12}$").mean(),
        "digits": v.str.contains(r"\d").mean(),
    }


def profiles(frame: pl.DataFrame, headers: list[str]) -> dict[str, Profile]:
    """header -> profile: every column's sample stacked into one, each pattern compiled once."""
    if not headers:
        return {}
    names = [f"c{i}" for i in range(len(headers))]
    sample = sample_rows(frame.select(headers)).select(
        [pl.col(h).cast(pl.String).alias(c) for h, c in zip(headers, names)])
    long = (sample.unpivot(on=names, variable_name="h", value_name="v")
            .with_columns(pl.col("v").str.strip_chars())
            .filter(pl.col("v").is_not_null() & (pl.col("v") != "")))
    agg = long.group_by("h").agg(**_exprs(), samples=pl.col("v").unique(maintain_order=True).head(5))
    stats = {r["h"]: r for r in agg.iter_rows(named=True)}
    # status words repeat: only few-valued, non-numeric columns can be a status
    few = [c for c, r in stats.items() if r["distinct"] <= max(30, r["n"] // 5) and (r["number"] or 0) < 0.5]
    status: dict[str, float] = {}
    if few:
        counts = long.filter(pl.col("h").is_in(few)).group_by("h", "v").len()
        for c, v, k in counts.iter_rows():
            if _status_word(v):
                status[c] = status.get(c, 0.0) + k
    out: dict[str, Profile] = {}
    for h, c in zip(headers, names):
        vals = dict(stats.get(c) or {})
        n = int(vals.pop("n", 0) or 0)
        if n == 0:
            out[h] = Profile()
            continue
        vals.pop("h", None)
        samples = tuple(vals.pop("samples") or ())
        distinct = int(vals.pop("distinct") or 0)
        fr = {k: float(v or 0.0) for k, v in vals.items()}
        out[h] = Profile(n=n, status=status.get(c, 0.0) / n, distinct=distinct / n, samples=samples, **fr)
    return out


@lru_cache(maxsize=8192)
def _status_word(value: str) -> bool:
    return is_status_word(value)


def profile(values: pl.Series) -> Profile:
    """The profile of one column's values (tests and one-off use)."""
    name = values.name or "v"
    return profiles(values.alias(name).to_frame(), [name])[name]
