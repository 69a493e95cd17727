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

import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from orderwatch.demo_files import write_catalog, write_erp_files, write_platform_file
from orderwatch.demo_world import (
    DemoSet,
    KINDS,
    PAY_P,
    _catalog,
    _mobile,
    _stores,
)


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

    # picking_overdue: (a) confirmed > 4 h ago and never picked; (b) fresh, unpicked > 2 h;
    # picking_late: (c) picked well past the SLA (late but done: counted, not queued)
    third = max(1, n_seed // 3)
    age = as_of_s - confirmed
    a = pick((age > 4.5 * 3600) & (age < 3 * 86400) & ~o_fresh, third)
    b = pick((age > 2.2 * 3600) & (age < 3.9 * 3600) & o_fresh, third)
    if len(b) == 0:
        b = pick((age > 2.2 * 3600) & (age < 3 * 86400) & o_fresh, third)
    for o in np.concatenate([a, b]):
        picked[o] = shipped[o] = delivered[o] = np.nan
        seeded_idx["picking_overdue"].append(int(o))
    for o in pick(settled & (created >= as_of_s - 20 * 86400), n_seed - 2 * third):
        sla = 2 if o_fresh[o] else 4
        picked[o] = np.floor(confirmed[o] + (sla + rng.uniform(1.5, 8)) * 3600)
        shipped[o] = picked[o] + rng.integers(1200, 7200)
        delivered[o] = (np.floor(shipped[o] / 86400) + 1) * 86400 + rng.integers(9 * 3600, 18 * 3600)
        seeded_idx["picking_late"].append(int(o))

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

    erp_files, quarantine = write_erp_files(full, out_dir, day0, end.date(), bad_ids)
    plat_path = write_platform_file(full, out_dir)
    cat_path = write_catalog(cat, out_dir, as_of)

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


if __name__ == "__main__":
    from orderwatch.demo_cli import main

    sys.exit(main())
