"""One order file -> canonical lines + quarantine + what was understood.

reader -> ``understand.plan`` (headers by alias, meaning and values) -> ``columns`` (typed in
one parallel select) -> derived columns (SKU from the product name, region split, state) ->
checks -> quarantine.  Every row ends up accepted or quarantined with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from contracts import schema
from contracts.schema import STATES
from contracts.config import Config, Source
from contracts.phones import contact_phone

from . import limits
from .columns import date_specs, split_address, split_region, typed_columns
from .dates import DateSpec
from .labels import LABELS, label
from .readers import LINE, RawTable
from .report import FileReport
from .states import CODE, state_codes, status_codes, word_map
from .understand import Plan, complete, plan
from .values import clean_text

SEP = "；"
NOT_AN_ORDER = "不是订单行: 没有订单时间、订单状态和数量（如会员、服务记录），未作为订单读取"
STATE_NAMES = {i: s for i, s in enumerate(STATES)}


def _falses(n: int) -> pl.Series:
    return pl.repeat(False, n, dtype=pl.Boolean, eager=True)


@dataclass
class FileCount:
    path: str
    read: int
    accepted: int
    quarantined: int
    counted: int | None = None     # records counted without the parser (None: not countable)
    report: FileReport | None = field(default=None, repr=False)

    @property
    def reconciled(self) -> bool:
        """read = accepted + quarantined, and read = the independent count."""
        return self.read == self.accepted + self.quarantined and self.counted in (None, self.read)


class FileTotals:
    """Counts over ``self.files`` (a read's FileCounts): what every read result reports."""
    files: list[FileCount]

    @property
    def reports(self) -> list[FileReport]:
        """What was understood of each file (see ``ingest.report``)."""
        return [f.report for f in self.files if f.report is not None]

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reconciled(self) -> bool:
        return all(f.reconciled for f in self.files)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=schema.QUARANTINE)


def raw_json(headers: list[str]) -> pl.Expr:
    """The original row as a compact JSON object header -> value."""
    if not headers:
        return pl.lit("{}")
    return pl.struct([pl.col(h) for h in headers]).struct.json_encode()


def reason_expr(pieces: list[pl.Expr]) -> pl.Expr:
    """The reasons that apply to a row, joined with "；"."""
    return pl.concat_str(pieces, separator=SEP, ignore_nulls=True)


def _positions(typed: pl.DataFrame, prior: pl.DataFrame | None = None) -> pl.Series:
    """1-based position of each line within its order, in file order (``prior``: order_id ->
    lines of the order in the file's earlier parts, for a file read in parts)."""
    oid = pl.col("order_id")
    idx = pl.int_range(pl.len(), dtype=pl.Int64)
    starts = oid.ne_missing(oid.shift(1)).fill_null(True)
    runs, distinct = typed.select(starts.sum().alias("r"), oid.n_unique().alias("d")).row(0)
    if runs == distinct:  # each order's lines are contiguous: no grouping needed
        expr = idx - pl.when(starts).then(idx).forward_fill() + 1
    else:
        expr = pl.int_range(pl.len()).over("order_id") + 1
    if prior is not None and prior.height:
        before = pl.col("order_id").replace_strict(prior["order_id"], prior["lines"], default=0,
                                                   return_dtype=pl.Int64)
        expr = expr + before
    return typed.select(expr.cast(pl.Int32)).to_series()


def _cod(config: Config, frame: pl.DataFrame) -> pl.Expr:
    """Cash on delivery, decided once per distinct payment method (there are few)."""
    if "payment_method" not in frame.columns:
        return pl.lit(False)
    methods = frame["payment_method"].drop_nulls().unique().to_list()
    cod = {m: any(c in m.lower() for c in config.cod_methods) for m in methods}
    return pl.col("payment_method").replace_strict(cod, default=False, return_dtype=pl.Boolean)


def _derive(frame: pl.DataFrame, p: Plan, config: Config, source: Source, prior: pl.DataFrame | None = None
            ) -> tuple[pl.DataFrame, dict[str, dict[str, str | None]], pl.Series]:
    """Store and SKU fallbacks, region split, legacy cancellation marks and the canonical state
    (and its codes, which the report counts cheaply)."""
    cols = frame.columns
    extra: list[pl.Expr] = []
    if p.derived_order_id:
        when = pl.col(p.mapping["created_at"]).cast(pl.String).fill_null("")
        extra.append(pl.concat_str([pl.col("buyer_id"), pl.lit("@"), when]).alias("order_id"))
    if "store_id" not in cols and "store_name" in cols:
        # store names only: the name is the store's key; a line without one takes its order's
        # (an export printing order fields on an order's first line only), else the source's store
        name = pl.col("store_name")
        if frame["store_name"].null_count() and "order_id" in cols:
            earlier = [] if prior is None or "store_name" not in prior.columns else [
                pl.col("order_id").replace_strict(prior["order_id"], prior["store_name"], default=None,
                                                  return_dtype=pl.String)]
            name = pl.coalesce(name, *earlier, name.drop_nulls().first().over("order_id"))
        extra.append(pl.coalesce(name, pl.lit(source.name)).alias("store_id"))
    if "product_name" in cols and ("sku" not in cols or frame["sku"].null_count()):
        # no SKU (or an empty SKU cell): the product name is the key
        sku = pl.coalesce(pl.col("sku"), pl.col("product_name")) if "sku" in cols else pl.col("product_name")
        extra.append(sku.alias("sku"))
    if "status" not in cols and config.cancel_pattern and "order_id" in cols:
        extra.append(pl.when(pl.col("order_id").str.contains(config.cancel_pattern))
                     .then(pl.lit("cancelled")).alias("status"))
    if extra:
        frame = frame.with_columns(extra)
    if "_phone_alt" in frame.columns:   # 固话 beside 手机: the contact is the valid one
        frame = frame.with_columns(contact_phone(pl.col("phone"), pl.col("_phone_alt")).alias("phone")).drop("_phone_alt")
    if "_region" in frame.columns:
        frame = split_region(frame, "_region")
    elif "address" in frame.columns:
        frame = split_address(frame)
    states = {**(config.get("ingest.states") or {}), **source.states}
    words = {f: word_map(frame[f].unique().to_list(), states)
             for f in ("status", "payment_status", "aftersale_status") if f in frame.columns}
    coded = frame.with_columns(status_codes(words)) if words else frame
    code = state_codes(coded.columns, words, payment_column=False)
    # codes and names in one pass, as expressions on the frame: a Series built apart would be
    # one chunk beside the reader's many, and every later frame operation would re-chunk
    named = coded.with_columns(code, code.replace_strict(STATE_NAMES, default=None, return_dtype=pl.String)
                               .alias("state"))
    codes = named["_state"]
    if "paid_at" in p.mapping and codes.null_count() and frame["paid_at"].null_count():
        # no state known and no payment time: waiting for payment, unless cash on delivery
        # (decided only for those rows: most files know every row's state from its status)
        idx = (codes.is_null() & frame["paid_at"].is_null()).arg_true()
        sub = frame[idx]
        waiting = ~sub.select(_cod(config, sub)).to_series() if "payment_method" in sub.columns else None
        fill = idx.filter(waiting) if waiting is not None else idx
        codes = codes.scatter(fill, CODE["pending_payment"])
        named = named.with_columns(codes.alias("_state")).with_columns(
            pl.col("_state").replace_strict(STATE_NAMES, default=None, return_dtype=pl.String).alias("state"))
    return named.drop([c for c in named.columns if c.startswith("_code_") or c == "_state"]), words, codes


def _checks(frame: pl.DataFrame, p: Plan, failed: dict[str, pl.Series], other: dict[str, pl.Series],
            config: Config) -> dict[str, pl.Series]:
    """name -> True where a row fails that check (see ``_reasons`` for the wording).

    A column without nulls or failures needs no check at all: the common, clean file pays
    for a few ``null_count`` calls, not for a mask per column.
    """
    strict = set(config.strict_fields) | set(schema.REQUIRED)
    checks: dict[str, pl.Series] = {}
    required = list(schema.REQUIRED)
    if "store_id" in p.mapping:
        required.append("store_id")      # a store column with an empty cell: whose order is it?
    if "sku" in p.mapping or "product_name" in p.mapping:
        required.append("sku")           # a line file's line that names no product
    for f in required:
        if f in frame.columns and frame[f].null_count():
            empty = frame[f].is_null()
            checks[f"empty:{f}"] = (empty & ~failed[f]) if f in failed else empty
    record = _not_an_order(frame, p, failed)
    if record is not None:
        # said once, as what the row is, instead of a list of every empty field
        checks = {k: v & ~record for k, v in checks.items()}
        checks["record:order"] = record
    if "quantity" in p.mapping and frame["quantity"].null_count():
        # a blank quantity is fine on a cancelled or returned line
        unwound = frame["state"].is_in(schema.UNWOUND_STATES).fill_null(False)
        blank = frame["quantity"].is_null() & ~failed["quantity"] & ~unwound
        checks["empty:quantity"] = blank & ~record if record is not None else blank
    for f, bad in failed.items():
        if f in strict and bad.any():
            checks[f"fail:{f}"] = bad & ~other[f] if f in other and other[f].any() else bad
    for f, bad in other.items():
        if bad.any():
            checks[f"order:{f}"] = bad
    return {k: v.fill_null(False) for k, v in checks.items() if v.any()}


def _not_an_order(frame: pl.DataFrame, p: Plan, failed: dict[str, pl.Series]) -> pl.Series | None:
    """Rows of an order file that carry no order at all: no event time, no state word and no
    quantity in a file that has those columns (a membership, voucher or service record mixed
    into a seller export). They are quarantined as what they are, not as a list of empty cells."""
    events = [f for f in schema.EVENT_FIELDS if f in p.mapping and f in frame.columns]
    marks = [f for f in ("status", "quantity") if f in p.mapping and f in frame.columns]
    if "created_at" not in events or not marks or not frame["created_at"].null_count():
        return None
    cols = [*events, *marks]
    blank = frame.select(pl.all_horizontal(pl.col(c).is_null() for c in cols)).to_series()
    for f in cols:
        if f in failed:
            blank = blank & ~failed[f]      # an unreadable cell is a cell: said as such
    return blank if blank.any() else None


def _reasons(checks: dict[str, pl.Series], p: Plan) -> list[pl.Expr]:
    pieces: list[pl.Expr] = []
    for key in checks:
        kind, f = key.split(":", 1)
        if kind == "record":
            pieces.append(pl.when(pl.col(key)).then(pl.lit(NOT_AN_ORDER)))
        elif kind == "empty":
            what = "必填字段为空" if f in schema.REQUIRED or f == "store_id" else "字段为空"
            if f == "quantity":
                what = "数量为空（订单未取消或退货）"
            pieces.append(pl.when(pl.col(key)).then(pl.lit(f"{what}: {label(f)}")))
        elif kind == "order":
            spec = p.report.dates.get(f, "")
            pieces.append(pl.when(pl.col(key)).then(pl.concat_str([
                pl.lit(f"{LABELS.get(f, f)}日月顺序与本列其他行不同: '"), pl.col(f"text:{f}"),
                pl.lit(f"' 只能按另一种顺序读，本列为 {spec}；未采用 ({f})")])))
        else:
            # concat_str, not pl.format: format with literals panics in polars 2.1
            pieces.append(pl.when(pl.col(key)).then(pl.concat_str([
                pl.lit(f"{LABELS.get(f, f)}无法解析: '"), pl.col(f"text:{f}"), pl.lit(f"' ({f})")])))
    return pieces


def ingest_table(table: RawTable, path: str, config: Config, source: Source, *, planned: Plan | None = None,
                 specs: dict[str, DateSpec] | None = None, prior: pl.DataFrame | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame, FileCount]:
    """One table's lines, quarantine and count.  A part of a file read in parts
    (``ingest.chunks``) is given the file's plan and date specs, and ``prior``: the lines
    (and first store name) of its orders in earlier parts."""
    raw, headers = table.frame, table.headers
    p = planned or plan(table, path, source)
    specs = specs if specs is not None else date_specs(raw, p.mapping, source)
    typed = typed_columns(raw, p.mapping, p.constants, specs, config.timezone)
    base = typed.frame
    if "_region" in p.mapping:
        base = base.with_columns(raw[p.mapping["_region"]].alias("_region"))
    if "_phone_alt" in p.mapping and "phone" in base.columns:
        base = base.with_columns(raw[p.mapping["_phone_alt"]].cast(pl.String).alias("_phone_alt")) \
            .with_columns(clean_text(pl.col("_phone_alt")))
    if p.derived_order_id:
        base = base.with_columns(raw[p.mapping["created_at"]])
    frame, words, codes = _derive(base, p, config, source, prior)
    if p.derived_order_id:
        frame = frame.drop(p.mapping["created_at"])
    p.report.dates = {f: s.label for f, s in typed.dates.items()}

    n = raw.height
    missing = p.missing_required
    checks = _checks(frame, p, typed.failed, typed.other_order, config)
    bad_mask = ~_falses(n) if missing else (
        pl.DataFrame(checks).select(pl.any_horizontal(pl.all())).to_series() if checks else _falses(n))
    row_q = empty_quarantine()
    if n and bad_mask.any():
        pieces: list[pl.Expr] = []
        if missing:
            names = "、".join(label(f) for f in missing)
            pieces.append(pl.lit(f"文件缺少必需列: {names}（见扫描摘要）"))
        else:
            pieces = _reasons(checks, p)
        text_cols = [f for f in typed.failed if f in typed.frame.columns]
        parts = [raw.filter(bad_mask),
                 (pl.DataFrame(checks) if checks and not missing else pl.DataFrame({"_": _falses(n)})).filter(bad_mask)]
        if text_cols:  # a zero-column frame has height 0 and cannot take the mask
            parts.append(typed.frame.select(text_cols).filter(bad_mask).rename(lambda c: f"text:{c}"))
        sub = pl.concat(parts, how="horizontal")
        text_src = {f: raw[p.mapping[f]] for f in text_cols if f in p.mapping}
        if text_src:  # the text as exported, for the reason (typed columns hold parsed values)
            sub = sub.with_columns([v.filter(bad_mask).alias(f"text:{f}") for f, v in text_src.items()])
        row_q = sub.select(
            pl.lit(path).alias("source_file"), pl.col(LINE).alias("line"),
            reason_expr(pieces).alias("reason"), raw_json(headers).alias("raw"),
        )

    extra: list[pl.Expr] = [
        pl.lit(source.name).alias("source"), pl.lit(path).alias("source_file"),
        pl.col(LINE).alias("source_line"),
    ]
    if "order_id" in frame.columns:
        if "line_no" not in frame.columns:
            extra.append(_positions(frame, prior).alias("line_no"))
        elif frame["line_no"].null_count():
            extra.append(pl.coalesce(pl.col("line_no"), _positions(frame, prior)).alias("line_no"))
    if "sku" in frame.columns and source.non_goods_skus:
        extra.append((~pl.col("sku").is_in(source.non_goods_skus).fill_null(False)).alias("goods"))
    else:
        extra.append(pl.lit(True).alias("goods"))
    accepted = frame.with_columns(extra)
    if missing:
        accepted = accepted.head(0)
    elif bad_mask.any():
        accepted = accepted.filter(~bad_mask)
    lines, range_q = limits.out_of_range(schema.conform(accepted), table, path, config)

    reader_q = table.bad.select(pl.lit(path).alias("source_file"), "line", "reason", "raw")
    quarantine = pl.concat([reader_q.cast(schema.QUARANTINE), row_q.cast(schema.QUARANTINE), range_q]).sort("line")
    state_counts = None  # counted on the codes unless the range check took rows out after them
    if range_q.height == 0:
        kept = codes.filter(~bad_mask) if bad_mask.any() and not missing else (codes.head(0) if missing else codes)
        counts = kept.drop_nulls().value_counts(sort=True)
        state_counts = {STATES[int(c)]: int(n) for c, n in counts.iter_rows()}
    report = complete(p.report, lines, typed.dates, words, state_counts)
    report.quarantined = quarantine.height
    count = FileCount(path, table.records, lines.height, quarantine.height, table.counted, report)
    return lines, quarantine, count
