#!/usr/bin/env python
"""Write a large synthetic order-line CSV for benchmarks, fast and in bounded memory.

    python bench/make_orders.py 10000000 /tmp/owbench/orders_10000000.csv [--stores 2000] [--seed 1]

* UTF-8 CSV, headers = canonical field names of ``contracts.schema`` (``COLUMNS``: ``source``
  is the reader's, and the fields added later are not written), times ``YYYY-MM-DD HH:MM:SS``
  (naive, Asia/Shanghai wall clock).
* ~10 lines per order (5–15), orders spread over ``--days`` days ending at ``--end``, mostly
  created 13:00–15:00, in chronological order.
* A sprinkle of anomalies (about 0.1 % of lines / orders each): line quantity ×10/×100, quantity
  off the order step, unit price 30–80 % off the list, online paid amount ≠ order amount,
  missing province / bad phone, confirmed but never picked.
* Beside it: ``<stem>.catalog.csv`` (canonical catalog headers) and ``<stem>.meta.json``
  (lines, orders, as_of, catalog path, seed) which ``scan_bench.py`` reads.

Generation is vectorised with numpy and written in chunks of whole orders, so memory stays
at a few hundred MiB whatever N is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from contracts.schema import CANONICAL  # noqa: E402
from orderwatch.demo import _catalog, _stores  # noqa: E402  (shared realistic masters)

#: the canonical fields this generator writes (the reader assigns ``source``; the fields the
#: canonical line gained later — buyer, deadlines, refunds... — are left out, as many exports do)
COLUMNS = ["order_id", "line_no", "store_id", "store_name", "created_at", "confirmed_at", "paid_at",
           "picked_at", "shipped_at", "delivered_at", "status", "sku", "product_name", "quantity",
           "unit_price", "line_amount", "order_amount", "paid_amount", "payment_method", "consignee",
           "phone", "province", "city", "district", "address", "postcode", "country"]
assert set(COLUMNS) <= set(CANONICAL)
PAY = np.array(["货到付款", "微信支付", "支付宝", "银行转账"])
PAY_P = [0.6, 0.2, 0.15, 0.05]
STATUS = ["confirmed", "picked", "shipped", "delivered"]
ANOMALY_RATE = 0.001


def paths_for(out: Path) -> tuple[Path, Path]:
    """(catalog csv, meta json) written beside ``out``."""
    return out.with_name(out.stem + ".catalog.csv"), out.with_name(out.stem + ".meta.json")


def _chunk(rng: np.random.Generator, first_order: int, n_orders: int, total_orders: int,
           lines_left: int, *, t0_us: int, days: int, as_of_us: int,
           st: pl.DataFrame, cat: pl.DataFrame, pop: np.ndarray) -> pl.DataFrame:
    n_st, n_sku = st.height, cat.height
    step = cat["order_step"].to_numpy().astype(np.int64)
    minq = cat["min_order_qty"].to_numpy().astype(np.int64)
    price = cat["list_price"].to_numpy()
    fresh = cat["fresh"].to_numpy()
    qscale = st["qscale"].to_numpy()

    onum = np.arange(first_order, first_order + n_orders)
    day = np.minimum((onum * days) // total_orders, days - 1)  # chronological
    minute = np.where(rng.random(n_orders) < 0.9, rng.uniform(13 * 60, 15 * 60, n_orders),
                      rng.uniform(9 * 60, 17 * 60, n_orders))
    created = t0_us + (day * 86400 + np.floor(minute) * 60 + rng.integers(0, 60, n_orders)) * 1_000_000
    created = np.sort(np.minimum(created, as_of_us - 1800 * 1_000_000))  # file in time order
    store = rng.integers(0, n_st, n_orders)
    pay = rng.choice(4, size=n_orders, p=PAY_P)
    n_lines = rng.integers(5, 16, n_orders)
    csum = np.cumsum(n_lines)
    if csum[-1] > lines_left:  # last chunk: cut to exactly N lines
        keep = np.searchsorted(csum, lines_left) + 1
        n_lines = n_lines[:keep].copy()
        n_lines[-1] -= int(np.sum(n_lines) - lines_left)
        n_orders = keep
        onum, created, store, pay = onum[:keep], created[:keep], store[:keep], pay[:keep]
    l_ord = np.repeat(np.arange(n_orders), n_lines)
    n_l = len(l_ord)
    line_no = np.arange(n_l) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    # distinct SKUs within an order: a random start and stride through the catalog
    start = rng.choice(n_sku, size=n_orders, p=pop)
    stride = rng.integers(1, 37, n_orders)
    sku = (start[l_ord] + (line_no - 1) * stride[l_ord]) % n_sku
    lam = qscale[store[l_ord]] * np.where(price[sku] > 100, 0.3, 1.0)
    qty = (minq[sku] + step[sku] * rng.poisson(lam)).astype(np.float64)
    unit = price[sku].copy()

    # anomalies
    r = rng.random(n_l)
    surge = r < ANOMALY_RATE
    qty[surge] *= np.where(rng.random(surge.sum()) < 0.7, 10, 100)
    off = (r >= ANOMALY_RATE) & (r < 2 * ANOMALY_RATE) & (step[sku] > 1)
    qty[off] += rng.integers(1, 5, off.sum())
    dev = (r >= 2 * ANOMALY_RATE) & (r < 3 * ANOMALY_RATE)
    unit[dev] = np.round(unit[dev] * rng.uniform(0.2, 0.7, dev.sum()), 2)
    amount = np.round(qty * unit, 2)
    order_amount = np.round(np.bincount(l_ord, weights=amount, minlength=n_orders), 2)

    ro = rng.random(n_orders)
    paid_amount = np.where(pay > 0, order_amount, np.nan)
    mism = (ro < ANOMALY_RATE) & (pay > 0)
    paid_amount[mism] = np.round(order_amount[mism] * 0.8, 2)

    s = 1_000_000
    paid_at = np.where(pay > 0, created + rng.integers(30, 600, n_orders) * s, -1)
    confirmed = np.maximum(created, paid_at) + rng.integers(120, 900, n_orders) * s
    o_fresh = np.zeros(n_orders, dtype=bool)
    np.logical_or.at(o_fresh, l_ord, fresh[sku])
    picked = confirmed + np.where(o_fresh, rng.integers(600, 3600, n_orders),
                                  rng.integers(3600, 10800, n_orders)) * s
    stale = (ro >= ANOMALY_RATE) & (ro < 2 * ANOMALY_RATE)
    picked[stale] = as_of_us + 1  # never picked -> null below
    shipped = picked + rng.integers(1200, 7200, n_orders) * s
    delivered = (shipped // (86400 * s) + 1) * 86400 * s + rng.integers(9 * 3600, 18 * 3600, n_orders) * s
    status = np.full(n_orders, 3)
    for i, arr in enumerate((picked, shipped, delivered)):
        status = np.where((arr > as_of_us) & (status > i), i, status)

    addr_bad = (ro >= 2 * ANOMALY_RATE) & (ro < 3 * ANOMALY_RATE)
    phone_bad = (ro >= 3 * ANOMALY_RATE) & (ro < 4 * ANOMALY_RATE)

    ls = pl.Series(store[l_ord])
    lk = pl.Series(sku)
    lo = pl.Series(l_ord)

    def at(col: np.ndarray, dtype=None) -> pl.Series:
        return pl.Series(col).gather(lo) if dtype is None else pl.Series(col).cast(dtype).gather(lo)

    def ts(col: np.ndarray) -> pl.Series:
        return pl.Series(np.where(col > as_of_us, -1, col)).gather(lo)

    df = pl.DataFrame({
        "order_id": pl.Series(onum).cast(pl.String).str.zfill(10).gather(lo),
        "line_no": pl.Series(line_no.astype(np.int32)),
        "store_id": st["store_id"].gather(ls),
        "store_name": st["store_name"].gather(ls),
        "created_at": ts(created), "confirmed_at": ts(confirmed), "paid_at": ts(paid_at),
        "picked_at": ts(picked), "shipped_at": ts(shipped), "delivered_at": ts(delivered),
        "status": pl.Series(STATUS).gather(at(status)),
        "sku": cat["sku"].gather(lk),
        "product_name": cat["product_name"].gather(lk),
        "quantity": pl.Series(qty.astype(np.int64)), "unit_price": pl.Series(unit), "line_amount": pl.Series(amount),
        "order_amount": at(order_amount), "paid_amount": at(paid_amount),
        "payment_method": pl.Series(PAY).gather(at(pay)),
        "consignee": st["consignee"].gather(ls),
        "phone": st["phone"].gather(ls),
        "province": st["province"].gather(ls),
        "city": st["city"].gather(ls),
        "district": st["district"].gather(ls),
        "address": st["address"].gather(ls),
        "postcode": st["postcode"].gather(ls),
        "country": pl.Series(["CN"]).gather(np.zeros(n_l, dtype=np.int64)),
        "_addr_bad": at(addr_bad), "_phone_bad": at(phone_bad),
    })
    tcols = ["created_at", "confirmed_at", "paid_at", "picked_at", "shipped_at", "delivered_at"]
    return df.with_columns(
        pl.concat_str([pl.lit("SO"), pl.col("order_id")]).alias("order_id"),
        *[pl.when(pl.col(c) >= 0).then(pl.col(c)).otherwise(None).cast(pl.Datetime("us")).alias(c)
          for c in tcols],
        pl.col("paid_amount").fill_nan(None),
        pl.when(pl.col("_addr_bad")).then(None).otherwise(pl.col("province")).alias("province"),
        pl.when(pl.col("_phone_bad")).then(pl.col("phone").str.slice(0, 10)).otherwise(pl.col("phone")).alias("phone"),
    ).select(COLUMNS)


def make_orders(n: int, out: Path, *, stores: int = 2000, seed: int = 1, days: int = 42,
                end: datetime = datetime(2026, 11, 30, 16, 0), chunk_lines: int = 250_000,
                quiet: bool = False) -> dict:
    """Write ``n`` lines to ``out`` (+ catalog and meta beside it); return the meta dict."""
    t_start = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cat = _catalog(rng)
    st = _stores(rng, stores)
    n_sku = cat.height
    pop = 1.0 / np.arange(1, n_sku + 1) ** 0.8
    pop = pop[rng.permutation(n_sku)]
    pop /= pop.sum()
    cat_path, meta_path = paths_for(out)
    cat.write_csv(cat_path)

    t0 = datetime.combine(end.date() - timedelta(days=days - 1), datetime.min.time())
    epoch = datetime(1970, 1, 1)
    t0_us = int((t0 - epoch).total_seconds()) * 1_000_000
    as_of_us = int((end - epoch).total_seconds()) * 1_000_000
    total_orders = max(1, n // 10)  # mean 10 lines/order (any extra orders land on the last day)
    orders_per_chunk = max(1, chunk_lines // 10)
    written, first_order = 0, 0
    tmp = out.with_name(out.name + ".part")
    with tmp.open("wb") as fh:
        while written < n:
            k = orders_per_chunk
            df = _chunk(rng, first_order, k, total_orders, n - written,
                        t0_us=t0_us, days=days, as_of_us=as_of_us, st=st, cat=cat, pop=pop)
            df.write_csv(fh, include_header=written == 0, datetime_format="%Y-%m-%d %H:%M:%S",
                         float_precision=None)
            written += df.height
            first_order += df["order_id"].n_unique()
            if not quiet:
                print(f"\r{written:,} / {n:,} lines", end="", file=sys.stderr, flush=True)
    tmp.replace(out)
    meta = {"lines": written, "orders": first_order, "stores": stores, "seed": seed, "days": days,
            "as_of": end.strftime("%Y-%m-%d %H:%M:%S"), "catalog": str(cat_path),
            "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - t_start, 2)}
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if not quiet:
        print(f"\rwrote {out} ({written:,} lines, {meta['bytes'] / 2**20:.0f} MiB) "
              f"in {meta['seconds']} s", file=sys.stderr)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of order lines")
    ap.add_argument("out", type=Path, help="output CSV")
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--end", default="2026-11-30 16:00:00", help="as-of time (end of the window)")
    ap.add_argument("--chunk-lines", type=int, default=250_000)
    a = ap.parse_args(argv)
    make_orders(a.n, a.out, stores=a.stores, seed=a.seed, days=a.days,
                end=datetime.fromisoformat(a.end), chunk_lines=a.chunk_lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
