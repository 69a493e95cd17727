"""The words order exports use, by meaning: what ``ingest.recognise`` reads headers with.

A header is read as a *role* word (what kind of value: a time, an amount, a number, a name …)
and a *concept* word (of what: the order, the payment, the shipment, the buyer …).  Chinese
puts the role last (订单 创建 **时间**, 买家实际支付 **金额**); English may put it anywhere
(**Date** Created, Order **Date**), so the last role word found decides, Chinese first.

The words come from the exports of Taobao/Tmall (订单编号, 买家会员名, 买家实际支付金额,
宝贝总数量, 宝贝标题, 订单创建时间, 订单付款时间, 确认收货时间, 联系手机 …), JD (采购单号,
商品名称, sku数量, 业务日期 …), Pinduoduo (商品数量(件), 用户实付金额(元), 商家编码-SKU维度,
承诺发货时间, 拼单成功时间 …), Douyin shop (主订单编号, 选购商品, 订单提交时间, 支付完成时间,
订单完成时间 …), Youzan and WeChat shops (订单实付金额, 收货人/提货人, 最晚发货时间 …),
Meituan/Ele.me retail (门店名称, 顾客实付, 预计送达时间 …), ERPs and WMSs (旺店通 原始单号 /
客户网名 / 货品名称; 聚水潭 内部订单号 / 线上订单号 / 买家账号; 管家婆 审核时间 / 合计应收 /
应收邮资; 金蝶 / 用友 单据编号 / 存货编码 / 价税合计; 吉客云 货品编号 / 网店订单号 …),
Shopify (Name, Financial Status, Paid at, Fulfilled at, Lineitem quantity, Lineitem sku,
Shipping Phone …), WooCommerce (order_number, order_total, cart_discount, billing_phone …),
Amazon (amazon-order-id, purchase-date, quantity-purchased, item-price, ship-postal-code,
LatestShipDate …), Magento (Purchase Date, Bill-to Name, Grand Total (Purchased) …), Odoo
(Order Reference, Order Date, Order Lines/Quantity …), Olist (order_purchase_timestamp,
order_delivered_carrier_date, shipping_limit_date …) and Wayfair-style supplier PO exports
(PO Number, PO Date, Must Ship By, Item Number …).

Terms with a CJK character match as substrings of the normalised header; ASCII terms match
whole words (camelCase, snake_case and kebab-case are split; a trailing "s" is allowed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Meaning:
    """How one canonical field is named within a role kind."""

    field: str
    terms: tuple[str, ...]                 # concept words (any one)
    prefer: tuple[str, ...] = ()           # +bonus: the usual column of several
    avoid: tuple[str, ...] = ()            # -malus: a secondary column (billing, platform id …)
    exclude: tuple[str, ...] = ()          # never this field
    base: bool = False                     # the generic reading of its kind (total, price, order
                                           # time): any specific reading (discount, refund, paid …) beats it


#: role words, by the kind of value they announce
ROLES: dict[str, tuple[str, ...]] = {
    "time": ("时间", "日期", "时刻", "time", "date", "datetime", "timestamp", "at", "dt", "on"),
    "money": ("金额", "价格", "单价", "价", "费", "费用", "总额", "合计", "总计", "小计", "货款",
              "总价", "实付", "实收", "应付", "应收", "已付", "优惠", "折扣", "运费", "邮费", "邮资",
              "amount", "price", "total", "subtotal", "cost", "fee", "charge", "value", "sum",
              "discount", "freight", "postage", "shipping", "refund"),
    "quantity": ("数量", "件数", "总数", "个数", "qty", "quantity", "units", "pcs", "pieces",
                 "count", "number of items", "number of units"),
    "phone": ("电话", "手机", "联系方式", "座机", "固话", "固定电话", "手机号", "手机号码", "电话号码", "联系电话",
              "tel", "phone", "mobile", "telephone", "cell", "cellphone", "landline", "phone number",
              "mobile number", "telephone number", "phone no", "tel no"),
    "address": ("地址", "街道", "address", "street", "addr", "address1", "addressline"),
    "status": ("状态", "状况", "status", "state"),
    "method": ("方式", "渠道", "模式", "method", "gateway"),
    "id": ("号", "编号", "编码", "代码", "单号", "号码", "码", "id", "no", "nr", "number", "num",
           "code", "ref", "reference", "#", "sku", "asin", "ean", "upc", "barcode", "gtin"),
    "name": ("名称", "名", "姓名", "标题", "品名", "昵称", "网名", "账号", "帐号", "收货人", "收件人", "提货人",
             "联系人", "name", "title", "nickname", "nick", "username", "description", "desc", "email",
             "邮箱", "account", "consignee", "recipient", "receiver"),
}
#: kinds checked for a role word, in this order when two end at the same place
KIND_ORDER: tuple[str, ...] = ("time", "quantity", "money", "phone", "address", "status",
                               "method", "id", "name")

#: the party an ERP's sales document is made out to (管家婆 / 用友 / 金蝶: 往来单位, 购货单位,
#: 客商): on a platform's sales orders that is the ordering store.  单位 here is not a unit of
#: sale, so the veto word 单位 does not apply inside these words (``vetoed``)
PARTY: tuple[str, ...] = ("往来单位", "购货单位", "购买单位", "订货单位", "客商", "往来户")

#: the buyer's company, the store of a B2B export without a store column (``Billing Company``);
#: never a carrier's, a supplier's or an insurer's
COMPANY: tuple[str, ...] = ("company", "公司", "公司名称", "企业名称", "organization", "organisation",
                            "business name")
COMPANY_BUYER: tuple[str, ...] = ("billing", "bill", "bill to", "customer", "buyer", "client", "purchaser", "客户",
                                  "买家", "购货", "购买方", "购方", "采购方")
COMPANY_BARE: frozenset[str] = frozenset(("company", "companyname", "公司", "公司名称", "企业名称", "单位名称"))
COMPANY_VETO: tuple[str, ...] = ("快递", "物流", "承运", "运输", "供应商", "保险", "发货", "carrier", "courier",
                                 "logistics", "freight", "supplier", "vendor", "insurance", "insurer", "sender")

#: words that make a header of a kind mean none of our fields
KIND_VETO: dict[str, tuple[str, ...]] = {
    "time": ("更新", "修改", "最后", "打印", "导出", "同步", "生产", "有效", "过期", "出生", "生日",
             "注册", "入职", "上架", "下架", "评价", "开票", "发票", "结算", "updated", "update",
             "modified", "last", "printed", "print", "exported", "export", "synced", "expiry",
             "expiration", "expires", "birth", "birthday", "registered", "earliest", "review", "next",
             "backorder"),
    "money": ("成本", "佣金", "税额", "税金", "税费", "税率", "积分", "对账", "结算", "服务费", "保价", "押金", "定金", "余额", "利润", "毛利",
              "重量", "体积", "汇率", "比例", "原价", "吊牌", "市场价", "划线", "标价", "指导价",
              "tax", "vat", "commission", "points", "profit", "margin", "weight", "balance",
              "deposit", "compare", "msrp", "list price", "rrp", "duties", "duty", "gift", "wrap",
              "designation", "balance"),
    "quantity": ("退货", "退款", "已退", "退回", "库存", "可用", "在途", "种类", "起订", "最小",
                 "最大", "赠品", "包装", "stock", "available", "min", "max", "minimum", "maximum",
                 "moq", "unshipped", "returned", "refunded", "fulfillable", "inventory"),
    "phone": ("紧急", "发货人", "寄件", "发件", "emergency", "fax", "sender"),
    "address": ("发货地址", "退货地址", "寄件", "发件", "仓库地址", "门店地址", "邮箱", "email",
                "sender", "return", "ip", "url", "web", "warehouse"),
    "status": ("打印", "开票", "发票", "评价", "备注", "锁定", "标记", "同步", "审核人", "invoice",
               "print", "review", "sync", "tag", "flag", "risk", "tax", "marketing"),
    "method": ("退款", "退货", "refund", "return"),
    "id": ("类目", "类别", "分类", "品牌", "仓库", "库位", "批次", "供应商", "发票", "税号",
           "身份证", "证件", "category", "brand", "warehouse", "location", "batch", "lot",
           "supplier", "vendor", "tax", "discount", "coupon", "gift", "promotion", "campaign",
           "zip", "postal"),
    "name": ("规格", "类别", "分类", "品类", "类目", "品牌", "备注", "留言", "公司", "仓库", "业务员",
             "销售员", "操作员", "审核人", "制单人", "经办人", "发票", "单位", "供应商", "快递",
             "物流", "发货人", "寄件", "category", "brand", "note", "comment", "company",
             "warehouse", "salesperson", "operator", "vendor", "supplier", "carrier", "unit",
             "option", "discount", "tag", "source", "sender", "province", "city", "country",
             "state", "variant", "method", "gateway", "payment"),
}

#: within a kind, candidate fields in priority order (a tie in specificity goes to the first)
MEANINGS: dict[str, tuple[Meaning, ...]] = {
    "time": (
        Meaning("refund_requested_at", ("退款申请", "申请退款", "售后申请", "申请售后", "退货申请", "申请退货",
                                        "维权申请", "发起退款", "refund request", "refund requested",
                                        "return request", "return requested", "rma request",
                                        "requested refund", "refund requested date")),
        Meaning("refunded_at", ("退款", "退货", "售后", "退款完成", "退款成功", "退货完成", "refund",
                                "refunded", "return", "returned", "chargeback")),
        Meaning("cancelled_at", ("取消", "作废", "关闭", "撤销", "撤单", "交易关闭", "订单关闭", "cancel",
                                 "cancelled", "canceled", "cancellation", "void", "voided")),
        Meaning("deliver_by", ("预计送达", "承诺送达", "预计到达", "预计到货", "要求到货", "要求送达",
                               "期望送达", "最晚送达", "最迟送达", "预约送达", "预计收货", "计划到货", "交货",
                               "交期", "约定送达", "送达时限", "estimated delivery", "expected delivery",
                               "promised delivery", "deliver by", "delivery by", "delivery due",
                               "latest delivery", "requested delivery", "arrive by",
                               "estimated arrival", "expected arrival", "delivery deadline", "eta", "promise",
                               "promised", "预约配送", "期望配送", "要求配送", "预约送货")),
        Meaning("ship_by", ("最晚发货", "承诺发货", "发货截止", "截止发货", "要求发货", "计划发货", "预计发货",
                            "最迟发货", "应发货", "发货时限", "预约发货", "约定发货", "发货期限", "must ship",
                            "ship by", "shipping limit", "latest ship", "promised ship",
                            "expected ship", "estimated ship", "ship deadline", "dispatch by",
                            "ship before", "shipping deadline", "handling deadline", "预发货",
                            "promised shipping", "promised ship", "ship by date", "最晚揽收", "承诺揽收",
                            "揽收截止", "最迟揽收", "requested ship", "ship date latest")),
        Meaning("delivered_at", ("签收", "妥投", "送达", "收货", "到货", "确认收货", "到达", "delivered",
                                 "delivery", "received", "arrived", "arrival", "signed",
                                 "delivered customer")),
        Meaning("shipped_at", ("发货", "出货", "出库", "出仓", "发出", "发运", "揽收", "揽件", "寄出", "交运", "装车",
                               "shipped", "ship", "shipping", "shipment", "dispatched", "dispatch",
                               "fulfilled", "fulfillment", "fulfilment", "carrier",
                               "delivered carrier", "sent", "pickup", "outbound")),
        Meaning("picked_at", ("拣货", "配货", "分拣", "打包", "拣选", "备货", "装箱", "拣货完成", "配货完成",
                              "分拣完成", "打包完成", "picked", "pick", "picking", "packed", "pack",
                              "packing"),
                prefer=("拣货", "配货", "分拣", "pick"), exclude=("通知", "计划", "预计", "要求")),
        Meaning("confirmed_at", ("审核", "审单", "确认", "接单", "批准", "核准", "拼单成功", "成团", "通知配货",
                                 "审批", "confirmed", "confirm", "confirmation", "accepted", "accept",
                                 "acknowledged", "released")),
        Meaning("paid_at", ("付款", "支付", "收款", "到账", "支付完成", "付款完成", "支付成功", "付款成功", "付款确认",
                            "支付确认",
                            "paid", "payment", "pay", "approved", "charged", "captured")),
        Meaning("completed_at", ("完成", "交易成功", "交易完成", "订单完成", "结束", "完结", "completed",
                                 "complete", "completion", "finished", "done"), base=True),
        Meaning("created_at", ("下单", "创建", "订单", "订购", "提交", "成交", "交易", "业务", "单据", "开单",
                               "制单", "录入", "录单", "建单", "拍下", "购买", "销售", "发生", "订货", "采购", "要货",
                               "生成", "created", "create", "creation", "order", "ordered", "placed",
                               "purchase", "purchased", "submitted", "submit", "invoice", "sale",
                               "sales", "transaction", "business", "document", "booking", "po",
                               "entry"), base=True),
    ),
    "money": (
        Meaning("refund_amount", ("退款", "退货", "退还", "已退", "refund", "refunded", "return",
                                  "returned", "chargeback")),
        Meaning("discount_amount", ("优惠", "折扣", "减免", "抵扣", "满减", "红包", "券", "让利", "立减",
                                    "折让", "discount", "coupon", "promotion", "promo", "rebate",
                                    "markdown")),
        Meaning("shipping_fee", ("运费", "邮费", "快递费", "配送费", "邮资", "物流费", "运杂费", "shipping",
                                 "freight", "postage", "delivery fee", "delivery charge", "carriage")),
        Meaning("paid_amount", ("实付", "实收", "实际支付", "实际付款", "已付", "已收", "付款金额", "支付金额",
                                "实付款", "收款", "到账", "paid", "amount paid", "total paid",
                                "payment amount", "payment", "received", "collected"),
                avoid=("商家", "商户", "merchant", "seller")),
        Meaning("order_amount", ("订单", "总金额", "总额", "应付", "应收", "合计", "总计", "订单总价", "整单",
                                 "订单金额", "合计应收", "订单应付", "订单应收", "应付金额", "应收金额",
                                 "grand total", "order total", "total",
                                 "order", "total amount"),
                avoid=("base",), base=True),
        Meaning("unit_price", ("单价", "价格", "售价", "成交价", "销售价", "京东价", "现价", "折后价", "price",
                               "unit price", "unit cost", "each"),
                exclude=("总价", "total price", "item price"), base=True),
        Meaning("line_amount", ("金额", "小计", "行金额", "商品金额", "明细金额", "货款", "商品总价", "总价",
                                "价税合计", "含税金额", "成交金额", "销售金额", "货品金额", "amount",
                                "line total", "item total", "extended", "line amount",
                                "total price", "item price"), base=True),
    ),
    "quantity": (
        Meaning("quantity", ("数量", "件数", "总数", "个数", "qty", "quantity", "units", "pcs",
                             "pieces", "count"),
                prefer=("购买", "订购", "下单", "订货", "申报", "销售", "商品", "总", "purchased", "ordered",
                        "order", "lineitem"),
                avoid=("发货", "出库", "已发", "shipped", "dispatched", "fulfilled")),
    ),
    "phone": (
        Meaning("phone", ("电话", "手机", "联系方式", "座机", "固话", "tel", "phone", "mobile", "telephone",
                          "cell", "cellphone", "landline"),
                prefer=("手机", "mobile", "cell", "收货", "收件", "shipping", "ship", "recipient",
                        "consignee", "receiver"),
                avoid=("billing", "bill", "卖家", "商家", "门店", "店铺", "seller", "store", "shop",
                       "merchant")),
    ),
    "address": (
        Meaning("address", ("地址", "街道", "address", "street", "addr", "address1", "addressline"),
                prefer=("详细", "收货", "收件", "shipping", "ship", "street"),
                avoid=("billing", "bill", "2", "3")),
    ),
    "status": (
        Meaning("aftersale_status", ("售后", "退款", "退货", "维权", "refund", "return", "rma",
                                     "dispute")),
        Meaning("payment_status", ("支付", "付款", "财务", "financial", "payment", "pay")),
        Meaning("status", ("状态", "状况", "status", "state"),
                prefer=("订单", "交易", "order"),
                avoid=("物流", "发货", "配送", "审核", "fulfillment", "shipping", "courier", "delivery")),
    ),
    "method": (
        Meaning("payment_method", ("支付", "付款", "结算", "收款", "payment", "pay")),
        Meaning("shipping_method", ("配送", "运送", "运输", "物流", "发货", "快递", "送货", "寄送", "邮寄",
                                    "shipping", "shipment", "delivery", "ship", "carrier", "freight",
                                    "fulfillment", "fulfilment")),
    ),
    "id": (
        Meaning("tracking_no", ("物流单号", "快递单号", "运单号", "运单", "物流编号", "物流", "快递", "面单",
                                "包裹号", "tracking", "waybill", "awb")),
        Meaning("line_no", ("行号", "序号", "明细行号", "明细序号", "行项目", "line", "line number",
                            "line no", "line id", "item seq", "order item id", "position", "seq",
                            "sequence", "line item")),
        Meaning("order_id", ("订单", "单号", "交易", "采购单", "销售单", "出库单", "发货单", "订货单", "要货单",
                             "原始单", "单据", "order", "po", "purchase order", "sales order", "so",
                             "invoice", "trade"),
                avoid=("原始", "外部", "平台", "网店", "线上", "官方", "第三方", "来源", "交易", "external",
                       "platform", "marketplace", "channel", "customer", "merchant", "seller",
                       "source", "reference"),
                exclude=("子订单", "子单", "售后", "退款", "退货", "支付", "流水", "物流", "快递", "运单", "包裹",
                         "面单", "sub", "suborder", "payment", "refund", "return", "rma",
                         "tracking", "shipment", "transaction", "item", "line")),
        Meaning("sku", ("商家编码", "规格编码", "sku", "货号", "条码", "条形码", "商品", "货品", "宝贝", "物料",
                        "存货", "产品", "款号", "item", "product", "article", "material",
                        "variant", "style", "part", "stock", "asin", "ean", "upc", "barcode",
                        "gtin", "mpn"),
                prefer=("sku", "商家编码", "规格编码", "货号", "sku维度", "stock code", "item code", "seller"),
                avoid=("条码", "条形码", "barcode", "ean", "upc", "gtin", "asin", "商品维度"),
                exclude=("订单", "order")),
        Meaning("store_id", ("门店", "店铺", "网店", "店", "分店", "客户", "机构", "商户", *PARTY, "store", "shop",
                             "outlet", "branch"),
                exclude=("订单", "商品", "优惠", "网名", "order")),
        Meaning("buyer_id", ("买家", "会员", "用户", "顾客", "消费者", "buyer", "customer", "member",
                             "user", "shopper", "client", "account")),
    ),
    "name": (
        Meaning("consignee", ("收货人", "收件人", "收货", "收件", "提货人", "联系人", "收货方", "客户姓名", "顾客姓名",
                              "consignee",
                              "recipient", "receiver", "ship to", "shipping", "ship",
                              "delivery", "addressee")),
        Meaning("buyer_id", ("买家", "会员", "用户", "顾客", "消费者", "客户网名", "网名", "昵称", "账号", "帐号",
                             "下单帐号", "下单账号",
                             "buyer", "customer", "member", "user", "shopper", "client",
                             "bill to", "billing", "email", "邮箱", "account", "username",
                             "nickname", "login"),
                prefer=("会员名", "账号", "帐号", "网名", "昵称", "email", "邮箱", "account", "username", "login",
                        "nick", "user name"),
                avoid=("姓名",)),
        Meaning("store_name", ("门店", "店铺", "网店", "店名", "分店", "客户", *PARTY, "store", "shop", "outlet",
                               "branch"),
                exclude=("优惠", "网名", "昵称")),
        Meaning("product_name", ("商品", "货品", "宝贝", "物料", "存货", "产品", "品名", "书名", "item",
                                 "product", "article", "goods", "lineitem"),
                prefer=("名称", "标题", "name", "title")),
    ),
}

#: phrases that name a field whatever role word they carry (or lack): "Must Ship By"
STRONG: tuple[tuple[str, str], ...] = (
    ("must ship", "ship_by"), ("ship by", "ship_by"), ("deliver by", "deliver_by"),
    ("交期", "deliver_by"), ("estimated delivery", "deliver_by"), ("expected delivery", "deliver_by"),
    ("promised delivery", "deliver_by"), ("shipping limit", "ship_by"), ("service level", "shipping_method"), ("配送方式", "shipping_method"),
    ("物流方式", "shipping_method"), ("快递方式", "shipping_method"), ("currency", "currency"), ("币种", "currency"), ("货币", "currency"),
    ("币别", "currency"), ("币制", "currency"),
)

#: address parts named by a region word; one-character Chinese words only as the whole header
#: (after a prefix such as 收货 or 所在): 市场价 is not a city
REGION: dict[str, tuple[str, ...]] = {
    "province": ("省份", "province", "state", "prefecture", "省/直辖市"),
    "city": ("城市", "city", "town"),
    "district": ("区县", "县区", "区/县", "地区", "district", "county", "borough"),
    "postcode": ("邮编", "邮政编码", "邮政", "zip", "zipcode", "postcode", "postal", "postal code",
                 "post code"),
    "country": ("国家", "国家地区", "国别", "country", "country code", "nation"),
    "_region": ("省市区", "省市县", "所在地区", "省市"),
}
REGION_SINGLE: dict[str, str] = {"省": "province", "市": "city", "区": "district", "县": "district"}
REGION_PREFIXES: tuple[str, ...] = ("收货人", "收件人", "收货", "收件", "买家", "所在", "客户", "顾客", "")
REGION_PREFER: tuple[str, ...] = ("收货", "收件", "shipping", "ship", "delivery", "customer")
REGION_AVOID: tuple[str, ...] = ("billing", "bill", "发货", "寄件", "seller", "store", "warehouse")
REGION_VETO: tuple[str, ...] = ("代码", "编码", "id", "名称代码")

#: whole-header aliases that need the values' agreement (``#1001`` is Shopify's order ``Name``)
VALUE_GATED: dict[str, tuple[str, str]] = {"name": ("order_id", "order_ref")}
#: bare headers that mean a field only when nothing better does (Magento's order grid "ID")
WEAK_ALIASES: dict[str, str] = {"id": "order_id", "编号": "order_id", "no": "order_id"}

#: traditional -> simplified characters that occur in header words and status words
TRADITIONAL_PAIRS = (
    "訂订 單单 號号 編编 碼码 時时 間间 貨货 數数 額额 實实 價价 稱称 電电 話话 機机 "
    "區区 縣县 國国 郵邮 遞递 狀状 態态 買买 會会 員员 門门 簽签 發发 運运 揀拣 審审 "
    "確确 認认 創创 東东 廣广 寶宝 貝贝 標标 題题 總总 優优 費费 計计 條条 項项 細细 "
    "戶户 顧顾 規规 稅税 幣币 種种 類类 庫库 銷销 購购 務务 業业 據据 錄录 製制 開开 "
    "關关 閉闭 換换 預预 達达 劃划 線线 備备 註注 賣卖 驗验 裝装 處处 應应 莊庄 點点 "
    "聯联 絡络 詳详 證证 團团 滿满 減减 紅红 補补 償偿 賠赔 齊齐 帳账 賬账 當当 為为 "
    "與与 揀拣 櫃柜 貼贴 寄寄 億亿 萬万 幾几 麼么 嗎吗 沒没 這这 個个 們们 來来 頁页 "
    "碼码 稱称 張张 號号 單单 歸归 屬属 轉转 續续 紀纪 錢钱 銀银 倉仓 遲迟 晚晚 約约 "
    "攬揽 揀拣 務务 郵邮 傳传 辦办 廠厂 產产 產产 質质 戶户"
)
TRAD_MAP: dict[int, str] = {ord(p[0]): p[1] for p in TRADITIONAL_PAIRS.split() if p[0] != p[1]}
