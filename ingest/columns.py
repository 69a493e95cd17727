"""Raw text columns -> typed canonical columns, in one parallel polars select.

Text fields that are compared for equality are stripped; numbers, integers and timestamps are
parsed with a fast cast/strptime per column (timestamps with the formats ``ingest.dates``
found for that column), and only the rows the fast parse missed go through the forgiving
parsers.  What could not be parsed is reported per row (``failed``), and date rows readable
only in the other day/month order separately (``other_order``), for the quarantine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from contracts import schema
from contracts.config import Source

from .dates import DAY_FIRST, MONTH_FIRST, ColumnSeen, DateSpec, detect_seen, fast_expr, parse_column
from .readers import LINE
from .values import int_fast_expr, int_slow, nullify_empty, number_fast_expr, number_slow, repair

FAST = "__fast__:"
#: text fields stripped of surrounding whitespace: the keys that are compared for equality.
#: Other text (names, addresses, regions; statuses, whose words are normalised when they are
#: read; phones, whose digits are) is kept as exported: a strip pass costs as much as parsing
#: a column.
STRIPPED = ("order_id", "store_id", "buyer_id", "sku", "tracking_no", "currency")


@dataclass
class Typed:
    frame: pl.DataFrame                                   # LINE + canonical columns present
    failed: dict[str, pl.Series] = field(default_factory=dict)
    other_order: dict[str, pl.Series] = field(default_factory=dict)
    dates: dict[str, DateSpec] = field(default_factory=dict)


def date_specs(raw: pl.DataFrame | None, mapping: dict[str, str], source: Source,
               seen: Callable[[str], ColumnSeen] | None = None) -> dict[str, DateSpec]:
    """Each time column's spec; a column without day/month evidence follows the file's others.

    ``seen(header)``: what detection reads of a column, for a file read in parts (default:
    the column of ``raw``)."""
    if seen is None:
        assert raw is not None
        frame = raw
        seen = lambda h: ColumnSeen.of(frame[h])   # noqa: E731
    fields = [f for f in schema.TIMESTAMP_FIELDS if f in mapping]
    specs = {f: detect_seen(seen(mapping[f]), source.date_format_for(f)) for f in fields}
    decided = [s.order for s in specs.values() if s.order and s.decided_by in ("values", "config")]
    if decided:
        order = DAY_FIRST if decided.count(DAY_FIRST) > decided.count(MONTH_FIRST) else MONTH_FIRST
        for f, s in specs.items():
            if s.decided_by == "assumed":
                specs[f] = detect_seen(seen(mapping[f]), source.date_format_for(f), file_order=order)
    return specs


def typed_columns(raw: pl.DataFrame, mapping: dict[str, str], constants: dict[str, object],
                  specs: dict[str, DateSpec], tz: str) -> Typed:
    """Every mapped (or constant) canonical field, typed; see the module docstring."""
    exprs: list[pl.Expr] = [pl.col(LINE)]
    fast_names: list[str] = []
    kinds: dict[str, str] = {}
    for f in schema.CANONICAL:
        if f in mapping:
            col = pl.col(mapping[f])
        elif f in constants:
            col = pl.lit(str(constants[f]), dtype=pl.String)
        else:
            continue
        exprs.append((col.str.strip_chars() if f in STRIPPED else col).alias(f))
        if f in schema.TIMESTAMP_FIELDS:
            spec = specs.get(f) or DateSpec()
            exprs.append(fast_expr(col, spec, tz).alias(FAST + f))
            kinds[f] = "time"
        elif f in schema.NUMBER_FIELDS:
            exprs.append(number_fast_expr(col).alias(FAST + f))
            kinds[f] = "number"
        elif f == "line_no":
            exprs.append(int_fast_expr(col).alias(FAST + f))
            kinds[f] = "int"
        else:
            continue
        fast_names.append(FAST + f)
    both = raw.select(exprs)
    fast = both.select(fast_names)
    text = nullify_empty(both.drop(fast_names), [f for f in STRIPPED if f in both.columns])
    out = Typed(text)
    parsed: list[pl.Series] = []
    for f, kind in kinds.items():
        if kind == "time":
            spec = specs.get(f) or DateSpec()
            values, out.failed[f], out.other_order[f] = parse_column(text[f], fast[FAST + f], spec, tz)
            out.dates[f] = spec
        elif kind == "number":
            values, out.failed[f] = repair(text[f], fast[FAST + f], number_slow)
        else:
            values, out.failed[f] = repair(text[f], fast[FAST + f], int_slow)
        parsed.append(values.alias(f))
    if parsed:
        out.frame = text.with_columns(parsed)
    return out


REGION_PARTS = r"^(.+?(?:省|自治区|特别行政区|北京市|上海市|天津市|重庆市))(.+?(?:市|自治州|地区|盟))?(.+?(?:区|县|市|旗))?$"


MUNICIPALITIES = ["北京市", "上海市", "天津市", "重庆市"]
# a district is a name, not a street: no digits nor house words (金桥路86号小区 is no 区)
ADDRESS_REGION = (r"^\s*(\S+?(?:省|自治区|特别行政区)|北京市|上海市|天津市|重庆市)\s*(\S+?(?:市|自治州|地区|盟))?"
                  r"\s*([^\s\d号弄巷栋幢]{1,10}?(?:区|县|市|旗))?")


def split_address(frame: pl.DataFrame) -> pl.DataFrame:
    """A whole address in one text (``江西省 南昌市 东湖区 嵩山路71号``, as marketplaces export
    收货地址) and no province, city or district column: read them from the address's start.
    Only an address that starts with a province (or a municipality) gives them; any other
    address leaves them empty, as the file does.  An address that is nothing but those names
    (``辽宁省 沈阳市 铁西区``) has no street: its address is empty, so it is judged incomplete."""
    if "address" not in frame.columns or any(f in frame.columns for f in ("province", "city", "district")):
        return frame
    parts = pl.col("address").str.extract_groups(ADDRESS_REGION)
    # what follows the region is the street address: a text that is all region names none
    street = pl.col("address").str.replace(ADDRESS_REGION, "").str.strip_chars()
    frame = frame.with_columns(*(parts.struct[i].alias(f) for i, f in enumerate(("province", "city", "district"))),
                               pl.when(street != "").then(pl.col("address")).alias("address"))
    # a municipality is its own city (上海市浦东新区)
    city = pl.when(pl.col("province").is_in(MUNICIPALITIES)).then(pl.coalesce("city", "province")).otherwise("city")
    return frame.with_columns(city.alias("city"))


def split_region(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``广东省 深圳市 南山区`` (or ``广东省深圳市南山区``) in one column -> province, city, district
    for the parts no column of their own gives."""
    text = pl.col(column).str.strip_chars().str.replace_all(r"[\s/,，\-]+", " ")
    parts = text.str.split(by=" ")
    glued = text.str.extract_groups(REGION_PARTS)
    add = []
    for i, f in enumerate(("province", "city", "district")):
        if f in frame.columns:
            continue
        spaced = pl.when(parts.list.len() >= 2).then(parts.list.get(i, null_on_oob=True))
        add.append(pl.coalesce(spaced, glued.struct[i]).alias(f))
    return frame.with_columns(add).drop(column) if add else frame.drop(column)
