"""The demo world: vocabulary, catalog and stores that :mod:`orderwatch.demo` orders from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

#: anomaly kinds seeded (the keys of ``DemoSet.seeded`` besides "quarantine")
KINDS: tuple[str, ...] = (
    "volume_surge",
    "amount_spike",
    "step_mismatch",
    "picking_overdue",     # confirmed, not picked within the SLA: a queue flag
    "picking_late",        # picked past the SLA and done: the SLA statistics (report), never a flag
    "missing_address",
    "duplicate_order",
    "price_deviation",
    "payment_mismatch",
)

#: canonical field -> header in the store ERP export (column order of the file)
ERP_HEADERS: dict[str, str] = {
    "order_id": "订单编号",
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
    "quantity": "订购数量",
    "unit_price": "单价",
    "line_amount": "金额",
    "order_amount": "订单金额",
    "paid_amount": "实付金额",
    "payment_method": "支付方式",
    "consignee": "收货人",
    "phone": "联系电话",
    "province": "省份",
    "city": "城市",
    "district": "区县",
    "address": "详细地址",
}

#: canonical catalog field -> header in catalog.xlsx
CATALOG_HEADERS: dict[str, str] = {
    "sku": "商品编码",
    "product_name": "商品名称",
    "order_step": "订货步长",
    "min_order_qty": "最小起订量",
    "list_price": "标准单价",
    "fresh": "是否生鲜",
    "stock": "库存",
}

# payment method codes: 0 is cash on delivery
PAY_ERP = ["货到付款", "微信支付", "支付宝", "银行转账"]
PAY_PLATFORM = ["cod", "wechat_pay", "alipay", "bank_transfer"]
PAY_P = [0.60, 0.20, 0.15, 0.05]

# status codes: 0 confirmed, 1 picked, 2 shipped, 3 delivered
STATUS_ERP = ["已确认", "已拣货", "已发货", "已签收"]
STATUS_PLATFORM = ["confirmed", "picked", "shipped", "delivered"]

# (province, city, area code, postcode, districts)
GEO: list[tuple[str, str, str, str, list[str]]] = [
    ("北京市", "北京市", "010", "100020", ["朝阳区", "海淀区", "东城区", "西城区", "丰台区", "通州区"]),
    ("上海市", "上海市", "021", "200120", ["浦东新区", "徐汇区", "静安区", "闵行区", "杨浦区", "长宁区"]),
    ("广东省", "广州市", "020", "510620", ["天河区", "越秀区", "海珠区", "白云区", "番禺区"]),
    ("广东省", "深圳市", "0755", "518052", ["南山区", "福田区", "罗湖区", "宝安区", "龙岗区"]),
    ("浙江省", "杭州市", "0571", "310012", ["西湖区", "上城区", "拱墅区", "滨江区", "余杭区"]),
    ("江苏省", "南京市", "025", "210018", ["玄武区", "鼓楼区", "秦淮区", "建邺区", "江宁区"]),
    ("江苏省", "苏州市", "0512", "215006", ["姑苏区", "吴中区", "相城区", "虎丘区"]),
    ("四川省", "成都市", "028", "610041", ["锦江区", "青羊区", "武侯区", "成华区", "金牛区"]),
    ("湖北省", "武汉市", "027", "430071", ["江岸区", "武昌区", "洪山区", "汉阳区"]),
    ("陕西省", "西安市", "029", "710061", ["雁塔区", "碑林区", "莲湖区", "未央区"]),
    ("天津市", "天津市", "022", "300040", ["和平区", "南开区", "河西区", "河东区"]),
    ("山东省", "济南市", "0531", "250014", ["历下区", "市中区", "槐荫区", "天桥区"]),
    ("湖南省", "长沙市", "0731", "410005", ["岳麓区", "芙蓉区", "天心区", "开福区"]),
    ("福建省", "厦门市", "0592", "361003", ["思明区", "湖里区", "集美区"]),
    ("重庆市", "重庆市", "023", "400010", ["渝中区", "江北区", "南岸区", "沙坪坝区"]),
]
ROADS = [
    "人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "长江路", "黄河路", "文化路",
    "胜利路", "光明路", "幸福路", "青年路", "友谊路", "学院路", "科技路", "花园路", "滨江路",
    "东风路", "建国路", "民主路", "工业路", "南京路", "北京路", "环城路",
]
STORE_BRANDS = [
    "华联便利", "美宜佳", "好邻居", "快客便利", "苏果超市", "联华超市", "物美便利", "易捷便利",
    "红旗连锁", "见福便利", "全家优选", "百佳便利", "家家乐超市", "惠民便利",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰红建国志海波鹏宇晨"
MOBILE_PREFIX = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                 "152", "155", "158", "159", "177", "180", "181", "186", "187", "188", "189"]

# catalog templates: category -> (brands, [(item, base price, step choices)])
_GOODS: list[tuple[list[str], list[tuple[str, float, list[int]]]]] = [
    (["农夫山泉", "可口可乐", "百事", "康师傅", "统一", "元气森林", "娃哈哈", "怡宝", "王老吉", "脉动"],
     [("饮用天然水 550ml", 2.0, [24]), ("冰红茶 500ml", 3.0, [12, 24]), ("绿茶 500ml", 3.0, [12, 24]),
      ("汽水 330ml", 2.5, [24]), ("苏打气泡水 480ml", 4.5, [12]), ("凉茶 310ml", 3.5, [12, 24]),
      ("橙汁 450ml", 4.5, [12]), ("运动饮料 600ml", 5.0, [12])]),
    (["康师傅", "统一", "今麦郎", "白象", "日清", "汤达人"],
     [("红烧牛肉面 105g", 4.5, [12, 24]), ("老坛酸菜牛肉面 121g", 4.5, [12, 24]),
      ("香辣牛肉面 110g", 4.5, [12, 24]), ("鲜虾鱼板面 98g", 4.5, [12, 24]), ("桶面 五连包", 18.0, [6]),
      ("拉面 大食桶", 6.0, [12])]),
    (["乐事", "旺旺", "好丽友", "奥利奥", "三只松鼠", "良品铺子", "洽洽", "徐福记"],
     [("薯片 70g", 7.5, [6, 12]), ("雪饼 84g", 6.5, [12]), ("派 6枚装", 13.5, [6]),
      ("夹心饼干 97g", 6.0, [12]), ("每日坚果 25g×7", 39.9, [1, 6]), ("香瓜子 260g", 12.9, [6, 12]),
      ("牛肉干 100g", 29.9, [1, 6]), ("什锦糖果 500g", 25.0, [1, 6])]),
    (["金龙鱼", "福临门", "海天", "李锦记", "太太乐", "鲁花", "中粮", "老干妈"],
     [("大豆油 5L", 69.9, [1, 6]), ("花生油 5L", 159.0, [1]), ("生抽 500ml", 9.9, [6, 12]),
      ("老抽 500ml", 10.9, [6, 12]), ("蚝油 520g", 12.9, [6, 12]), ("鸡精 200g", 11.5, [6, 12]),
      ("东北大米 5kg", 45.0, [1]), ("香辣酱 280g", 10.5, [12])]),
    (["蓝月亮", "立白", "舒肤佳", "清风", "维达", "心相印", "高露洁", "佳洁士", "云南白药"],
     [("洗衣液 2kg", 39.9, [1, 6]), ("洗洁精 1.5kg", 15.9, [6, 12]), ("香皂 115g", 5.5, [12]),
      ("抽纸 3层100抽×6包", 19.9, [6]), ("卷纸 10卷", 29.9, [6]), ("牙膏 120g", 12.9, [12]),
      ("洗发水 400ml", 45.0, [1, 6])]),
    (["青岛啤酒", "雪花啤酒", "百威", "燕京啤酒", "哈尔滨啤酒"],
     [("经典 500ml", 5.5, [12, 24]), ("纯生 500ml", 7.5, [12, 24]), ("罐装 330ml", 4.0, [24])]),
    (["伊利", "蒙牛", "光明", "君乐宝"],
     [("纯牛奶 250ml×24", 65.0, [1]), ("高钙奶 250ml×16", 45.0, [1]), ("酸奶 205g×12", 49.9, [1]),
      ("早餐奶 250ml×16", 42.0, [1])]),
]
# high-value goods (amount spikes are built from these)
_PREMIUM: list[tuple[str, float, list[int]]] = [
    ("贵州茅台 飞天53度 500ml", 1499.0, [1]), ("五粮液 普五第八代 500ml", 1099.0, [1]),
    ("洋河 梦之蓝M3 550ml", 599.0, [1]), ("剑南春 水晶剑 500ml", 459.0, [1]),
    ("泸州老窖 特曲 500ml", 328.0, [1]), ("飞鹤 星飞帆奶粉 700g", 358.0, [1]),
    ("美赞臣 蓝臻奶粉 800g", 398.0, [1]), ("惠氏 启赋奶粉 810g", 428.0, [1]),
    ("五常 稻花香大米 10kg", 168.0, [1]), ("东阿阿胶 250g", 899.0, [1]),
]
_FRESH_ORIGINS = ["山东", "新疆", "云南", "海南", "本地", "陕西", "广西", "福建"]
_FRESH_ITEMS: list[tuple[str, float, list[int]]] = [
    ("红富士苹果 5kg", 49.9, [1]), ("香蕉 1kg", 7.9, [1, 6]), ("砂糖橘 2.5kg", 25.9, [1]),
    ("猕猴桃 12个装", 35.0, [1]), ("西红柿 500g", 4.5, [1, 6]), ("黄瓜 500g", 3.9, [1, 6]),
    ("土豆 1kg", 4.9, [1, 6]), ("大白菜 1颗", 5.5, [1]), ("鸡蛋 30枚", 25.9, [1]),
    ("冷鲜猪里脊 500g", 22.9, [1]), ("冷鲜鸡胸肉 1kg", 26.9, [1]), ("葡萄 1kg", 19.9, [1]),
]
_FRESH_BRANDED: list[str] = [
    "光明 鲜牛奶 950ml", "三元 鲜牛奶 950ml", "伊利 鲜牛奶 950ml", "蒙牛 每日鲜语 950ml",
    "桃李 醇熟切片面包 400g", "宾堡 全麦面包 380g", "曼可顿 吐司 400g", "双汇 冷鲜五花肉 500g",
    "雨润 冷鲜排骨 500g", "圣农 鸡翅中 500g", "正大 鲜鸡蛋 20枚", "君乐宝 鲜酸奶 1kg",
]






def _price(x: float) -> float:
    """Round a price the way shelves do (x.x0 / x.x9 / whole)."""
    if x >= 100:
        return float(round(x))
    return round(round(x * 10) / 10 - (0.01 if x > 10 and round(x) % 3 == 0 else 0.0), 2)


def _catalog(rng: np.random.Generator, n: int = 400) -> pl.DataFrame:
    normal: list[tuple[str, float, list[int]]] = []
    for brands, items in _GOODS:
        for b in brands:
            for item, price, steps in items:
                normal.append((f"{b} {item}", price, steps))
    fresh: list[tuple[str, float, list[int]]] = [
        (f"{o} {item}", price, steps) for o in _FRESH_ORIGINS for item, price, steps in _FRESH_ITEMS
    ] + [(name, 12.0 if "奶" in name else 9.9 if "面包" in name or "吐司" in name else 24.9, [1, 6])
         for name in _FRESH_BRANDED]
    n_fresh = round(n * 0.15)
    n_premium = len(_PREMIUM)
    n_normal = n - n_fresh - n_premium
    pick_n = rng.choice(len(normal), size=min(n_normal, len(normal)), replace=False)
    pick_f = rng.choice(len(fresh), size=min(n_fresh, len(fresh)), replace=False)
    rows = [(normal[i], False) for i in sorted(pick_n)] + [(p, False) for p in _PREMIUM]
    rows += [(fresh[i], True) for i in sorted(pick_f)]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    ids = rng.choice(np.arange(100000, 200000), size=len(rows), replace=False)
    out: dict[str, list] = {k: [] for k in ("sku", "product_name", "order_step", "min_order_qty",
                                            "list_price", "fresh", "stock")}
    for (name, base, steps), is_fresh in rows:
        step = int(steps[rng.integers(len(steps))])
        if base > 300:  # premium goods are ordered by the piece
            mn = 1
        elif step == 1:
            mn = int(rng.choice([1, 1, 1, 2, 3, 5]))
        else:
            mn = step * int(rng.choice([1, 1, 1, 2]))
        out["sku"].append(f"SP{ids[len(out['sku'])]}")
        out["product_name"].append(name)
        out["order_step"].append(float(step))
        out["min_order_qty"].append(float(mn))
        out["list_price"].append(_price(base * float(rng.uniform(0.9, 1.15))))
        out["fresh"].append(is_fresh)
        out["stock"].append(float(rng.integers(0, 60) * (step if step > 1 else 10)))
    return pl.DataFrame(out, schema={"sku": pl.String, "product_name": pl.String,
                                     "order_step": pl.Float64, "min_order_qty": pl.Float64,
                                     "list_price": pl.Float64, "fresh": pl.Boolean,
                                     "stock": pl.Float64})


def _person(rng: np.random.Generator) -> str:
    n = 1 if rng.random() < 0.3 else 2
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(
        GIVEN[rng.integers(len(GIVEN))] for _ in range(n))


def _mobile(rng: np.random.Generator) -> str:
    return MOBILE_PREFIX[rng.integers(len(MOBILE_PREFIX))] + f"{rng.integers(0, 10**8):08d}"


def _stores(rng: np.random.Generator, n: int) -> pl.DataFrame:
    names: set[str] = set()
    rows: dict[str, list] = {k: [] for k in (
        "store_id", "store_name", "province", "city", "district", "address", "postcode",
        "consignee", "phone", "base_orders", "basket", "qscale", "sigma", "platform")}
    n_platform = max(1, round(n * 0.1))
    platform = set(rng.choice(n, size=n_platform, replace=False).tolist())
    for i in range(n):
        prov, city, area, post, districts = GEO[rng.integers(len(GEO))]
        dist = districts[rng.integers(len(districts))]
        road = ROADS[rng.integers(len(ROADS))]
        brand = STORE_BRANDS[rng.integers(len(STORE_BRANDS))]
        stem = dist.removesuffix("新区").removesuffix("区")
        name = f"{brand} {stem}店"
        for alt in (f"{brand} {road.removesuffix('路')}路店", f"{brand} {stem}二店",
                    f"{brand} {stem}{road}店"):
            if name not in names:
                break
            name = alt
        k = 2
        while name in names:
            k += 1
            name = f"{brand} {stem}{road}{k}号店"
        names.add(name)
        rows["store_id"].append(f"MD{i + 1:04d}")
        rows["store_name"].append(name)
        rows["province"].append(prov)
        rows["city"].append(city)
        rows["district"].append(dist)
        suffix = ["", "一层商铺", "底商", f"{rng.integers(1, 30)}号铺", "1楼"][rng.integers(5)]
        rows["address"].append(f"{road}{rng.integers(1, 400)}号{suffix}")
        rows["postcode"].append(post)
        rows["consignee"].append(_person(rng))
        if rng.random() < 0.2:
            width = 8 if len(area) == 3 else int(rng.choice([7, 8]))
            first = int(rng.integers(2, 9))
            rest = int(rng.integers(0, 10 ** (width - 1)))
            rows["phone"].append(f"{area}-{first}{rest:0{width - 1}d}")
        else:
            rows["phone"].append(_mobile(rng))
        rows["base_orders"].append(float(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])))
        rows["basket"].append(float(rng.uniform(5, 14)))
        rows["qscale"].append(float(rng.uniform(0.5, 2.5)))
        rows["sigma"].append(float(rng.uniform(0.08, 0.3)))
        rows["platform"].append(i in platform)
    return pl.DataFrame(rows)


def _cents_str(col: str) -> pl.Expr:
    """Format a CNY amount column as ``12.50`` (null stays null)."""
    c = (pl.col(col) * 100).round(0).cast(pl.Int64)
    return pl.concat_str([(c // 100).cast(pl.String), pl.lit("."),
                          (c % 100).cast(pl.String).str.zfill(2)])


# ----------------------------------------------------------------------------------------
# the generator


@dataclass
class DemoSet:
    """What :func:`generate` wrote and what it seeded."""

    order_files: list[Path]
    catalog: Path
    as_of: datetime
    #: anomaly kind -> order ids (store-day surges as "store_id/YYYY-MM-DD");
    #: "quarantine" -> "file_name:line" of malformed rows
    seeded: dict[str, list[str]]
    #: the platform-wide promotion day (every store ~3×; not an anomaly)
    promotion_day: date | None = None
    stores: int = 0
    lines: int = 0
    orders: int = 0
    erp_files: list[Path] = field(default_factory=list)
    platform_files: list[Path] = field(default_factory=list)
