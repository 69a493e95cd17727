"""Order state: the canonical ``state`` from the status words an export uses and its times.

Status words are those of the systems our users export from: Taobao/Tmall (等待买家付款,
买家已付款，等待卖家发货, 卖家已发货，等待买家确认, 交易成功, 交易关闭), JD (等待出库, 等待确认收货,
完成, 已取消), Pinduoduo (待发货, 已发货，待签收, 已签收, 未发货，退款成功), Douyin/Youzan (待支付,
已完成, 已关闭), ERPs (待审核, 已审核, 打单出库, 发货在途, 已完成, 被取消), Shopify (pending, paid,
refunded, voided; fulfilled, partial), WooCommerce (pending, processing, on-hold, completed,
cancelled, refunded, failed), Magento (pending, processing, complete, closed, canceled,
holded), Amazon (Pending, Unshipped, PartiallyShipped, Shipped, Canceled, Unfulfillable),
Odoo (draft, sent, sale, done, cancel) and Olist (created, approved, invoiced, processing,
shipped, delivered, unavailable, canceled).  A source's ``states`` map in config.yaml (and
``ingest.states`` for the whole site) is looked up first.

The state and the times agree: a later event implies the earlier ones happened, so the state
is the furthest stage that either the status or a timestamp proves; a cancellation, closing,
return or refund (by word, by time, or a full refund amount) ends the order whatever came before.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import polars as pl

from contracts.schema import EVENT_STATE, STATE_RANK, STATES, UNWOUND_STATES

from .vocabulary import TRAD_MAP

#: whole status values (normalised: lower-case, no spaces/punctuation) -> state
WORDS: dict[str, str | None] = {
    # pending payment
    "等待买家付款": "pending_payment", "待付款": "pending_payment", "待支付": "pending_payment",
    "未付款": "pending_payment", "未支付": "pending_payment", "等待付款": "pending_payment",
    "待买家付款": "pending_payment", "拍下未付款": "pending_payment", "待结算": "pending_payment",
    "pending": "pending_payment", "pendingpayment": "pending_payment", "unpaid": "pending_payment",
    "awaitingpayment": "pending_payment", "onhold": "pending_payment", "holded": "pending_payment",
    "paymentreview": "pending_payment", "pendingavailability": "pending_payment",
    "created": "pending_payment", "draft": "pending_payment", "quotation": "pending_payment",
    "checkoutdraft": "pending_payment", "new": "pending_payment",
    # paid, not yet handled
    "买家已付款": "paid", "已付款": "paid", "已支付": "paid", "付款成功": "paid", "支付成功": "paid",
    "待发货": "paid", "等待卖家发货": "paid", "等待出库": "paid", "待审核": "paid", "待处理": "paid",
    "等待单": "paid", "预订单": "paid", "paid": "paid", "approved": "paid", "authorized": "paid",
    "processing": "paid", "unshipped": "paid", "awaitingfulfillment": "paid",
    "awaitingshipment": "paid", "tobeshipped": "paid", "readytofulfil": "paid",
    # confirmed / released to the warehouse
    "已审核": "confirmed", "已确认": "confirmed", "审核通过": "confirmed", "已接单": "confirmed",
    "待配货": "confirmed", "待拣货": "confirmed", "已审单": "confirmed", "待出库": "confirmed",
    "已成团": "confirmed", "拼单成功": "confirmed", "生产等待": "confirmed", "confirmed": "confirmed",
    "accepted": "confirmed", "acknowledged": "confirmed", "invoiced": "confirmed", "sale": "confirmed",
    "salesorder": "confirmed", "released": "confirmed",
    # in the warehouse
    "拣货中": "picking", "配货中": "picking", "分拣中": "picking", "打包中": "picking", "备货中": "picking",
    "打单出库": "picking", "出库中": "picking", "picking": "picking", "packing": "picking",
    "inprogress": "picking",
    "已拣货": "picked", "已配货": "picked", "已打包": "picked", "拣货完成": "picked", "配货完成": "picked",
    "待揽收": "picked", "picked": "picked", "packed": "picked", "readytoship": "picked",
    "readyforpickup": "picked", "awaitingpickup": "picked",
    # on its way
    "卖家已发货": "shipped", "已发货": "shipped", "已出库": "shipped", "发货在途": "shipped",
    "运输中": "shipped", "配送中": "shipped", "派送中": "shipped", "已揽收": "shipped", "待收货": "shipped",
    "等待确认收货": "shipped", "等待买家确认收货": "shipped", "部分发货": "shipped", "代销发货": "shipped",
    "委外发货": "shipped", "shipped": "shipped", "fulfilled": "shipped", "partiallyshipped": "shipped",
    "partiallyfulfilled": "shipped", "partial": "shipped", "intransit": "shipped",
    "dispatched": "shipped", "outfordelivery": "shipped", "shipping": "shipped",
    # arrived
    "已签收": "delivered", "已收货": "delivered", "买家已签收": "delivered", "已送达": "delivered",
    "妥投": "delivered", "已妥投": "delivered", "确认收货": "delivered", "delivered": "delivered",
    "received": "delivered",
    # done
    "交易成功": "completed", "已完成": "completed", "完成": "completed", "交易完成": "completed",
    "订单完成": "completed", "已评价": "completed", "completed": "completed", "complete": "completed",
    "done": "completed", "finished": "completed", "locked": "completed",
    # ended without fulfilment
    "已取消": "cancelled", "取消": "cancelled", "订单取消": "cancelled", "被取消": "cancelled",
    "已作废": "cancelled", "作废": "cancelled", "交易取消": "cancelled", "已撤销": "cancelled",
    "支付失败": "cancelled", "付款失败": "cancelled", "cancelled": "cancelled", "canceled": "cancelled",
    "cancel": "cancelled", "voided": "cancelled", "void": "cancelled", "failed": "cancelled",
    "unfulfillable": "cancelled", "unavailable": "cancelled", "rejected": "cancelled",
    "declined": "cancelled", "expired": "cancelled",
    "交易关闭": "closed", "已关闭": "closed", "订单关闭": "closed", "关闭": "closed", "closed": "closed",
    "archived": "closed",
    "已退货": "returned", "退货完成": "returned", "退货成功": "returned", "拒收": "returned",
    "已拒收": "returned", "退货中": "returned", "returned": "returned", "return": "returned",
    "returnrequested": "returned", "rma": "returned",
    "已退款": "refunded", "退款成功": "refunded", "退款完成": "refunded", "全额退款": "refunded",
    "退款中": "refunded", "refunded": "refunded", "refund": "refunded", "chargeback": "refunded",
    "chargedback": "refunded",
    # words that say nothing about the state: leave it to the other columns and the times
    "部分退款": None, "partiallyrefunded": None, "partiallypaid": None, "unfulfilled": None,
    "open": None, "无售后": None, "无": None, "none": None, "null": None, "正常": None,
    "售后关闭": None, "退款关闭": None, "未发货": None, "订单未关闭": None, "未关闭": None,
    "未退款": None, "无退款": None,
}
#: a substring preceded by one of these is negated: 订单未关闭 is not closed
NEGATIONS = "未不非无没"

#: when a value is not a whole word above: the first substring found decides (most telling first)
SUBSTRINGS: tuple[tuple[str, str], ...] = (
    ("退款成功", "refunded"), ("已退款", "refunded"), ("退款完成", "refunded"), ("退款中", "refunded"),
    ("refunded", "refunded"), ("退货", "returned"), ("拒收", "returned"), ("returned", "returned"),
    ("取消", "cancelled"), ("作废", "cancelled"), ("cancel", "cancelled"), ("void", "cancelled"),
    ("交易关闭", "closed"), ("已关闭", "closed"), ("关闭", "closed"), ("closed", "closed"),
    ("交易成功", "completed"), ("已完成", "completed"), ("complete", "completed"),
    ("已签收", "delivered"), ("已收货", "delivered"), ("delivered", "delivered"),
    ("已发货", "shipped"), ("已出库", "shipped"), ("在途", "shipped"), ("shipped", "shipped"),
    ("已打包", "picked"), ("已拣货", "picked"), ("拣货中", "picking"), ("配货中", "picking"),
    ("已审核", "confirmed"), ("已确认", "confirmed"), ("待发货", "paid"), ("等待卖家发货", "paid"),
    ("已付款", "paid"), ("已支付", "paid"), ("待付款", "pending_payment"), ("待支付", "pending_payment"),
    ("未付款", "pending_payment"),
)

_NOISE = re.compile(r"[\s_\-\.,，。:：;；/()（）\[\]【】'\"]+")


def normalise_word(value: str) -> str:
    """``'Wc-Pending '`` -> ``'pending'``; ``'卖家已發貨'`` -> ``'卖家已发货'``."""
    v = unicodedata.normalize("NFKC", str(value)).translate(TRAD_MAP).strip().lower()
    return _NOISE.sub("", v)


def word_state(value: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """The canonical state one status value means, or None when it says nothing we know."""
    if value is None:
        return None
    if extra:
        for k, v in extra.items():
            if str(k) == str(value) or normalise_word(k) == normalise_word(value):
                return v
    key = normalise_word(value)
    if not key:
        return None
    if key.startswith("wc") and key[2:] in WORDS:  # WooCommerce's internal names: wc-pending
        key = key[2:]
    if key in WORDS:
        return WORDS[key]
    for part, state in SUBSTRINGS:
        i = key.find(part)
        if i >= 0 and not (i > 0 and key[i - 1] in NEGATIONS):
            return state
    return None


def is_status_word(value: str) -> bool:
    """True for a value our vocabulary knows (used to recognise a status column by its values)."""
    key = normalise_word(value)
    if key in WORDS:
        return WORDS[key] is not None
    return any(part in key for part, _ in SUBSTRINGS if not part.isascii())


def word_map(values: Iterable[str | None], extra: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """distinct raw value -> state (None: not understood); computed once per distinct value."""
    return {v: word_state(v, extra) for v in values if v is not None}


CODE: dict[str, int] = {s: i for i, s in enumerate(STATES)}
_FIRST_UNWOUND = min(CODE[s] for s in UNWOUND_STATES)


def _code(col: pl.Expr, words: Mapping[str, str | None]) -> pl.Expr:
    """Status text -> state code (Int8), through the few distinct words only."""
    mapping = {k: CODE[v] for k, v in words.items() if v is not None}
    return col.replace_strict(mapping, default=None, return_dtype=pl.Int8)


def state_expr(
    frame_columns: Iterable[str],
    word_states: Mapping[str, dict[str, str | None]],
    *,
    payment_column: bool,
    cod: pl.Expr | None = None,
) -> pl.Expr:
    """The canonical state of each row (String), as one polars expression (see ``state_codes``)."""
    names = {i: s for s, i in CODE.items()}
    return (state_codes(frame_columns, word_states, payment_column=payment_column, cod=cod)
            .replace_strict(names, default=None, return_dtype=pl.String).alias("state"))


def name_states(codes: pl.Series) -> pl.Series:
    """State codes -> state names (a gather from the twelve names: cheaper than a replace)."""
    return pl.Series("state", STATES, dtype=pl.String).gather(codes.cast(pl.UInt32)).alias("state")


def status_codes(word_states: Mapping[str, dict[str, str | None]]) -> list[pl.Expr]:
    """Each status column's words as state codes, ``_code_<field>``: computed once, read twice."""
    return [_code(pl.col(f), words).alias(f"_code_{f}") for f, words in word_states.items()]


def state_codes(
    frame_columns: Iterable[str],
    word_states: Mapping[str, dict[str, str | None]],
    *,
    payment_column: bool,
    cod: pl.Expr | None = None,
) -> pl.Expr:
    """The canonical state of each row as its code (Int8, index into ``STATES``).

    When the frame already has the ``status_codes`` columns they are used instead of
    translating the words again.

    ``word_states``: status field -> {raw value: state} (from :func:`word_map`).
    ``payment_column``: the file has a payment time column with empty cells, so a row
    without one (and not cash on delivery, ``cod``) is waiting for payment.  States are carried as small
    integer codes (lifecycle order first, then the four that unwind an order) and named once
    at the end: a million rows cost a few integer passes, not string comparisons.
    """
    cols = set(frame_columns)
    unwound: list[pl.Expr] = []
    progress: list[pl.Expr] = []
    # aftersale beats status beats payment status: a refund ends what the order status says
    for f in ("aftersale_status", "status", "payment_status"):
        if f in cols and f in word_states:
            code = pl.col(f"_code_{f}") if f"_code_{f}" in cols else _code(pl.col(f), word_states[f])
            unwound.append(pl.when(code >= _FIRST_UNWOUND).then(code))
            progress.append(pl.when(code < _FIRST_UNWOUND).then(code))
    for event in ("refunded_at", "cancelled_at"):
        if event in cols:
            unwound.append(pl.when(pl.col(event).is_not_null()).then(pl.lit(CODE[EVENT_STATE[event]], dtype=pl.Int8)))
    if "refund_amount" in cols:
        paid = pl.coalesce([pl.col(c) for c in ("paid_amount", "order_amount") if c in cols] or [pl.lit(None)])
        full = (pl.col("refund_amount") > 0) & (pl.col("refund_amount") >= paid.fill_null(0.0))
        unwound.append(pl.when(full).then(pl.lit(CODE["refunded"], dtype=pl.Int8)))
    if "quantity" in cols:  # a negative line is a return (or the reversal of a cancelled line)
        unwound.append(pl.when(pl.col("quantity") < 0).then(pl.lit(CODE["returned"], dtype=pl.Int8)))
    # the furthest event with a time: a later event implies the earlier ones happened
    timed: pl.Expr | None = None
    for event, state in reversed(list(EVENT_STATE.items())):
        if event in cols and state in STATE_RANK:
            lit = pl.lit(CODE[state], dtype=pl.Int8)
            timed = pl.when(pl.col(event).is_not_null()).then(lit) if timed is None else \
                timed.when(pl.col(event).is_not_null()).then(lit)
    if timed is not None:
        progress.append(timed.otherwise(None))
    parts = list(unwound)
    if progress:
        parts.append(progress[0] if len(progress) == 1 else pl.max_horizontal(progress))
    if payment_column:
        waiting = pl.col("paid_at").is_null() & ~(cod if cod is not None else pl.lit(False))
        parts.append(pl.when(waiting).then(pl.lit(CODE["pending_payment"], dtype=pl.Int8)))
    if not parts:
        return pl.lit(None, dtype=pl.Int8).alias("_state")
    return (parts[0] if len(parts) == 1 else pl.coalesce(parts)).cast(pl.Int8).alias("_state")


__all__ = ["STATES", "WORDS", "is_status_word", "name_states", "normalise_word", "state_codes", "state_expr",
           "word_map", "word_state"]
