"""Goods: the SKU master of a world, and each store's assortment with its usual quantities.

Units matter here: beer and water are sold by the case (typical line 1-5 cases), spirits
and wine by the bottle in steps of half or whole cases (typical 6-48 bottles), fresh produce
by the kilogram in half-kilo steps.  A store's usual quantity of a SKU is what its lines of
that SKU look like on a normal day; anomalies are defined against it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .spec import WorldSpec

# family -> [(category, brands, [(item, unit price of one piece, pieces per case)])]
_FAMILIES: dict[str, list[tuple[str, tuple[str, ...], list[tuple[str, float, int]]]]] = {
    "drinks": [
        ("啤酒", ("珠江", "金星", "崂山", "乌苏", "漓泉", "重庆"),
         [("纯生 500ml", 6.5, 12), ("精酿白啤 330ml", 8.0, 24), ("清爽 500ml", 4.2, 12), ("原浆 1L", 18.0, 6)]),
        ("饮用水", ("景田", "百岁山", "冰露", "昆仑山"),
         [("饮用纯净水 555ml", 1.6, 24), ("天然矿泉水 570ml", 2.8, 24), ("桶装水 18.9L", 22.0, 1)]),
        ("饮料", ("加多宝", "椰树", "宝矿力", "北冰洋", "东鹏"),
         [("凉茶 310ml", 3.6, 24), ("椰汁 245ml", 4.0, 24), ("电解质水 500ml", 5.5, 15), ("汽水 248ml", 3.2, 24)]),
        ("白酒", ("汾酒", "西凤", "牛栏山", "郎酒", "古井贡", "红星"),
         [("42度 500ml", 68.0, 6), ("53度 500ml", 158.0, 6), ("二锅头 500ml", 22.0, 12), ("年份原浆 500ml", 238.0, 6)]),
        ("葡萄酒", ("张裕", "长城", "王朝"),
         [("干红 750ml", 89.0, 6), ("解百纳 750ml", 128.0, 6)]),
    ],
    "consumer": [
        ("服饰", ("", ), [("纯棉T恤", 59.0, 1), ("牛仔裤", 159.0, 1), ("羽绒服", 499.0, 1), ("运动袜5双", 29.9, 1)]),
        ("家居", ("", ), [("四件套", 239.0, 1), ("收纳箱", 45.0, 1), ("保温杯", 89.0, 1), ("乳胶枕", 199.0, 1)]),
        ("数码", ("", ), [("蓝牙耳机", 169.0, 1), ("充电宝", 99.0, 1), ("数据线", 19.9, 1), ("机械键盘", 329.0, 1)]),
        ("美妆", ("", ), [("面膜10片", 79.0, 1), ("防晒霜", 119.0, 1), ("口红", 189.0, 1)]),
    ],
    "wholesale": [
        ("Coffee", ("Blue Ridge", "Harbor Roast", "Summit"),
         [("Arabica Beans 1kg", 18.5, 6), ("Espresso Blend 500g", 11.0, 12), ("Cold Brew 12oz", 3.2, 12)]),
        ("Tea", ("Prairie Leaf", "Coastal"), [("Green Tea 100ct", 8.9, 12), ("Chai Concentrate 1L", 6.4, 6)]),
        ("Pantry", ("Juniper Farms", "Copper Kettle"),
         [("Granola Bars 12ct", 7.2, 12), ("Maple Syrup 500ml", 9.8, 12), ("Sea Salt Chips 150g", 2.9, 24)]),
        ("Dairy-free", ("Oatly Farms", "Willow"), [("Oat Milk 1L", 2.6, 6), ("Almond Milk 1L", 2.9, 6)]),
        ("Household", ("Granite", "Meadow"), [("Dish Soap 750ml", 3.1, 12), ("Paper Towels 6 rolls", 8.5, 4)]),
    ],
    "grocery": [
        ("粮油", ("金健", "香满园", "长寿花", "西王"),
         [("长粒香米 10kg", 59.0, 1), ("玉米油 5L", 72.0, 4), ("挂面 1kg", 8.5, 10), ("面粉 5kg", 29.0, 4)]),
        ("调味", ("千禾", "厨邦", "恒顺", "加加"),
         [("酱油 1.28L", 16.8, 12), ("香醋 500ml", 7.9, 12), ("料酒 500ml", 6.5, 12), ("鸡粉 1kg", 32.0, 10)]),
        ("日化", ("超能", "威露士", "洁柔", "六神"),
         [("洗衣凝珠 50颗", 49.0, 8), ("消毒液 1L", 29.9, 12), ("抽纸 24包", 42.0, 1), ("花露水 195ml", 12.5, 24)]),
        ("冷冻", ("三全", "湾仔码头", "思念"),
         [("水饺 1kg", 23.5, 10), ("汤圆 500g", 12.0, 20), ("手抓饼 900g", 19.9, 10)]),
        ("生鲜", ("", ), [("西兰花", 9.6, 0), ("猪里脊", 32.0, 0), ("鲜鸡蛋", 7.8, 0), ("青椒", 6.4, 0), ("鲈鱼", 36.0, 0)]),
    ],
}
PREMIUM_SHARE = 0.12   # SKUs whose smallest line is among the dearest (amount spikes use them)


def make_catalog(spec: WorldSpec, rng: np.random.Generator, prefix: str = "") -> pl.DataFrame:
    """The world's SKU master: sku, product_name, spec, unit, pack, order_step, min_order_qty,
    list_price, fresh, base_qty (a typical line of an average store), weight (popularity)."""
    rows = []
    for cat, brands, items in _FAMILIES[spec.goods]:
        for brand in brands:
            for item, piece_price, pack in items:
                if rng.random() < 0.15 and spec.goods != "consumer":
                    continue  # not every brand carries every item
                rows.append((cat, brand, item, piece_price * rng.uniform(0.85, 1.2), pack))
    out = []
    for i, (cat, brand, item, piece_price, pack) in enumerate(rows):
        name = (" " if spec.locale == "en" else "").join(x for x in (brand, item) if x)
        if pack == 0:                                   # fresh, by weight
            unit, step, minq, price, base, fresh = "kg", 0.5, 1.0, piece_price, rng.choice([2.0, 3.0, 5.0, 8.0]), True
        elif spec.goods == "consumer":
            unit, step, minq, price, base, fresh = "件", 1.0, 1.0, piece_price, 1.0, False
        elif pack == 1 or rng.random() < spec.case_share or cat in ("啤酒", "饮用水"):
            unit, step, price, fresh = "箱", 1.0, piece_price * max(pack, 1), False
            minq = 2.0 if rng.random() < 0.2 else 1.0
            base = float(rng.choice([1, 2, 2, 3, 3, 4, 5]))
        else:
            step = float(pack if pack <= 12 else pack // 2)
            unit, minq, price, fresh = ("瓶" if cat in ("白酒", "葡萄酒", "饮料") else "件"), step, piece_price, False
            base = step * float(rng.choice([1, 1, 2, 2, 3, 4]))
        # a typical line is worth at most a few hundred: dear goods come by the single step
        base = min(base, max(step, np.floor(spec.line_value / price / step) * step))
        code = f"{prefix}{6900000 + i * 37 + int(rng.integers(0, 30)):07d}"
        out.append({"sku": code, "product_name": name, "spec": f"1*{max(pack, 1)}" if pack else "散装",
                    "category": cat, "unit": unit, "pack": float(max(pack, 1)), "order_step": step,
                    "min_order_qty": minq, "list_price": round(float(price), 2), "fresh": fresh,
                    "base_qty": float(base), "weight": float(rng.lognormal(0.0, 0.8))})
    cat = pl.DataFrame(out)
    # high-value: the smallest line one can order is dear (a case of spirits, six fine bottles)
    least = pl.max_horizontal("order_step", "min_order_qty") * pl.col("list_price")
    return cat.with_columns((least >= least.quantile(1 - PREMIUM_SHARE)).alias("premium"))


def round_to_step(q: np.ndarray, step: np.ndarray, minq: np.ndarray) -> np.ndarray:
    """Quantities as a store would key them: a whole number of steps, at least the minimum."""
    k = np.maximum(np.round(q / step), 1.0)
    out = k * step
    floor = np.ceil(minq / step - 1e-9) * step
    return np.maximum(out, floor)


def assortments(spec: WorldSpec, stores: pl.DataFrame, catalog: pl.DataFrame,
                rng: np.random.Generator) -> pl.DataFrame:
    """store_id, sku, pick weight, usual quantity: what each store normally orders of what."""
    skus = catalog.get_column("sku").to_numpy()
    weight = catalog.get_column("weight").to_numpy()
    base = catalog.get_column("base_qty").to_numpy()
    step = catalog.get_column("order_step").to_numpy()
    minq = catalog.get_column("min_order_qty").to_numpy()
    premium = catalog.get_column("premium").to_numpy()
    shop_of = catalog.get_column("shop").to_numpy() if "shop" in catalog.columns else None
    parts = []
    for sid, size in stores.select("store_id", "size").iter_rows():
        if shop_of is not None:
            idx = np.flatnonzero(shop_of == sid)
        else:
            n = int(np.clip(round(len(skus) * (0.25 + 0.25 * min(size, 2.0))), 8, len(skus)))
            p = weight * np.where(premium, 0.0, 1.0)   # high-value goods: not in normal assortments
            idx = rng.choice(len(skus), size=n, replace=False, p=p / p.sum())
        w = weight[idx] * rng.lognormal(0.0, 0.5, len(idx))
        usual = round_to_step(base[idx] * size ** 0.6 * rng.lognormal(0.0, 0.3, len(idx)), step[idx], minq[idx])
        if spec.goods == "consumer":
            usual = np.ones(len(idx))
        parts.append(pl.DataFrame({"store_id": sid, "sku": skus[idx], "pick_weight": w / w.sum(),
                                   "usual_qty": usual}))
    return pl.concat(parts)


def shop_catalog(spec: WorldSpec, stores: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A marketplace: every shop sells its own listings (its own merchant codes) of one
    category, priced within the shop's own band (2.5 times from cheapest to dearest)."""
    base = make_catalog(spec, rng)
    cats = base.get_column("category").unique().sort().to_list()
    parts = []
    for k, sid in enumerate(stores.get_column("store_id").to_list()):
        mine = base.filter(pl.col("category") == cats[k % len(cats)])
        pick = mine.sample(n=int(rng.integers(min(3, mine.height), mine.height + 1)), seed=int(rng.integers(0, 2**31)))
        floor = float(rng.lognormal(np.log(60.0), 0.7))
        parts.append(pick.with_columns(
            pl.lit(sid).alias("shop"),
            (pl.lit(f"S{k:03d}-") + pl.int_range(pl.len()).cast(pl.String).str.zfill(3)).alias("sku"),
            pl.Series("list_price", np.round(floor * rng.uniform(1.0, 2.5, pick.height), 1)),
        ))
    shops = pl.concat(parts)
    return shops.with_columns(
        (pl.col("list_price") >= pl.col("list_price").quantile(0.75).over("shop")).alias("premium"))
