"""Which column of a store master (门店档案) holds which field: aliases, then meaning, then values.

The same machinery as the order files (``ingest.header_words`` reads a header as words, the
last role word says what kind of value it holds; ``ingest.profile`` says what the values
are), with the store master's own small vocabulary: a store's id and name, its region, its
credit limit, and how to reach its manager (name, phone, e-mail, a webhook).  Headers are
written the way ERPs and spreadsheets write them: 门店编码, 客户编号, 店铺名称, 所属区域,
信用额度(元), 授信额度, 店长, 店长手机, 负责人邮箱, 钉钉机器人, ``Store Code``,
``Credit Limit``, ``Manager Email`` …  An explicit ``stores.columns`` mapping always wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .header_words import analyse, best_term, has_any
from .headers import alias_index, normalise
from .profile import Profile

FIELDS = ("store_id", "store_name", "region", "credit_limit", "manager", "phone", "email", "webhook")

ALIASES: dict[str, list[str]] = {
    "store_id": ["门店编号", "门店编码", "门店代码", "门店id", "门店号", "店铺编号", "店铺编码", "店铺id", "店号",
                 "客户编号", "客户编码", "客户代码", "往来单位编号", "往来单位编码", "客商编码", "storeid", "storecode",
                 "storeno", "shopid", "shopcode",
                 "customerid", "customerno", "customercode", "accountno", "branchcode"],
    "store_name": ["门店名称", "门店", "店铺名称", "店铺", "店名", "客户名称", "客户", "往来单位", "往来单位名称",
                   "购货单位", "客商名称", "storename", "shopname",
                   "customername", "branchname", "accountname"],
    "region": ["区域", "所属区域", "大区", "片区", "地区", "销售区域", "region", "area", "territory", "zone"],
    "credit_limit": ["信用额度", "授信额度", "赊销额度", "欠款额度", "信用限额", "额度", "creditlimit",
                     "creditline", "credit"],
    "manager": ["店长", "店长姓名", "负责人", "联系人", "店主", "manager", "storemanager", "contact",
                "contactname", "owner"],
    "phone": ["店长电话", "店长手机", "联系电话", "手机", "电话", "手机号", "联系方式", "phone", "mobile", "tel"],
    "email": ["邮箱", "店长邮箱", "电子邮箱", "email", "e-mail", "manageremail", "mail"],
    "webhook": ["webhook", "钉钉机器人", "企业微信机器人", "机器人地址", "通知地址", "webhookurl"],
}
INDEX = alias_index(ALIASES)

#: role words (the kind of value); the last one in a header decides, as Chinese puts it last
ROLES: dict[str, tuple[str, ...]] = {
    "phone": ("电话", "手机", "手机号", "联系方式", "phone", "mobile", "tel", "telephone", "cell"),
    "email": ("邮箱", "邮件", "电子邮件", "email", "e mail", "mail"),
    "webhook": ("webhook", "hook", "机器人", "robot", "通知地址", "回调"),
    "credit_limit": ("额度", "授信", "信用", "限额", "赊销", "欠款上限", "credit", "limit", "credit line"),
    "region": ("区域", "大区", "片区", "地区", "战区", "region", "area", "territory", "zone"),
    "name": ("名称", "名字", "姓名", "店名", "简称", "全称", "name"),
    "id": ("编码", "编号", "代码", "号", "id", "code", "no", "number", "#", "代号"),
}
#: concept words: whose name or id it is
STORE = ("门店", "店铺", "网店", "商店", "分店", "客户", "加盟商", "经销商", "终端", "store", "shop", "outlet",
         "branch", "customer", "account", "dealer", "retailer", "location")
MANAGER = ("店长", "负责人", "经理", "联系人", "老板", "店主", "manager", "owner", "contact", "person")

ALIAS, MEANING, VALUE, CONFIG = "alias", "meaning", "value", "config"


@dataclass(frozen=True)
class Reading:
    field: str
    header: str
    how: str
    score: float


def _by_words(header: str) -> list[Reading]:
    h = analyse(header)
    found = [(pos, spec, role) for role, terms in ROLES.items()
             for spec, pos in [best_term(h, terms)] if pos is not None]
    if not found:
        return [Reading("manager", header, MEANING, 30.0)] if has_any(h, MANAGER) else []
    _, spec, role = max(found)
    about_manager = has_any(h, MANAGER)
    field = {"id": "store_id", "name": "manager" if about_manager and not has_any(h, STORE) else "store_name"}.get(
        role, role)
    return [Reading(field, header, MEANING, 30.0 + spec)]


def _fits(r: Reading, p: Profile, text: Mapping[str, float]) -> Reading | None:
    """The reading adjusted by the values (an empty column loses to a filled one)."""
    if p.empty:
        return Reading(r.field, r.header, r.how, r.score - 20)
    if r.field == "credit_limit" and p.number < 0.7:
        return None
    if r.field == "phone" and p.phone < 0.5:
        return None
    if r.field == "email" and text.get("email", 0.0) < 0.5:
        return None
    if r.field == "webhook" and text.get("url", 0.0) < 0.5:
        return None
    return r


def _by_values(header: str, p: Profile, text: Mapping[str, float]) -> list[Reading]:
    out = []
    if text.get("email", 0.0) >= 0.8:
        out.append(Reading("email", header, VALUE, 18.0))
    if text.get("url", 0.0) >= 0.8:
        out.append(Reading("webhook", header, VALUE, 18.0))
    if p.mobile >= 0.9:
        out.append(Reading("phone", header, VALUE, 18.0))
    return out


def recognise(headers: list[str], profiles: Mapping[str, Profile], shapes: Mapping[str, Mapping[str, float]],
              explicit: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(field -> header, field -> how it was found, unused header -> why)."""
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    used: set[str] = set()
    by_norm = {normalise(h): h for h in reversed(headers)}
    for f, wanted in (explicit or {}).items():
        hit = wanted if wanted in headers else by_norm.get(normalise(wanted))
        if hit is not None and f in FIELDS and hit not in used:
            mapping[f], how[f] = hit, CONFIG
            used.add(hit)
    pool: list[tuple[float, int, Reading]] = []
    rejected: dict[str, str] = {}
    for pos, h in enumerate(headers):
        if h in used:
            continue
        p, text = profiles.get(h, Profile()), shapes.get(h, {})
        alias = INDEX.get(normalise(h))
        readings = ([Reading(alias, h, ALIAS, 60.0)] if alias else []) + _by_words(h)
        readings = readings or _by_values(h, p, text)
        kept = [k for k in (_fits(r, p, text) for r in readings) if k is not None]
        if readings and not kept:
            rejected[h] = f"read as {readings[0].field}, but its values are not"
        if kept:
            best = max(kept, key=lambda r: r.score)
            pool.append((best.score, -pos, best))
    for _, _, r in sorted(pool, key=lambda x: (x[0], x[1]), reverse=True):
        if r.field in mapping or r.header in used:
            continue
        mapping[r.field], how[r.field] = r.header, r.how
        used.add(r.header)
    unused = {h: rejected.get(h, "not a store master field we know") for h in headers if h not in used}
    return mapping, how, unused
