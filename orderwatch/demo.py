"""A realistic demo data set: weeks of store replenishment orders with seeded anomalies.

``generate(out_dir)`` writes

* store ERP exports (``erp_orders_YYYYMMDD_YYYYMMDD.csv``, one per week, GBK, Chinese headers,
  times like ``2026/9/1 13:05``, unit prices like ``￥12.50``),
* one platform channel file (``platform_orders.jsonl``: canonical English keys, ISO times with
  ``+08:00``) holding about a tenth of the stores,
* the SKU catalog (``catalog.xlsx``, Chinese headers),

and returns a :class:`DemoSet` that says which order ids were seeded with which anomaly, so a
scan of the files can be checked against it.  Everything is drawn from one seeded generator:
the same seed and ``end`` give byte-identical files.

Notes on the data (what a reader/detector can rely on):

* Each store orders on every day of the window, mostly between 13:00 and 15:00; a store's
  orders go to the store itself (the consignee, phone and address are the store's).
* Orders are confirmed minutes after creation (after payment for online payments), picked
  within 1–3 h (fresh goods within 1 h), shipped, delivered the next day.  No event is later
  than ``as_of``: orders still in flight at ``as_of`` simply lack the later times.
* Cash on delivery (货到付款 / ``cod``) orders carry no payment time and no paid amount.
* One platform-wide promotion day (``DemoSet.promotion_day``) where every store orders ~3×:
  it is not seeded as an anomaly.
* ``seeded["volume_surge"]`` mixes order ids (a line quantity ×10/×100) and store-days
  written ``"MD0012/2026-11-20"`` (the store ordered 4–10× its baseline that day).
* ``seeded["quarantine"]`` lists malformed rows as ``"file_name:line"``, line counted from 1
  with the header as line 1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

#: anomaly kinds seeded (the keys of ``DemoSet.seeded`` besides "quarantine")
KINDS: tuple[str, ...] = (
    "volume_surge",
    "amount_spike",
    "step_mismatch",
    "stale_picking",
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


# ----------------------------------------------------------------------------------------
# building blocks


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


def generate(out_dir: Path, *, stores: int = 300, days: int = 35, seed: int = 20261130,
             end: datetime | None = None) -> DemoSet:
    """Write the demo files into ``out_dir`` and return what was written and seeded."""
    if stores < 10 or days < 15:
        raise ValueError("the demo needs at least 10 stores and 15 days")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if end is None:
        end = datetime.now().replace(hour=16, minute=0, second=0, microsecond=0)
    end = end.replace(tzinfo=None, microsecond=0)
    as_of = end
    rng = np.random.default_rng(seed)

    day0 = end.date() - timedelta(days=days - 1)
    t0 = datetime.combine(day0, datetime.min.time())
    as_of_s = (as_of - t0).total_seconds()  # times are float seconds since day0 00:00

    cat = _catalog(rng)
    st = _stores(rng, stores)
    n_sku = cat.height
    price = cat["list_price"].to_numpy()
    step = cat["order_step"].to_numpy().astype(np.int64)
    minq = cat["min_order_qty"].to_numpy().astype(np.int64)
    fresh_sku = cat["fresh"].to_numpy()

    n_seed = max(4, round(stores * 0.1))

    # -- store-days: orders per store per day ----------------------------------------------
    promo_day = int(rng.integers(max(1, days // 4), days // 2 + 1))
    weekday = np.array([(day0 + timedelta(days=d)).weekday() for d in range(days)])
    wfac = np.where(weekday >= 5, 1.1, 1.0)
    base = st["base_orders"].to_numpy()
    sigma = st["sigma"].to_numpy()
    noise = np.exp(rng.normal(0, 1, (stores, days)) * sigma[:, None])
    expected = base[:, None] * wfac[None, :] * noise
    expected[:, promo_day] *= 3.0
    # seeded surges: store-days in the last two weeks, not the promotion day
    surge_days = [d for d in range(max(0, days - 14), days - 1) if d != promo_day]
    surge_stores = rng.choice(stores, size=min(n_seed, stores), replace=False)
    surge_pairs = [(int(s), int(surge_days[rng.integers(len(surge_days))])) for s in surge_stores]
    for s, d in surge_pairs:
        expected[s, d] = base[s] * float(rng.uniform(4.0, 10.0))
    n_orders = np.maximum(1, np.rint(expected)).astype(np.int64)
    for s, d in surge_pairs:  # at least 4x the baseline in order count
        n_orders[s, d] = max(n_orders[s, d], int(math.ceil(4 * base[s])))

    o_store = np.repeat(np.arange(stores), n_orders.sum(axis=1))
    o_day = np.concatenate([np.repeat(np.arange(days), n_orders[s]) for s in range(stores)])
    n_o = len(o_store)
    minute = np.where(rng.random(n_o) < 0.9, rng.uniform(13 * 60, 15 * 60, n_o),
                      rng.uniform(9 * 60, 17 * 60, n_o))
    created = o_day * 86400.0 + np.floor(minute) * 60.0 + rng.integers(0, 60, n_o)
    keep = created <= as_of_s - 60
    o_store, o_day, created = o_store[keep], o_day[keep], created[keep]
    n_o = len(o_store)
    pay = rng.choice(4, size=n_o, p=PAY_P)

    # -- lines -------------------------------------------------------------------------------
    basket = st["basket"].to_numpy()
    qscale = st["qscale"].to_numpy()
    n_lines = 3 + rng.poisson(np.maximum(basket[o_store] - 3, 0.5))
    n_lines = np.minimum(n_lines, 40)
    l_order = np.repeat(np.arange(n_o), n_lines)
    pop = 1.0 / np.arange(1, n_sku + 1) ** 0.8
    pop[price > 300] *= 0.01  # premium goods are rarely replenished
    pop = pop[rng.permutation(n_sku)]
    pop /= pop.sum()
    l_sku = rng.choice(n_sku, size=len(l_order), p=pop)
    # one line per SKU within an order
    lines = pl.DataFrame({"order": l_order, "sku_i": l_sku}).unique(
        ["order", "sku_i"], keep="first", maintain_order=True)
    l_order = lines["order"].to_numpy()
    l_sku = lines["sku_i"].to_numpy()
    lam = qscale[o_store[l_order]] * np.where(price[l_sku] > 100, 0.3, 1.0)
    l_qty = (minq[l_sku] + step[l_sku] * rng.poisson(lam)).astype(np.float64)
    promo = rng.random(len(l_order)) < 0.02
    l_price = np.where(promo, np.round(price[l_sku] * (1 - rng.uniform(0.01, 0.05, len(l_order))), 2),
                       price[l_sku])

    # -- order flow times --------------------------------------------------------------------
    o_fresh = np.zeros(n_o, dtype=bool)
    np.logical_or.at(o_fresh, l_order, fresh_sku[l_sku])

    def flow(created_, pay_, fresh_, rng_):
        n = len(created_)
        paid = np.where(pay_ > 0, created_ + rng_.integers(30, 600, n), np.nan)
        confirmed = np.where(pay_ > 0, paid, created_) + rng_.integers(120, 900, n)
        picked = confirmed + np.where(fresh_, rng_.uniform(10, 60, n), rng_.uniform(60, 180, n)) * 60
        picked = np.floor(picked)
        shipped = picked + rng_.integers(20 * 60, 120 * 60, n)
        ship_day = np.floor(shipped / 86400.0)
        delivered = (ship_day + 1) * 86400.0 + rng_.integers(9 * 3600, 18 * 3600, n)
        return paid, confirmed, picked, shipped, delivered

    paid, confirmed, picked, shipped, delivered = flow(created, pay, o_fresh, rng)

    # -- seeding -------------------------------------------------------------------------------
    seeded_idx: dict[str, list[int]] = {k: [] for k in KINDS}
    used = np.zeros(n_o, dtype=bool)
    sd = o_store * days + o_day
    used |= np.isin(sd, [s * days + d for s, d in surge_pairs])
    used |= o_day == promo_day
    is_platform = st["platform"].to_numpy()[o_store]

    def pick(mask: np.ndarray, k: int) -> np.ndarray:
        cand = np.flatnonzero(mask & ~used)
        if len(cand) == 0:
            return cand
        got = np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False))
        used[got] = True
        return got

    # lines grouped per order (start offsets into the line arrays)
    starts = np.searchsorted(l_order, np.arange(n_o + 1))

    def order_lines(o: int) -> np.ndarray:
        return np.arange(starts[o], starts[o + 1])

    settled = delivered <= as_of_s - 86400  # fully done at least a day before as_of
    # order-level seeds go after the first ~10 days (so baselines exist) and 3+ days back
    old = (created <= as_of_s - 3 * 86400) & (o_day >= min(10, days // 3))

    # volume_surge: one line ×10 / ×100 (online payment, so not an amount spike)
    for o in pick(old & (pay > 0), n_seed):
        ls = order_lines(o)
        cheap = ls[price[l_sku[ls]] < 30]
        li = int(rng.choice(cheap if len(cheap) else ls))
        l_qty[li] *= 10 if rng.random() < 0.7 else 100
        seeded_idx["volume_surge"].append(int(o))

    # amount_spike: cash-on-delivery order of premium goods worth 30-60x the usual order
    premium = np.flatnonzero(price > 300)
    extra_rows: list[tuple[int, int, float, float]] = []  # (order, sku_i, qty, price)
    drop_orders: list[int] = []
    typical = np.median(np.bincount(l_order, weights=l_qty * l_price, minlength=n_o))
    for o in pick(old & (pay == 0), n_seed):
        target = max(typical * rng.uniform(30, 60), 30000.0)
        skus = rng.choice(premium, size=int(rng.integers(2, 5)), replace=False)
        for k in skus:
            q = math.ceil(target / len(skus) / price[k] / step[k]) * step[k]
            extra_rows.append((int(o), int(k), float(max(q, minq[k])), float(price[k])))
        drop_orders.append(int(o))
        seeded_idx["amount_spike"].append(int(o))

    # step_mismatch: a quantity off the step (e.g. 13 of a 12-pack), or under the minimum
    off_step = step > 1
    under_min = minq > step  # the minimum is more than one step: min - step is still on-step
    for j, o in enumerate(pick(old, n_seed)):
        ls = order_lines(o)
        if j % 3 == 0 and under_min[l_sku[ls]].any():
            li = int(rng.choice(ls[under_min[l_sku[ls]]]))
            l_qty[li] = float(minq[l_sku[li]] - step[l_sku[li]])
        else:
            cand = ls[off_step[l_sku[ls]]]
            if len(cand) == 0:  # give the order a case-pack line
                li = int(ls[0])
                others = set(l_sku[ls].tolist())
                l_sku[li] = int(rng.choice([k for k in np.flatnonzero(off_step & ~fresh_sku & (price < 100))
                                            if k not in others]))
                l_price[li] = price[l_sku[li]]
                cand = np.array([li])
            li = int(rng.choice(cand))
            k = l_sku[li]
            l_qty[li] = float(max(minq[k], step[k] * int(rng.integers(1, 6))) + int(rng.integers(1, step[k])))
        seeded_idx["step_mismatch"].append(int(o))

    # stale_picking: (a) confirmed > 4 h ago and never picked; (b) fresh, unpicked > 2 h;
    # (c) picked well past the SLA
    third = max(1, n_seed // 3)
    age = as_of_s - confirmed
    a = pick((age > 4.5 * 3600) & (age < 3 * 86400) & ~o_fresh, third)
    b = pick((age > 2.2 * 3600) & (age < 3.9 * 3600) & o_fresh, third)
    if len(b) == 0:
        b = pick((age > 2.2 * 3600) & (age < 3 * 86400) & o_fresh, third)
    for o in np.concatenate([a, b]):
        picked[o] = shipped[o] = delivered[o] = np.nan
        seeded_idx["stale_picking"].append(int(o))
    for o in pick(settled & (created >= as_of_s - 20 * 86400), n_seed - 2 * third):
        sla = 2 if o_fresh[o] else 4
        picked[o] = np.floor(confirmed[o] + (sla + rng.uniform(1.5, 8)) * 3600)
        shipped[o] = picked[o] + rng.integers(1200, 7200)
        delivered[o] = (np.floor(shipped[o] / 86400) + 1) * 86400 + rng.integers(9 * 3600, 18 * 3600)
        seeded_idx["stale_picking"].append(int(o))

    # missing_address: a blank field, or a bad phone
    addr_override: dict[int, tuple[str, str | None]] = {}
    variants = ["province", "phone10", "address", "phone5", "city", "consignee", "district"]
    for j, o in enumerate(pick(created < as_of_s, n_seed)):
        v = variants[j % len(variants)]
        if v == "phone10":
            addr_override[int(o)] = ("phone", _mobile(rng)[:10])
        elif v == "phone5":
            addr_override[int(o)] = ("phone", str(rng.choice(["12345", "0000", "1380013", "138-0013"])))
        else:
            addr_override[int(o)] = (v, None)
        seeded_idx["missing_address"].append(int(o))

    # price_deviation: one line 30-80% off the list price (mostly below, some above)
    for o in pick(old, n_seed):
        ls = order_lines(o)
        li = int(rng.choice(ls))
        f = rng.uniform(0.3, 0.8)
        l_price[li] = round(price[l_sku[li]] * (1 - f if rng.random() < 0.75 else 1 + f), 2)
        seeded_idx["price_deviation"].append(int(o))

    # payment_mismatch: online payment, paid amount off the order amount
    paid_factor = np.ones(n_o)
    for o in pick(old & (pay > 0), n_seed):
        paid_factor[o] = rng.choice([rng.uniform(0.3, 0.9), rng.uniform(1.1, 1.5)])
        seeded_idx["payment_mismatch"].append(int(o))

    # duplicate_order: same store, same lines, re-entered 2-20 minutes later
    dup_src = pick(old, n_seed)
    dup_created = created[dup_src] + rng.integers(120, 1200, len(dup_src))
    d_paid, d_conf, d_pick, d_ship, d_deliv = flow(dup_created, pay[dup_src], o_fresh[dup_src], rng)

    # malformed rows: single-line copies of ordinary ERP lines, then corrupted
    bad_src = pick(old & ~is_platform, 6)

    # -- assemble orders --------------------------------------------------------------------
    n_dup, n_bad = len(dup_src), len(bad_src)
    dup_ids = np.arange(n_o, n_o + n_dup)
    bad_ids = np.arange(n_o + n_dup, n_o + n_dup + n_bad)
    seeded_idx["duplicate_order"] = [int(x) for x in dup_ids]
    src_all = np.concatenate([np.arange(n_o), dup_src, bad_src]).astype(np.int64)

    def cat3(x, dx, bx=None):
        return np.concatenate([x, dx, x[bad_src] if bx is None else bx])

    orders = pl.DataFrame({
        "order": np.arange(n_o + n_dup + n_bad),
        "store": o_store[src_all],
        "day": o_day[src_all],
        "pay": pay[src_all],
        "created": cat3(created, dup_created),
        "paid": cat3(paid, d_paid),
        "confirmed": cat3(confirmed, d_conf),
        "picked": cat3(picked, d_pick),
        "shipped": cat3(shipped, d_ship),
        "delivered": cat3(delivered, d_deliv),
        "paid_factor": paid_factor[src_all],
    })
    # lines: originals (minus replaced amount-spike orders), premium lines, duplicate + bad copies
    lines = pl.DataFrame({"order": l_order, "sku_i": l_sku, "quantity": l_qty, "unit_price": l_price})
    lines = lines.filter(~pl.col("order").is_in(drop_orders))
    if extra_rows:
        lines = pl.concat([lines, pl.DataFrame(extra_rows, schema=lines.schema, orient="row")])
    dup_map = pl.DataFrame({"order": dup_src, "new": dup_ids})
    dup_lines = lines.join(dup_map, on="order").with_columns(pl.col("new").alias("order")).drop("new")
    bad_lines = (lines.join(pl.DataFrame({"order": bad_src, "new": bad_ids}), on="order")
                 .group_by("order", maintain_order=True).first()
                 .with_columns(pl.col("new").alias("order")).drop("new"))
    lines = pl.concat([lines, dup_lines, bad_lines]).sort("order", maintain_order=True)

    # clamp: no event after as_of
    t = ["paid", "confirmed", "picked", "shipped", "delivered"]
    orders = orders.with_columns([
        pl.when(pl.col(c) <= as_of_s).then(pl.col(c)).otherwise(None).fill_nan(None).alias(c) for c in t
    ]).with_columns(
        picked=pl.when(pl.col("confirmed").is_null()).then(None).otherwise(pl.col("picked")),
    ).with_columns(
        shipped=pl.when(pl.col("picked").is_null()).then(None).otherwise(pl.col("shipped")),
    ).with_columns(
        delivered=pl.when(pl.col("shipped").is_null()).then(None).otherwise(pl.col("delivered")),
    ).with_columns(
        status=pl.when(pl.col("delivered").is_not_null()).then(3)
        .when(pl.col("shipped").is_not_null()).then(2)
        .when(pl.col("picked").is_not_null()).then(1).otherwise(0)
    )

    # order ids: prefix + date + store + sequence within the store-day (by creation time)
    stp = st.select("store_id", "platform").with_row_index("store")
    orders = (orders.join(stp.with_columns(pl.col("store").cast(pl.Int64)), on="store", how="left")
              .sort(["store", "created", "order"]))
    orders = orders.with_columns(
        seq=pl.col("order").cum_count().over(["store", "day"]),
    )
    created_dt = pl.lit(t0) + pl.duration(seconds=pl.col("created"))
    orders = orders.with_columns(
        order_id=pl.concat_str([
            pl.when(pl.col("platform")).then(pl.lit("PT")).otherwise(pl.lit("DD")),
            created_dt.dt.strftime("%Y%m%d"),
            pl.col("store_id").str.slice(2),
            pl.col("seq").cast(pl.String).str.zfill(3),
        ])
    )
    id_of = dict(zip(orders["order"].to_list(), orders["order_id"].to_list()))

    # line amounts, order amounts, paid amounts
    lines = lines.with_columns(
        line_no=pl.col("order").cum_count().over("order").cast(pl.Int32),
        line_amount=(pl.col("quantity") * pl.col("unit_price")).round(2),
    )
    amounts = lines.group_by("order").agg(order_amount=pl.col("line_amount").sum().round(2))
    orders = orders.join(amounts, on="order", how="left").with_columns(
        paid_amount=pl.when((pl.col("pay") > 0) & pl.col("paid").is_not_null())
        .then((pl.col("order_amount") * pl.col("paid_factor")).round(2)).otherwise(None),
    )
    # nudge mismatches that rounding might have hidden
    orders = orders.with_columns(
        paid_amount=pl.when((pl.col("paid_factor") != 1.0) & ((pl.col("paid_amount") - pl.col("order_amount")).abs() < 1))
        .then(pl.col("order_amount") - 1).otherwise(pl.col("paid_amount")))

    # address fields from the store, with seeded blanks / bad phones
    st_addr = st.select("consignee", "phone", "province", "city", "district", "address",
                        "postcode", "store_name").with_row_index("store").with_columns(
        pl.col("store").cast(pl.Int64))
    orders = orders.join(st_addr, on="store", how="left")
    for fld in ("consignee", "phone", "province", "city", "district", "address"):
        ov = {o: v for o, (f, v) in addr_override.items() if f == fld}
        if ov:
            orders = orders.with_columns(
                pl.when(pl.col("order").is_in(list(ov)))
                .then(pl.col("order").replace_strict(ov, default=None, return_dtype=pl.String))
                .otherwise(pl.col(fld)).alias(fld))

    def dt(c: str) -> pl.Expr:
        return (pl.lit(t0) + pl.duration(seconds=pl.col(c).cast(pl.Int64))).alias(c)

    full = (lines.join(orders, on="order", how="left")
            .join(cat.with_row_index("sku_i").with_columns(pl.col("sku_i").cast(pl.Int64))
                  .select("sku_i", "sku", "product_name"), on="sku_i", how="left")
            .with_columns([dt(c) for c in ("created", *t)])
            .sort(["created", "order_id", "line_no"]))

    # -- ERP csv files (one per week) -------------------------------------------------------
    fmt = "%Y/%-m/%-d %-H:%M"
    bad_kinds = ["quantity", "store_id", "created_at"]
    bad_kind_of = {int(o): bad_kinds[i % 3] for i, o in enumerate(bad_ids)}
    erp = full.filter(~pl.col("platform")).with_columns(
        week=((pl.col("created").dt.date() - pl.lit(day0)).dt.total_days() // 7),
        bad=pl.col("order").replace_strict(bad_kind_of, default="", return_dtype=pl.String),
    )

    def tstr(c: str) -> pl.Expr:
        return pl.col(c).dt.strftime(fmt)

    erp_str = erp.select(
        "week", "bad",
        order_id=pl.col("order_id"),
        store_id=pl.when(pl.col("bad") == "store_id").then(pl.lit(None, pl.String)).otherwise(pl.col("store_id")),
        store_name=pl.col("store_name"),
        created_at=pl.when(pl.col("bad") == "created_at").then(pl.lit("yesterday")).otherwise(tstr("created")),
        confirmed_at=tstr("confirmed"),
        paid_at=tstr("paid"),
        picked_at=tstr("picked"),
        shipped_at=tstr("shipped"),
        delivered_at=tstr("delivered"),
        status=pl.col("status").replace_strict(dict(enumerate(STATUS_ERP)), return_dtype=pl.String),
        sku=pl.col("sku"),
        product_name=pl.col("product_name"),
        quantity=pl.when(pl.col("bad") == "quantity").then(pl.lit("abc"))
        .otherwise(pl.col("quantity").cast(pl.Int64).cast(pl.String)),
        unit_price=pl.concat_str([pl.lit("￥"), _cents_str("unit_price")]),
        line_amount=_cents_str("line_amount"),
        order_amount=_cents_str("order_amount"),
        paid_amount=_cents_str("paid_amount"),
        payment_method=pl.col("pay").replace_strict(dict(enumerate(PAY_ERP)), return_dtype=pl.String),
        consignee=pl.col("consignee"),
        phone=pl.col("phone"),
        province=pl.col("province"),
        city=pl.col("city"),
        district=pl.col("district"),
        address=pl.col("address"),
    )
    for p in out_dir.glob("erp_orders_*.csv"):
        p.unlink()
    erp_files: list[Path] = []
    quarantine: list[str] = []
    for w in sorted(erp_str["week"].unique().to_list()):
        part = erp_str.filter(pl.col("week") == w)
        d_from = day0 + timedelta(days=7 * w)
        d_to = min(d_from + timedelta(days=6), end.date())
        path = out_dir / f"erp_orders_{d_from:%Y%m%d}_{d_to:%Y%m%d}.csv"
        for i in np.flatnonzero(part["bad"].to_numpy() != ""):
            quarantine.append(f"{path.name}:{int(i) + 2}")
        text = part.drop("week", "bad").rename(ERP_HEADERS).write_csv(null_value="")
        path.write_bytes(text.encode("gbk"))
        erp_files.append(path)

    # -- platform channel json lines --------------------------------------------------------
    iso = "%Y-%m-%dT%H:%M:%S+08:00"
    plat = full.filter(pl.col("platform")).select(
        "order_id", "line_no", "store_id", "store_name",
        *[pl.col(c).dt.strftime(iso).alias(f"{c}_at") for c in ("created", *t)],
        status=pl.col("status").replace_strict(dict(enumerate(STATUS_PLATFORM)), return_dtype=pl.String),
        sku=pl.col("sku"), product_name=pl.col("product_name"),
        quantity=pl.col("quantity").cast(pl.Int64), unit_price=pl.col("unit_price"),
        line_amount=pl.col("line_amount"), order_amount=pl.col("order_amount"),
        paid_amount=pl.col("paid_amount"),
        payment_method=pl.col("pay").replace_strict(dict(enumerate(PAY_PLATFORM)), return_dtype=pl.String),
        consignee=pl.col("consignee"), phone=pl.col("phone"), province=pl.col("province"),
        city=pl.col("city"), district=pl.col("district"), address=pl.col("address"),
        postcode=pl.col("postcode"), country=pl.lit("CN"),
    )
    plat_path = out_dir / "platform_orders.jsonl"
    with plat_path.open("w", encoding="utf-8") as fh:
        for row in plat.iter_rows(named=True):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    # -- catalog ----------------------------------------------------------------------------
    cat_path = out_dir / "catalog.xlsx"
    wb = xlsxwriter.Workbook(str(cat_path))
    wb.set_properties({"title": "商品目录", "created": as_of})  # fixed: files are reproducible
    cat.with_columns(
        pl.col("order_step").cast(pl.Int64), pl.col("min_order_qty").cast(pl.Int64),
        pl.col("stock").cast(pl.Int64),
        fresh=pl.when(pl.col("fresh")).then(pl.lit("是")).otherwise(pl.lit("否")),
    ).rename(CATALOG_HEADERS).write_excel(wb, worksheet="商品目录", autofit=True)
    wb.close()

    seeded: dict[str, list[str]] = {k: sorted(id_of[i] for i in v) for k, v in seeded_idx.items()}
    store_ids = st["store_id"].to_list()
    seeded["volume_surge"] += sorted(
        f"{store_ids[s]}/{day0 + timedelta(days=d):%Y-%m-%d}" for s, d in surge_pairs)
    seeded["quarantine"] = quarantine
    return DemoSet(
        order_files=[*erp_files, plat_path], catalog=cat_path, as_of=as_of, seeded=seeded,
        promotion_day=day0 + timedelta(days=promo_day), stores=stores, lines=full.height,
        orders=orders.height, erp_files=erp_files, platform_files=[plat_path],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orderwatch.demo",
                                 description="Write the demo order files with seeded anomalies.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--stores", type=int, default=300)
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--end", help='"YYYY-MM-DD HH:MM" (default: today 16:00)')
    ap.add_argument("--seeded-json", type=Path, help="also write the seeded ids to this file")
    a = ap.parse_args(argv)
    end = datetime.fromisoformat(a.end) if a.end else None
    ds = generate(a.out_dir, stores=a.stores, days=a.days, seed=a.seed, end=end)
    print(f"{ds.orders} orders, {ds.lines} lines from {ds.stores} stores; as of {ds.as_of}")
    print(f"promotion day: {ds.promotion_day}")
    for p in ds.order_files:
        print(f"  {p}")
    print(f"  {ds.catalog}")
    for k, v in ds.seeded.items():
        print(f"  seeded {k}: {len(v)}")
    if a.seeded_json:
        a.seeded_json.write_text(json.dumps({"as_of": ds.as_of.isoformat(sep=" "), **ds.seeded},
                                            ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
