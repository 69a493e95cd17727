"""Which column of a catalog (SKU master, 商品档案) holds which field: aliases, then meaning.

ERPs name the same facts differently: the order step is 订货倍数 (聚水潭), 递增量 (管家婆),
箱规 / 装箱数 / 入数 (a chain's 商品资料), ``Order Multiple`` / ``Case Pack`` / ``Units per
Case``; the minimum is 起订量 / 起订数量 / 最小起订量 / ``MOQ`` / ``Min Order Qty``; the price
a store pays is 批发价 / 配送价 / 供货价 / 标准单价; the name 商品全名 / 品名 / ``Description``.
Exact aliases (``ingest.headers.CATALOG_ALIASES``) come first; a header left over is read by
its words (``ingest.header_words``): the most specific concept word of a field wins, and a
number field must hold numbers.  An explicit ``catalog.columns`` mapping always wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from .header_words import analyse, best_term, bias, has_any
from .headers import CATALOG_INDEX, map_headers
from .profile import Profile

#: field -> concept words, most specific first (any one reads the header as that field)
WORDS: dict[str, tuple[str, ...]] = {
    # a multiple a quantity must be keyed in: the step beats the minimum (起订倍数 is a step)
    "order_step": ("步长", "倍数", "递增", "增量", "箱规", "装箱数", "箱装数", "每箱", "箱含量", "包装数",
                   "包装数量", "件装数", "入数", "中包", "订货单位数", "order multiple", "multiple",
                   "increment", "step", "pack size", "case pack", "case size", "case qty",
                   "units per case", "inner pack", "pack qty", "pack quantity", "casepack"),
    "min_order_qty": ("起订", "最小起订", "最低起订", "最小订", "最低订", "最少订", "起购", "最小购买",
                      "最低购买", "最小采购", "moq", "minimum order", "min order", "minimum qty",
                      "min qty", "minimum quantity", "min quantity"),
    "list_price": ("批发价", "配送价", "供货价", "标准价", "标准单价", "销售价", "售价", "单价", "价格", "订货价",
                   "零售价", "价", "unit price", "wholesale price", "list price", "price", "cost price"),
    "stock": ("库存", "存量", "结存", "现存", "在库", "stock", "on hand", "inventory", "available"),
    "fresh": ("生鲜", "鲜品", "冷链", "短保", "fresh", "perishable", "chilled"),
    "product_name": ("全名", "名称", "品名", "商品名", "货品名", "标题", "name", "title", "description"),
    "sku": ("编码", "编号", "代码", "货号", "条码", "sku", "code", "id", "item no", "item number",
            "part number", "product no"),
}
#: per field: words that make a header NOT that field (a purchase cost is not what a store pays)
AVOID: dict[str, tuple[str, ...]] = {
    "list_price": ("成本", "进价", "采购", "进货", "会员", "促销", "cost", "purchase", "promo", "msrp", "rrp"),
    "sku": ("类别", "分类", "品牌", "供应商", "仓库", "category", "brand", "supplier", "vendor", "warehouse"),
    "product_name": ("类别", "分类", "品牌", "供应商", "仓库", "单位", "规格", "category", "brand", "supplier",
                     "vendor", "unit"),
    "order_step": ("单位", "unit of measure", "uom"),
}
PREFER: dict[str, tuple[str, ...]] = {"list_price": ("批发", "配送", "供货", "标准", "wholesale", "list")}
NUMERIC = ("order_step", "min_order_qty", "list_price", "stock")
#: a header naming one of these fields by its own words is read in this order when several could
ORDER = ("order_step", "min_order_qty", "list_price", "stock", "fresh", "product_name", "sku")


def readings(header: str) -> list[tuple[str, float]]:
    """(field, score) for every field the header's words can mean, best first."""
    h = analyse(header)
    out = []
    for rank, f in enumerate(ORDER):
        if has_any(h, AVOID.get(f, ())):
            continue
        spec, pos = best_term(h, WORDS[f])
        if pos is None:
            continue
        out.append((f, 30.0 + spec + bias(header, PREFER.get(f, ()), ()) - 0.5 * rank))
    # the step is named by a multiple: a step word beats the minimum's word in the same header
    if any(f == "order_step" for f, _ in out):
        out = [(f, s) for f, s in out if f != "min_order_qty"]
    return sorted(out, key=lambda r: -r[1])


def _fits(field: str, p: Profile) -> bool:
    if p.empty:
        return True
    return p.number >= 0.7 if field in NUMERIC else True


def recognise_catalog(headers: list[str], profiles: Mapping[str, Profile],
                      explicit: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(field -> header, field -> how: config | alias | meaning)."""
    mapping = map_headers(headers, CATALOG_INDEX, explicit)
    how = {f: ("config" if explicit and f in explicit else "alias") for f in mapping}
    used = set(mapping.values())
    pool = []
    for pos, h in enumerate(headers):
        if h in used:
            continue
        p = profiles.get(h, Profile())
        for f, score in readings(h):
            if f not in mapping and _fits(f, p):
                pool.append((score - (20 if p.empty else 0), -pos, f, h))
                break
    for _, _, f, h in sorted(pool, reverse=True):
        if f in mapping or h in used:
            continue
        mapping[f], how[f] = h, "meaning"
        used.add(h)
    return mapping, how
