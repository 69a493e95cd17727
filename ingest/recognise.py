"""Which column holds which canonical field: exact aliases, then meaning, then the values.

1. A source's explicit ``columns`` (config.yaml) always win.
2. Exact aliases (``ingest.headers``): 订单号, InvoiceNo, 下单时间 …
3. Meaning: the header's role word (a time, an amount, a number, a phone, a name …) picks a
   kind, its concept word the field within it (``ingest.vocabulary``): 订单付款时间 is the
   payment time, 买家实际支付金额 the paid amount, ``Bill To Phone`` the phone.
4. Values: every candidate must fit the column's values (``ingest.profile``), and where the
   header is ambiguous they decide: a 收货地址 column holding provinces only is the province,
   a ``State`` column of ``shipped``/``delivered`` is the status, ``Name`` holding ``#1001`` is
   Shopify's order number; an unnamed column of status words or mobiles is read by its values.

Each field goes to its best-scoring column, each column to at most one field; what maps to
nothing stays unused, with the reason, so the report can say what was ignored and why.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import schema

from .header_words import Header, analyse, best_term, bias, find, has_any, specificity
from .headers import ORDER_INDEX, _without_brackets, normalise
from .profile import Profile
from .vocabulary import (
    KIND_ORDER,
    COMPANY,
    COMPANY_BARE,
    COMPANY_BUYER,
    COMPANY_VETO,
    KIND_VETO,
    MEANINGS,
    PARTY,
    REGION,
    REGION_AVOID,
    REGION_PREFER,
    REGION_PREFIXES,
    REGION_SINGLE,
    ROLES,
    STRONG,
    VALUE_GATED,
    WEAK_ALIASES,
)

CONFIG, ALIAS, MEANING, VALUE = "config", "alias", "meaning", "value"
SCORE = {CONFIG: 1000.0, ALIAS: 60.0, MEANING: 30.0, VALUE: 18.0}
PERSONAL = ("consignee", "phone", "address", "buyer_id", "province", "city", "district", "postcode")
NUMBERS = set(schema.NUMBER_FIELDS)
TIMES = set(schema.TIMESTAMP_FIELDS)
STATUS_FIELDS = ("status", "payment_status", "aftersale_status")
CLOSE = 6.0  # candidates this close are ambiguous: inspect prints them


@dataclass
class Match:
    """One reading of one column."""

    field: str
    header: str
    how: str
    score: float
    detail: str = ""


@dataclass
class Recognition:
    """The outcome for one file."""

    mapping: dict[str, str]                                      # field -> header
    matches: dict[str, Match]                                    # field -> how it was found
    unused: dict[str, str]                                       # header -> why it is unused
    candidates: dict[str, list[Match]] = field(default_factory=dict)   # header -> readings
    rejected: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # header -> (field, why)

    def ambiguous(self) -> list[str]:
        """Headers with a close second reading, or whose field another column also claimed."""
        out = []
        for h, cands in self.candidates.items():
            ok = sorted(cands, key=lambda m: -m.score)
            if len(ok) > 1 and ok[0].score - ok[1].score < CLOSE and ok[0].how != CONFIG:
                out.append(h)
        for f, m in self.matches.items():
            if m.how in (CONFIG,):
                continue
            rivals = [c for h, cs in self.candidates.items() if h != m.header for c in cs if c.field == f]
            if any(m.score - r.score < CLOSE for r in rivals) or m.how == VALUE:
                out.append(m.header)
        return list(dict.fromkeys(out))

    def closest(self, field_name: str, n: int = 3) -> list[str]:
        """Unused headers most like ``field_name``: rejected readings first, then by spelling."""
        near = [h for h, rs in self.rejected.items() if h in self.unused and any(f == field_name for f, _ in rs)]
        words = [w for k, ms in MEANINGS.items() for m in ms if m.field == field_name for w in m.terms]
        words += [a for a, f in ORDER_INDEX.items() if f == field_name]
        scored = []
        for h in self.unused:
            if h in near:
                continue
            nh = normalise(h)
            best = max((difflib.SequenceMatcher(None, nh, normalise(w)).ratio() for w in words), default=0)
            if best >= 0.4:
                scored.append((best, h))
        return (near + [h for _, h in sorted(scored, reverse=True)])[:n]


def _field_meaning(field_name: str):
    for ms in MEANINGS.values():
        for m in ms:
            if m.field == field_name:
                return m
    return None


def _kind(h: Header) -> str | None:
    """The kind announced by the header's last role word (Chinese puts it last)."""
    best: tuple[int, float, int] | None = None
    kind = None
    for rank, k in enumerate(KIND_ORDER):
        spec, pos = best_term(h, ROLES[k])
        if pos is None:
            continue
        key = (pos, spec, -rank)
        if best is None or key > best:
            best, kind = key, k
    return kind


def _vetoed(h: Header, kind: str) -> bool:
    """Whether a veto word of the kind is in the header, outside a party word (往来单位名称 is
    the store's name, though 单位 alone is a unit of sale)."""
    terms = KIND_VETO.get(kind, ())
    if not has_any(h, terms):
        return False
    if not has_any(h, PARTY):
        return True
    return has_any(analyse(re.sub("|".join(PARTY), " ", h.joined)), terms)


def _region(h: Header) -> list[Match]:
    out = []
    bonus = bias(h.raw, REGION_PREFER, REGION_AVOID)
    for f, terms in REGION.items():
        spec, pos = best_term(h, terms)
        if pos is not None:
            out.append(Match(f, h.raw, MEANING, SCORE[MEANING] + 10 + spec + bonus, "region word"))
    for prefix in REGION_PREFIXES:
        if h.joined.startswith(prefix) and h.joined[len(prefix):] in REGION_SINGLE:
            f = REGION_SINGLE[h.joined[len(prefix):]]
            out.append(Match(f, h.raw, MEANING, SCORE[MEANING] + 12 + bonus, "region word"))
            break
    return out


def meanings(raw: str) -> list[Match]:
    """Every field the header's words can mean, scored (no values consulted)."""
    return list(_meanings(raw))


@lru_cache(maxsize=4096)
def _meanings(raw: str) -> tuple[Match, ...]:
    h = analyse(raw)
    out: list[Match] = []
    for term, f in STRONG:
        if find(h, term) is not None:
            out.append(Match(f, raw, MEANING, SCORE[MEANING] + 15 + specificity(term), f"“{term}”"))
    out += _region(h)
    if has_any(h, ("email", "邮箱", "e mail")):
        out.append(Match("buyer_id", raw, MEANING, SCORE[MEANING] + 8, "an e-mail identifies the buyer"))
    kind = _kind(h)
    if kind is None or _vetoed(h, kind):
        return tuple(out)
    if kind == "method" and not any(has_any(h, m.terms) for m in MEANINGS["method"]):
        return tuple(out)
    within: list[tuple[bool, Match]] = []
    for rank, m in enumerate(MEANINGS[kind]):
        if has_any(h, m.exclude):
            continue
        spec, pos = best_term(h, m.terms)
        if pos is None:
            continue
        score = SCORE[MEANING] + spec + bias(raw, m.prefer, m.avoid) - 0.01 * rank
        within.append((m.base, Match(m.field, raw, MEANING, score, f"{kind} word + concept")))
    if any(not base for base, _ in within):  # a specific reading (discount, payment …) beats a generic one
        within = [(b, Match(m.field, m.header, m.how, m.score - 10, m.detail) if b else m) for b, m in within]
    within = [m for _, m in within]
    # one reading of the words wins; the others stay as fallbacks should the values refuse it
    within.sort(key=lambda m: -m.score)
    out += within[:1] + [Match(m.field, raw, MEANING, m.score - CLOSE, m.detail) for m in within[1:]]
    return tuple(out)


# -- the values' say ------------------------------------------------------------------------
def fit(m: Match, p: Profile) -> tuple[Match | None, str]:
    """The candidate adjusted by the values, or None with the reason it does not fit.

    Values decide between readings by meaning (70 % of them must fit the field's type); an
    exact alias is a clear header, so wrong values there are the rows' fault (they are
    quarantined one by one), not the header's: only masked or digit-free personal data, or a
    more specific reading (an address column of provinces), sets it aside.
    """
    f = m.field
    if p.empty:  # an empty column is a poor choice when a filled one says the same
        return Match(f, m.header, m.how, m.score - 20, m.detail), ""
    need = 0.0 if m.how == ALIAS else 0.7
    example = f"'{p.samples[0]}'" if p.samples else ""
    if p.masked >= 0.9 and f in PERSONAL:
        return None, f"values are masked ({example})"
    if f in TIMES:
        if p.date >= need:
            return Match(f, m.header, m.how, m.score + 5, m.detail), ""
        if max(p.serial, p.epoch) >= 0.8 and m.how != VALUE:
            return Match(f, m.header, m.how, m.score, "numeric timestamps"), ""
        return None, f"values are not dates ({example})"
    if f in NUMBERS:
        if p.number >= need:
            return Match(f, m.header, m.how, m.score + 2 * (p.integer >= 0.9 and f == "quantity"), m.detail), ""
        return None, f"values are not numbers ({example})"
    if f == "line_no":
        return (Match(f, m.header, m.how, m.score, m.detail), "") if p.small_int >= max(need, 0.9 * (need > 0)) else (
            None, f"values are not line numbers ({example})")
    if f == "phone":
        if p.phone >= 0.5 or (m.how == ALIAS and p.digits >= 0.5):
            return Match(f, m.header, m.how, m.score + 5 * (p.mobile >= 0.5), m.detail), ""
        return None, f"values are not phone numbers ({example})"
    if f == "province" and "state" in analyse(m.header).tokens:
        if max(p.province, p.region_code) >= 0.5:
            return Match(f, m.header, m.how, m.score + 5, "values are regions"), ""
        return None, "values are not regions"
    if f in STATUS_FIELDS and "state" in analyse(m.header).tokens and max(p.province, p.region_code) >= 0.5:
        return None, "values are regions, not states of an order"
    if f in STATUS_FIELDS:
        return Match(f, m.header, m.how, m.score + 8 * (p.status >= 0.3), m.detail), ""
    if f == "address" and p.province >= 0.8:
        return None, "values are provinces only"
    if f == "order_id" and p.date >= 0.8:
        return None, f"values are dates ({example})"
    return m, ""


def _from_values(header: str, p: Profile) -> list[Match]:
    """Readings from the values alone, for headers nothing else matched."""
    out = []
    if p.status >= 0.8 and (p.distinct <= 0.5 or p.n <= 10):
        out.append(Match("status", header, VALUE, SCORE[VALUE], "values are status words"))
    if p.mobile >= 0.9:
        out.append(Match("phone", header, VALUE, SCORE[VALUE], "values are mobile numbers"))
    if p.province >= 0.9:
        out.append(Match("province", header, VALUE, SCORE[VALUE] + 25, "values are provinces"))
    return out


def _alias(header: str, p: Profile) -> list[Match]:
    norm = normalise(header)
    if norm in VALUE_GATED:
        f, need = VALUE_GATED[norm]
        if getattr(p, need) >= 0.8:
            return [Match(f, header, ALIAS, SCORE[ALIAS] - 5, "values look like order numbers")]
        return []
    if norm in WEAK_ALIASES:
        return [Match(WEAK_ALIASES[norm], header, ALIAS, 25.0, "a bare identifier column")]
    f = ORDER_INDEX.get(norm) or ORDER_INDEX.get(_without_brackets(header))
    detail = "exact alias"
    if not f and "/" in header and header.isascii():   # Odoo's "Order Lines/Quantity"
        f, detail = ORDER_INDEX.get(normalise(header.rsplit("/", 1)[1])), "alias of the last path part"
    if not f:
        return []
    m = _field_meaning(f)
    lean = bias(header, m.prefer, m.avoid) if m else 0.0
    return [Match(f, header, ALIAS, SCORE[ALIAS] + lean - (5 if detail != "exact alias" else 0), detail)]


def _buyer_company(headers: list[str], profiles: Mapping[str, Profile], mapping: Mapping[str, str],
                   used: set[str]) -> Match | None:
    """A file with no store column whose orders each name the buying company (Shopify B2B's
    ``Billing Company``, 客户公司): the company is who orders, i.e. the store.  Only when
    nearly every order names one (a retail export's occasional company is not a store)."""
    ref = profiles.get(mapping.get("consignee") or mapping.get("order_id") or "", Profile())
    best: tuple[float, int, str] | None = None
    for pos, h in enumerate(headers):
        w = analyse(h)
        if h in used or not has_any(w, COMPANY) or has_any(w, COMPANY_VETO):
            continue
        # the payer's or buyer's company (Billing Company, 客户公司), or a bare Company column —
        # not a ship-to company (a retail parcel's office address) nor the seller's own
        if not (has_any(w, COMPANY_BUYER) or normalise(h) in COMPANY_BARE):
            continue
        p = profiles.get(h, Profile())
        # every order names one, and not all the same one (Odoo's Company is the seller's)
        if p.empty or p.n < 0.8 * ref.n or p.number >= 0.5 or p.distinct * p.n < 2:
            continue
        key = (bias(h, COMPANY_BUYER, ()), -pos, h)
        best = key if best is None or key > best else best
    if best is None:
        return None
    return Match("store_name", best[2], MEANING, SCORE[MEANING], "the buying company names the store")


def recognise(headers: list[str], profiles: Mapping[str, Profile],
              explicit: Mapping[str, str] | None = None) -> Recognition:
    """Map a file's headers to canonical fields (see the module docstring)."""
    mapping: dict[str, str] = {}
    matches: dict[str, Match] = {}
    used: set[str] = set()
    by_norm = {normalise(h): h for h in reversed(headers)}
    for f, wanted in (explicit or {}).items():
        hit = wanted if wanted in headers else by_norm.get(normalise(wanted))
        if hit is not None and hit not in used and f in schema.CANONICAL:
            mapping[f], matches[f] = hit, Match(f, hit, CONFIG, SCORE[CONFIG], "sources[].columns")
            used.add(hit)
    candidates: dict[str, list[Match]] = {}
    rejected: dict[str, list[tuple[str, str]]] = {}
    pool: list[tuple[float, int, Match]] = []
    for pos, h in enumerate(headers):
        if h in used:
            continue
        p = profiles.get(h, Profile())
        readings = _alias(h, p) + meanings(h)
        if not readings:
            readings = _from_values(h, p)
        elif any(m.field == "address" for m in readings) and p.province >= 0.8:
            readings.append(Match("province", h, VALUE, SCORE[ALIAS] + 5, "values are provinces only"))
        kept: dict[str, Match] = {}
        for m in readings:
            adj, why = fit(m, p)
            if adj is None:
                if (m.field, why) not in rejected.get(h, []):
                    rejected.setdefault(h, []).append((m.field, why))
            elif m.field not in kept or adj.score > kept[m.field].score:
                kept[m.field] = adj
        if kept:
            candidates[h] = list(kept.values())
            # a column competes with its best reading only: losing a field to a better column
            # does not make it the next field its words could mean
            best = max(kept.values(), key=lambda m: m.score)
            pool.append((best.score, -pos, best))
    for _, _, m in sorted(pool, key=lambda x: (x[0], x[1]), reverse=True):
        if m.field in mapping or m.header in used:
            continue
        mapping[m.field], matches[m.field] = m.header, m
        used.add(m.header)
    if "store_id" not in mapping and "store_name" not in mapping:
        m = _buyer_company(headers, profiles, mapping, used)
        if m is not None:
            mapping[m.field], matches[m.field] = m.header, m
            used.add(m.header)
    unused: dict[str, str] = {}
    for h in headers:
        if h in used:
            continue
        if h in candidates:
            best = max(candidates[h], key=lambda m: m.score)
            unused[h] = f"also read as {best.field}; '{mapping.get(best.field)}' fits it better"
        elif h in rejected:
            unused[h] = "; ".join(f"{f}: {why}" for f, why in rejected[h])
        else:
            unused[h] = "not an order field we know"
    return Recognition(mapping, matches, unused, candidates, rejected)


__all__ = ["Match", "Recognition", "analyse", "fit", "meanings", "recognise"]
