"""Exact header aliases, and the normalisation every header comparison goes through.

A header is normalised (NFKC full-width -> half-width, traditional -> simplified Chinese,
strip, lower-case, BOM and spaces, underscores, hyphens, dots, brackets and ``*`` markers
removed) and looked up in an alias table; if that fails, bracketed parts (units such as
``单价(元)``) are removed and it is looked up again.  For order files these exact aliases are
the first step of ``ingest.recognise``, which then reads the remaining headers by meaning; the
catalog is mapped by aliases alone.  A source's explicit ``columns`` mapping wins.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Mapping

from .vocabulary import TRAD_MAP

ORDER_ALIASES: dict[str, list[str]] = {
    "order_id": ["订单号", "订单编号", "单号", "订单id", "订单号码", "订单代码",
                 "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "orderno",
                 "ordernumber", "ordercode", "order", "salesorder", "purchaseorder", "po", "ponumber"],
    "line_no": ["行号", "明细行号", "明细序号", "行项目", "lineno", "linenumber", "lineid",
                "lineitem"],
    "store_id": ["门店编号", "门店代码", "门店id", "门店编码", "门店号", "店铺编号", "店铺代码",
                 "店铺id", "店号", "客户编号", "客户代码", "客户编码", "往来单位编号", "往来单位编码",
                 "往来单位代码", "客商编码", "客商编号", "购货单位编码", "storeid", "storecode",
                 "storeno", "shopid", "shopcode"],
    "store_name": ["门店名称", "店铺名称", "门店", "店铺", "店名", "客户名称", "客户", "往来单位",
                   "往来单位名称", "往来单位全名", "购货单位", "客商", "客商名称", "storename",
                   "shopname"],
    "buyer_id": ["买家会员名", "买家账号", "买家昵称", "买家id", "会员名", "会员编号", "会员id",
                 "用户id", "客户网名", "customerid", "customerno", "customer", "buyerid", "buyer",
                 "buyeremail", "memberid", "userid"],
    "created_at": ["下单时间", "创建时间", "订单时间", "下单日期", "订单日期", "订购时间",
                   "日期", "时间", "invoicedate", "orderdate", "ordertime", "createdat",
                   "createtime", "createdtime", "created", "orderedat", "date"],
    "confirmed_at": ["确认时间", "审核时间", "审单时间", "接单时间", "confirmedat",
                     "confirmtime", "confirmedtime", "approvedat"],
    "paid_at": ["支付时间", "付款时间", "付款日期", "支付日期", "paidat", "paytime",
                "paymenttime", "paidtime"],
    "picked_at": ["拣货时间", "拣货完成时间", "拣货完成", "pickedat", "picktime",
                  "pickedtime"],
    "shipped_at": ["发货时间", "出库时间", "发运时间", "发货日期", "shippedat", "shiptime",
                   "shippedtime", "shipdate", "dispatchedat"],
    "delivered_at": ["签收时间", "送达时间", "妥投时间", "收货时间", "deliveredat",
                     "deliverytime", "deliveredtime", "signedat"],
    "status": ["订单状态", "状态", "单据状态", "status", "orderstatus"],
    "sku": ["商品编码", "商品编号", "商品代码", "商家编码", "规格编码", "货号", "sku", "sku编码", "skuid",
            "skucode", "物料编码", "物料号", "stockcode", "itemcode", "productcode", "articleno"],
    "product_name": ["商品名称", "品名", "商品", "商品名", "货品名称", "物料名称", "选购商品", "description",
                     "productname", "itemname", "product", "item"],
    "quantity": ["数量", "订购数量", "下单数量", "购买数量", "订货数量", "商品数量", "件数",
                 "qty", "quantity", "orderqty", "orderedqty"],
    "unit_price": ["单价", "商品单价", "销售单价", "成交单价", "unitprice", "price",
                   "saleprice"],
    "line_amount": ["金额", "小计", "行金额", "商品金额", "明细金额", "行小计", "lineamount",
                    "amount", "linetotal", "itemprice"],
    "order_amount": ["订单金额", "订单总额", "应付金额", "订单总金额", "总金额", "合计金额",
                     "ordertotal", "orderamount", "total", "totalamount", "grandtotal"],
    "paid_amount": ["实付金额", "实收金额", "实付", "支付金额", "付款金额", "paidamount",
                    "amountpaid", "paid", "payment amount"],
    "payment_method": ["支付方式", "付款方式", "结算方式", "paymentmethod", "paymenttype",
                       "paymethod", "payment"],
    "consignee": ["收货人", "收件人", "收货人姓名", "联系人", "consignee", "receiver",
                  "recipient", "shipto", "contactname"],
    "phone": ["联系电话", "联系手机", "手机号", "电话", "收货人电话", "收货人手机", "手机", "手机号码",
              "联系方式", "mobile", "phone", "tel", "telephone", "phonenumber"],
    "province": ["省", "省份", "收货省份", "province", "state/province", "stateprovince"],
    "city": ["市", "城市", "收货城市", "city"],
    "district": ["区", "区县", "县区", "收货区县", "district", "county"],
    "address": ["详细地址", "收货地址", "地址", "街道地址", "street", "address",
                "shippingaddress", "addressline"],
    "postcode": ["邮编", "邮政编码", "postcode", "zip", "zipcode", "postalcode"],
    "country": ["国家", "国家地区", "国家/地区", "country", "countryregion"],
}

CATALOG_ALIASES: dict[str, list[str]] = {
    "sku": ["商品编码", "商品编号", "商品代码", "商品id", "货号", "sku", "sku编码", "skuid",
            "skucode", "物料编码", "条码", "stockcode", "itemcode", "productcode", "productid"],
    "product_name": ["商品名称", "品名", "商品", "商品名", "货品名称", "物料名称", "description",
                     "productname", "itemname", "name"],
    "order_step": ["订货步长", "订购倍数", "步长", "箱规", "包装规格", "订货倍数", "起订倍数",
                   "orderstep", "packsize", "casepack", "casesize", "step"],
    "min_order_qty": ["最小起订量", "起订量", "最小订货量", "最低起订量", "moq",
                      "minorderqty", "minqty", "minimumorderquantity"],
    "list_price": ["标准单价", "标准价", "单价", "售价", "零售价", "listprice", "price",
                   "unitprice", "standardprice"],
    "fresh": ["是否生鲜", "生鲜", "fresh", "isfresh"],
    "stock": ["库存", "库存数量", "当前库存", "stock", "onhand", "qtyonhand", "inventory"],
}

_REMOVE = re.compile(r"[\s_\-\.\(\)\[\]\{\}<>《》【】（）〔〕\*:：'\"`]+")
_BRACKETED = re.compile(r"[\(\[（【〔《<][^\)\]）】〕》>]*[\)\]）】〕》>]")


def normalise(header: str) -> str:
    """``' 订单_号（Order No.）'`` -> ``'订单号orderno'``; full-width to half-width."""
    h = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "").strip().lower()
    return _REMOVE.sub("", h.translate(TRAD_MAP))


def _without_brackets(header: str) -> str:
    h = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "")
    return normalise(_BRACKETED.sub("", h))


def alias_index(aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """normalised alias -> canonical field (canonical names themselves included)."""
    index: dict[str, str] = {}
    for field, names in aliases.items():
        for name in [field, *names]:
            index.setdefault(normalise(name), field)
    return index


ORDER_INDEX = alias_index(ORDER_ALIASES)
CATALOG_INDEX = alias_index(CATALOG_ALIASES)


def map_headers(
    headers: list[str],
    index: Mapping[str, str],
    explicit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """canonical field -> header of the file.

    ``explicit`` (canonical -> header, from the source config) wins; its headers match exactly,
    else after normalisation.  Remaining headers are matched by alias, left-most wins.
    """
    mapping: dict[str, str] = {}
    used: set[str] = set()
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise(h), h)
    for field, wanted in (explicit or {}).items():
        hit = wanted if wanted in headers else by_norm.get(normalise(wanted))
        if hit is not None and hit not in used:
            mapping[field] = hit
            used.add(hit)
    for pass_fn in (normalise, _without_brackets):
        for h in headers:
            if h in used:
                continue
            field = index.get(pass_fn(h))
            if field and field not in mapping:
                mapping[field] = h
                used.add(h)
    return mapping
