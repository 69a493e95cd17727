"""Stores and their rhythms: who orders, since when, how much, on which days.

Rhythms, none of them the demo's "every store, every day, 13:00-15:00":
- ``route``: a distributor delivers each store on its route weekdays (two to six a week);
  the order before a long gap is bigger;
- a weekly profile (``WEEKLY`` in spec): consumer weekend peaks, stores restocking on
  Saturday, Sunday and Monday, or shops ordering on working days only;
- on top: steady growth of some stores over the period, stores opening mid-way (their
  first order stocks the shelves: about 2.5 times a normal one) and platform promotion days
  on which every store orders more.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from . import places, places_en
from .spec import WEEKLY, WorldSpec

_SHOP_WORDS = ("云朵", "拾光", "木子", "北岸", "初见", "橙意", "山野", "暖居", "极客", "素白", "青禾", "鹿角")
_SHOP_KINDS = ("旗舰店", "专营店", "官方店", "小店", "生活馆")
_STORE_KINDS = ("便利店", "烟酒店", "超市", "副食店", "便民店")
_CHAIN = ("优家生活", "邻里鲜", "惠万家")
#: delivery routes by deliveries a week (Mon=0 .. Sat=5): spread over the week, as trucks run
ROUTES: dict[int, tuple[tuple[int, ...], ...]] = {
    2: ((0, 3), (1, 4), (2, 5)), 3: ((0, 2, 4), (1, 3, 5)), 4: ((0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5)),
    5: ((0, 1, 2, 3, 4), (1, 2, 3, 4, 5)), 6: ((0, 1, 2, 3, 4, 5),),
}


def _ids_and_names(spec: WorldSpec, n: int, rng: np.random.Generator,
                   district: np.ndarray, city: np.ndarray) -> tuple[list[str], list[str]]:
    """Store codes and names the way each kind of system writes them."""
    if spec.locale == "en":
        names = places_en.shop_names(n)
        return [f"orders@{x.lower().replace(' ', '')}.com" for x in names], names
    if spec.dialect == "taobao_lines":
        names = [f"{_SHOP_WORDS[i % 12]}{['', '家', '优品', '严选'][i // 12 % 4]}{_SHOP_KINDS[i * 7 % 5]}"
                 + (str(i // 48 + 1) if i >= 48 else "") for i in range(n)]
        return names, names
    if spec.dialect == "grasp_sales":
        ids = [f"KH{1000 + 3 * i:05d}" for i in range(n)]
        names = [f"{d}{places.person_names(rng, 1)[0][:1]}记{_STORE_KINDS[i % 5]}" for i, d in enumerate(district)]
        return ids, names
    if spec.dialect == "requisition_xlsx":
        ids = [str(2001 + i) for i in range(n)]
        names = [f"{_CHAIN[i % 3]}{c[:-1]}{d}{i // 3 + 1}号店" for i, (c, d) in enumerate(zip(city, district))]
        return ids, names
    names = [f"{c[:-1]}{d}{_STORE_KINDS[i % 5]}{i + 1:03d}" for i, (c, d) in enumerate(zip(city, district))]
    return names, names


def make_stores(spec: WorldSpec, rng: np.random.Generator) -> pl.DataFrame:
    """One row per store: identity, contact and address, size, opening day, growth, route."""
    n, days = spec.stores, spec.days
    geo = (places_en if spec.locale == "en" else places).addresses(rng, n)
    ids, names = _ids_and_names(spec, n, rng, geo["district"], geo["city"])
    open_day = np.zeros(n, dtype=np.int64)
    opening = rng.choice(n, spec.openings, replace=False)
    late = opening[: spec.late_openings]
    open_day[opening] = rng.integers(10, days - 10, len(opening))
    open_day[late] = rng.integers(days - 10, days - 2, len(late))
    growing = rng.random(n) < spec.growth_share
    growth = np.where(growing, rng.uniform(*spec.growth, n), rng.uniform(-0.05, 0.1, n))
    n_route = rng.choice([2, 3, 3, 4, 4, 5, 6], n)
    route = [list(ROUTES[k][rng.integers(0, len(ROUTES[k]))]) for k in n_route]
    landline = rng.random(n) < 0.15
    phone = np.where(landline, places.landlines(rng, geo["area_code"]), places.mobiles(rng, n))
    if spec.locale == "en":
        phone = places_en.phones(rng, geo["area_code"])
    return pl.DataFrame({
        "store_id": ids, "store_name": names,
        "consignee": (places_en if spec.locale == "en" else places).person_names(rng, n), "phone": phone,
        **{k: pl.Series(list(geo.get(k, [None] * n)), dtype=pl.String)
           for k in ("province", "city", "district", "address", "postcode", "country")},
        "size": spec.store_size * rng.lognormal(0.0, 0.5, n), "open_day": open_day, "growth": growth,
        "route": route, "hour": rng.normal(14.0, 0.45, n).clip(12.5, 15.5),
        "payment": rng.choice([p for p, _ in spec.payments], n, p=[w for _, w in spec.payments]),
    })


def _route_scale(route: list[int], dow: int) -> float:
    """A route day's order covers the days until the next delivery (Sunday included)."""
    days = sorted(route)
    nxt = [d for d in days if d > dow]
    gap = (nxt[0] - dow) if nxt else (7 - dow + days[0])
    return (gap / (7 / len(days))) ** 0.75


def order_plan(spec: WorldSpec, stores: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One row per order to generate: store_id, day, kind (main/topup/opening/consumer), scale."""
    days, start = spec.days, spec.end - timedelta(days=spec.days - 1)
    t = np.arange(days)
    dow = np.array([(start + timedelta(days=int(i))).weekday() for i in t])
    promo = np.ones(days)
    for back in spec.promo_days:
        promo[days - 1 - back] = spec.promo_factor
    prof = np.array(WEEKLY.get(spec.rhythm, (1.0,) * 7))
    rows: list[tuple[str, int, str, float]] = []
    for s in stores.iter_rows(named=True):
        active = t >= s["open_day"]
        g = 1.0 + s["growth"] * t / (days - 1)
        jitter = prof * rng.lognormal(0.0, 0.08, 7)
        if spec.buyers:   # consumers: a count of orders per shop-day
            lam = spec.orders_per_day * s["size"] * jitter[dow] * g * promo * active
            for d in np.flatnonzero(active):
                rows.extend((s["store_id"], int(d), "consumer", 1.0) for _ in range(rng.poisson(lam[d])))
            continue
        if spec.rhythm == "route":
            on = np.isin(dow, s["route"])
            p = np.where(on, 0.93, 0.03)
            scale = np.array([_route_scale(s["route"], int(w)) if o else 0.35 for w, o in zip(dow, on)])
        else:
            p = np.clip(0.82 * jitter[dow], 0.05, 0.97)
            scale = jitter[dow] ** 0.6
        p = np.where(promo > 1, 0.98, p)
        scale = scale * g ** 0.5 * promo ** 0.7 * rng.lognormal(0.0, 0.1, days)
        first = True
        for d in np.flatnonzero(active & (rng.random(days) < p)):
            rows.append((s["store_id"], int(d), "opening" if first and s["open_day"] > 0 else "main",
                         float(scale[d] * (2.5 if first and s["open_day"] > 0 else 1.0))))
            first = False
            if rng.random() < 0.07:
                rows.append((s["store_id"], int(d), "topup", 0.35))
    plan = pl.DataFrame(rows, schema={"store_id": pl.String, "day_index": pl.Int64, "kind": pl.String,
                                      "scale": pl.Float64}, orient="row")
    return plan.with_columns(
        (pl.lit(start) + pl.duration(days=pl.col("day_index"))).alias("day"),
        pl.col("day_index").map_elements(lambda i: bool(promo[i] > 1), return_dtype=pl.Boolean).alias("promo"),
    )
