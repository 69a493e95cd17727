"""Chinese display names of canonical fields, used in quarantine reasons."""

from __future__ import annotations

LABELS: dict[str, str] = {
    "order_id": "订单号",
    "line_no": "行号",
    "source": "来源",
    "store_id": "门店编号",
    "store_name": "门店名称",
    "created_at": "下单时间",
    "confirmed_at": "确认时间",
    "paid_at": "支付时间",
    "picked_at": "拣货时间",
    "shipped_at": "发货时间",
    "delivered_at": "签收时间",
    "status": "订单状态",
    "sku": "商品编码",
    "product_name": "商品名称",
    "quantity": "数量",
    "unit_price": "单价",
    "line_amount": "行金额",
    "order_amount": "订单金额",
    "paid_amount": "实付金额",
    "payment_method": "支付方式",
    "consignee": "收货人",
    "phone": "联系电话",
    "province": "省份",
    "city": "城市",
    "district": "区县",
    "address": "详细地址",
    "postcode": "邮编",
    "country": "国家",
    # catalog
    "order_step": "订货步长",
    "min_order_qty": "最小起订量",
    "list_price": "标准单价",
    "fresh": "是否生鲜",
    "stock": "库存",
}


def label(field: str) -> str:
    """``数量 (quantity)``: the Chinese name followed by the canonical name."""
    return f"{LABELS.get(field, field)} ({field})"
