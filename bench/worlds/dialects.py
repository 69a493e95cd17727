"""How each kind of system writes its export: file, encoding, headers, words, date form.

Header names are taken from real exports (found in public code that reads them): 管家婆 /
旺店通-style ERP sales lines (单据编号, 往来单位编号, 商品全名, 规格, 单位, 手机 and 固话 apart),
Taobao/Tmall seller exports (订单编号, 买家会员名, 订单创建时间, 宝贝标题, 商家编码, 购买数量,
买家实际支付金额, 收货地址 as one text), a chain's requisition system (要货单号, 要货门店编码,
货号, 品名, 单位规格), 聚水潭 line exports (内部订单号, 线上订单号, 店铺, 订单日期, 付款日期).
Each column says which internal field it shows and which canonical field it holds, so the
benchmark can also write the mapping the generator knows (``--with-mapping``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    header: str
    field: str                   # internal field (orders/lines frame or a writer-derived one)
    canonical: str | None = None  # canonical field it holds, for the mapping


@dataclass(frozen=True)
class Dialect:
    key: str
    file_name: str
    fmt: str                     # csv | xlsx
    encoding: str                # utf-8 | utf-8-sig | gbk
    time_format: str
    columns: tuple[Col, ...]
    states: dict[str, str]
    payments: dict[str, str]
    doc_types: dict[str, str]
    newest_first: bool = False
    first_line_only: tuple[str, ...] = ()   # headers printed on an order's first row only
    catalog_file: str | None = None
    catalog_columns: tuple[Col, ...] = ()


_C = Col
DIALECTS: dict[str, Dialect] = {d.key: d for d in (
    Dialect(
        key="grasp_sales", file_name="销售订单明细表.csv", fmt="csv", encoding="gbk",
        time_format="%Y-%m-%d %H:%M:%S",
        columns=(
            _C("单据编号", "order_id", "order_id"), _C("单据类型", "doc_type"), _C("录单日期", "created_at", "created_at"),
            _C("往来单位编号", "store_id", "store_id"), _C("往来单位", "store_name", "store_name"),
            _C("经手人", "clerk"), _C("仓库", "warehouse"), _C("单据状态", "state", "status"),
            _C("审核时间", "confirmed_at", "confirmed_at"), _C("配货时间", "picked_at", "picked_at"),
            _C("发货时间", "shipped_at", "shipped_at"), _C("行号", "line_no", "line_no"),
            _C("商品编号", "sku", "sku"), _C("商品全名", "product_name", "product_name"), _C("规格", "spec"),
            _C("单位", "unit"), _C("数量", "quantity", "quantity"), _C("单价", "unit_price", "unit_price"),
            _C("金额", "line_amount", "line_amount"), _C("价税合计", "order_amount", "order_amount"),
            _C("结算方式", "payment_method", "payment_method"), _C("实收金额", "paid_amount", "paid_amount"),
            _C("收货人", "consignee", "consignee"), _C("手机", "mobile", "phone"), _C("固话", "landline"),
            _C("省", "province", "province"), _C("市", "city", "city"), _C("区", "district", "district"),
            _C("地址", "address", "address"),
        ),
        states={"pending_review": "未审核", "confirmed": "已审核", "picked": "已配货", "shipped": "已发货",
                "delivered": "已签收", "cancelled": "已作废", "returned": "已退货"},
        payments={"cod": "货到付款", "credit": "月结", "transfer": "银行转账", "wechat": "微信支付"},
        doc_types={"order": "销售订单", "return": "销售退货单"},
        catalog_file="商品档案.xlsx",
        catalog_columns=(
            _C("商品编号", "sku", "sku"), _C("商品全名", "product_name", "product_name"), _C("规格", "spec"),
            _C("销售单位", "unit"), _C("起订数量", "min_order_qty", "min_order_qty"),
            _C("递增量", "order_step", "order_step"), _C("批发价", "list_price", "list_price"),
            _C("库存数量", "stock", "stock"),
        ),
    ),
    Dialect(
        key="taobao_lines", file_name="ExportOrderDetailList_多店铺.csv", fmt="csv", encoding="utf-8-sig",
        time_format="%Y-%m-%d %H:%M:%S", newest_first=True,
        columns=(
            _C("订单编号", "order_id", "order_id"), _C("店铺名称", "store_id", "store_id"),
            _C("买家会员名", "buyer_id", "buyer_id"), _C("订单状态", "state", "status"),
            _C("订单创建时间", "created_at", "created_at"), _C("订单付款时间", "paid_at", "paid_at"),
            _C("发货时间", "shipped_at", "shipped_at"), _C("宝贝标题", "product_name", "product_name"),
            _C("商家编码", "sku", "sku"), _C("价格", "unit_price", "unit_price"),
            _C("购买数量", "quantity", "quantity"), _C("买家应付货款", "goods_amount"),
            _C("买家应付邮费", "postage"), _C("总金额", "order_amount", "order_amount"),
            _C("买家实际支付金额", "paid_amount", "paid_amount"), _C("退款金额", "refund_amount"),
            _C("收货人姓名", "consignee", "consignee"), _C("收货地址", "address_joined", "address"),
            _C("联系手机", "phone", "phone"), _C("运送方式", "carrier_kind"), _C("物流单号", "tracking"),
        ),
        states={"pending_payment": "等待买家付款", "paid": "买家已付款，等待卖家发货",
                "shipped": "卖家已发货，等待买家确认", "completed": "交易成功", "closed": "交易关闭"},
        payments={"alipay": "支付宝"}, doc_types={"order": ""},
    ),
    Dialect(
        key="requisition_xlsx", file_name="门店要货单明细.xlsx", fmt="xlsx", encoding="utf-8",
        time_format="%Y/%m/%d %H:%M",
        columns=(
            _C("要货单号", "order_id", "order_id"), _C("单据类型", "doc_type"),
            _C("要货门店编码", "store_id", "store_id"), _C("门店名称", "store_name", "store_name"),
            _C("提交时间", "created_at", "created_at"), _C("审核时间", "confirmed_at", "confirmed_at"),
            _C("配货时间", "picked_at", "picked_at"), _C("出库时间", "shipped_at", "shipped_at"),
            _C("签收时间", "done_at", "delivered_at"), _C("单据状态", "state", "status"),
            _C("结算模式", "payment_method", "payment_method"), _C("货号", "sku", "sku"),
            _C("品名", "product_name", "product_name"), _C("单位规格", "unit_spec"),
            _C("要货数量", "quantity", "quantity"), _C("配送单价", "unit_price", "unit_price"),
            _C("金额", "line_amount", "line_amount"), _C("应付金额", "order_amount", "order_amount"),
            _C("已付金额", "paid_amount", "paid_amount"), _C("收货人", "consignee", "consignee"),
            _C("联系电话", "phone", "phone"), _C("省份", "province", "province"), _C("城市", "city", "city"),
            _C("区县", "district", "district"), _C("详细地址", "address", "address"),
        ),
        states={"pending_review": "待审核", "confirmed": "已审核", "picked": "已配货", "shipped": "已出库",
                "delivered": "已签收", "cancelled": "已作废", "returned": "已退货"},
        payments={"prepaid": "预付款", "credit": "月结", "cod": "货到付款"},
        doc_types={"order": "要货单", "return": "退货单"},
    ),
    Dialect(
        key="shopify_orders", file_name="orders_export_1.csv", fmt="csv", encoding="utf-8",
        time_format="%Y-%m-%d %H:%M:%S +0800",
        columns=(
            _C("Name", "order_id", "order_id"), _C("Email", "store_id", "store_id"),
            _C("Financial Status", "financial_status"), _C("Paid at", "paid_at", "paid_at"),
            _C("Fulfillment Status", "fulfillment_status", "status"), _C("Fulfilled at", "shipped_at", "shipped_at"),
            _C("Currency", "currency"), _C("Subtotal", "goods_amount"), _C("Shipping", "postage"),
            _C("Taxes", "taxes"), _C("Total", "order_amount", "order_amount"), _C("Discount Code", "discount_code"),
            _C("Discount Amount", "discount"), _C("Shipping Method", "shipping_method"),
            _C("Created at", "created_at", "created_at"), _C("Lineitem quantity", "quantity", "quantity"),
            _C("Lineitem name", "product_name", "product_name"), _C("Lineitem price", "unit_price", "unit_price"),
            _C("Lineitem sku", "sku", "sku"), _C("Lineitem fulfillment status", "line_fulfillment"),
            _C("Billing Name", "consignee"), _C("Billing Company", "store_name", "store_name"),
            _C("Shipping Name", "consignee", "consignee"), _C("Shipping Street", "address", "address"),
            _C("Shipping City", "city", "city"), _C("Shipping Zip", "postcode", "postcode"),
            _C("Shipping Province", "province", "province"), _C("Shipping Country", "country", "country"),
            _C("Shipping Phone", "phone", "phone"), _C("Cancelled at", "cancelled_at"),
            _C("Payment Method", "payment_method", "payment_method"), _C("Refunded Amount", "refund_amount"),
            _C("Outstanding Balance", "outstanding"), _C("Location", "warehouse_en"), _C("Id", "shop_order_id"),
        ),
        states={}, payments={"card": "Shopify Payments", "transfer": "Bank Deposit", "cod": "Cash on Delivery (COD)"},
        doc_types={"order": ""},
        first_line_only=("Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Currency", "Subtotal",
                         "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
                         "Billing Name", "Billing Company", "Shipping Name", "Shipping Street", "Shipping City",
                         "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Cancelled at",
                         "Payment Method", "Refunded Amount", "Outstanding Balance", "Location", "Id"),
    ),
    Dialect(
        key="jst_lines", file_name="订单明细_导出.csv", fmt="csv", encoding="utf-8",
        time_format="%Y-%m-%d %H:%M:%S",
        columns=(
            _C("内部订单号", "order_id", "order_id"), _C("线上订单号", "online_id"), _C("店铺", "store_id", "store_id"),
            _C("订单日期", "created_at", "created_at"), _C("付款日期", "paid_at", "paid_at"),
            _C("审核时间", "confirmed_at", "confirmed_at"), _C("发货日期", "shipped_at", "shipped_at"),
            _C("确认收货日期", "done_at", "delivered_at"), _C("状态", "state", "status"),
            _C("商品编码", "sku", "sku"), _C("商品名称", "product_name", "product_name"),
            _C("颜色及规格", "spec"), _C("数量", "quantity", "quantity"), _C("单价", "unit_price", "unit_price"),
            _C("销售金额", "line_amount", "line_amount"), _C("订单金额", "order_amount", "order_amount"),
            _C("已付金额", "paid_amount", "paid_amount"), _C("支付方式", "payment_method", "payment_method"),
            _C("收货人", "consignee", "consignee"), _C("收货手机", "phone", "phone"), _C("省", "province", "province"),
            _C("市", "city", "city"), _C("区县", "district", "district"), _C("地址", "address", "address"),
            _C("快递公司", "carrier"),
        ),
        states={"pending_review": "待审核", "confirmed": "已审核", "picked": "发货中", "shipped": "已发货",
                "delivered": "已完成", "cancelled": "已取消", "returned": "已退货"},
        payments={"cod": "货到付款", "wechat": "微信支付", "credit": "月结"},
        doc_types={"order": "", "return": ""},
        catalog_file="商品资料.csv",
        catalog_columns=(
            _C("商品编码", "sku", "sku"), _C("商品名称", "product_name", "product_name"),
            _C("订货倍数", "order_step", "order_step"), _C("最小起订量", "min_order_qty", "min_order_qty"),
            _C("售价", "list_price", "list_price"), _C("是否生鲜", "fresh_word", "fresh"),
        ),
    ),
)}


def mapping_for(dialect: Dialect) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical order field -> header, canonical catalog field -> header) the generator knows."""
    orders = {c.canonical: c.header for c in dialect.columns if c.canonical}
    catalog = {c.canonical: c.header for c in dialect.catalog_columns if c.canonical}
    return orders, catalog
