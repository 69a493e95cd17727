"""The demo data set: reproducible, readable, and every seeded anomaly really is in the files."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from orderwatch.demo import generate
from orderwatch.demo_world import CATALOG_HEADERS, ERP_HEADERS, KINDS

END = datetime(2026, 11, 30, 16, 0)
SEED = 7
ONLINE = {"微信支付", "支付宝", "银行转账", "wechat_pay", "alipay", "bank_transfer"}
COD = {"货到付款", "cod"}
PHONE_OK = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$")
TIMES = ["created_at", "confirmed_at", "paid_at", "picked_at", "shipped_at", "delivered_at"]


def _read_erp(path: Path) -> pl.DataFrame:
    text = path.read_bytes().decode("gbk")  # strict: every byte is valid GBK
    df = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    return df


def _canonical(ds) -> pl.DataFrame:
    """A throw-away reader for the two demo formats (the real one lives in ingest/)."""
    to_canon = {v: k for k, v in ERP_HEADERS.items()}
    parts = []
    for p in ds.erp_files:
        df = _read_erp(p).rename(to_canon).with_columns(
            *[pl.col(c).str.to_datetime("%Y/%m/%d %H:%M", strict=False) for c in TIMES],
            pl.col("quantity").cast(pl.Float64, strict=False),
            pl.col("unit_price").str.strip_prefix("￥").cast(pl.Float64),
            *[pl.col(c).cast(pl.Float64) for c in ("line_amount", "order_amount", "paid_amount")],
            pl.lit(p.name).alias("file"),
        )
        parts.append(df)
    erp = pl.concat(parts).with_columns(
        pl.col("order_id").cum_count().over("order_id").cast(pl.Int64).alias("line_no"))
    rows = [json.loads(line) for p in ds.platform_files for line in p.read_text("utf-8").splitlines()]
    plat = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        *[pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%S%z").dt.convert_time_zone("Asia/Shanghai")
         .dt.replace_time_zone(None).dt.cast_time_unit("us") for c in TIMES],
        pl.col("quantity").cast(pl.Float64), pl.col("line_no").cast(pl.Int64),
        *[pl.col(c).cast(pl.Float64) for c in ("unit_price", "line_amount", "order_amount", "paid_amount")],
        pl.lit("platform_orders.jsonl").alias("file"),
    )
    cols = [c for c in erp.columns if c in plat.columns]
    return pl.concat([erp.select(cols).with_columns([pl.col(c).dt.cast_time_unit("us") for c in TIMES]),
                      plat.select(cols)], how="vertical_relaxed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    ds = generate(out, stores=40, days=21, seed=SEED, end=END)
    return ds


@pytest.fixture(scope="module")
def lines(demo) -> pl.DataFrame:
    cat = pl.read_excel(demo.catalog).rename({v: k for k, v in CATALOG_HEADERS.items()})
    df = _canonical(demo)
    good = df.filter(pl.col("store_id").is_not_null() & pl.col("created_at").is_not_null()
                     & pl.col("quantity").is_not_null())
    return good.join(cat.select("sku", "order_step", "min_order_qty", "list_price", "fresh"),
                     on="sku", how="left")


@pytest.fixture(scope="module")
def orders(lines) -> pl.DataFrame:
    return lines.group_by("order_id").agg(
        pl.col("store_id", "created_at", "confirmed_at", "picked_at", "paid_at", "shipped_at",
               "delivered_at", "order_amount", "paid_amount", "payment_method", "consignee",
               "phone", "province", "city", "district", "address").first(),
        fresh=(pl.col("fresh") == "是").any(),
        n_lines=pl.len(),
        line_sum=pl.col("line_amount").sum(),
    )


def test_deterministic_for_a_seed(demo, tmp_path):
    again = generate(tmp_path, stores=40, days=21, seed=SEED, end=END)
    assert again.seeded == demo.seeded
    assert [p.name for p in again.order_files] == [p.name for p in demo.order_files]
    for a, b in zip([*again.order_files, again.catalog], [*demo.order_files, demo.catalog]):
        assert a.read_bytes() == b.read_bytes(), a.name
    other = generate(tmp_path / "other", stores=40, days=21, seed=SEED + 1, end=END)
    assert other.seeded != demo.seeded


def test_files_shape(demo):
    assert demo.as_of == END
    assert len(demo.erp_files) >= 3 and len(demo.platform_files) == 1
    for p in demo.erp_files:
        assert p.suffix == ".csv"
        assert _read_erp(p).columns == list(ERP_HEADERS.values())
        with pytest.raises(UnicodeDecodeError):
            p.read_bytes().decode("utf-8")  # really GBK, not UTF-8
    row = json.loads(demo.platform_files[0].read_text("utf-8").splitlines()[0])
    assert row["created_at"].endswith("+08:00") and "order_id" in row and "sku" in row
    assert set(KINDS) <= set(demo.seeded)


def test_catalog_xlsx(demo):
    cat = pl.read_excel(demo.catalog)
    assert cat.columns == list(CATALOG_HEADERS.values())
    assert cat.height == 400
    assert set(cat["订货步长"].to_list()) <= {1, 6, 12, 24}
    assert cat["商品编码"].str.contains(r"^SP\d{6}$").all() and cat["商品编码"].n_unique() == 400
    assert 0.1 < (cat["是否生鲜"] == "是").mean() < 0.2
    assert ((cat["最小起订量"] % cat["订货步长"]) == 0).all()


def test_orders_are_consistent(lines, orders, demo):
    platform = lines.filter(pl.col("file") == "platform_orders.jsonl")["store_id"].n_unique()
    assert 0.05 <= platform / demo.stores <= 0.15
    assert lines["store_id"].str.contains(r"^MD\d{4}$").all()
    assert (lines["line_amount"] - lines["quantity"] * lines["unit_price"]).abs().max() < 0.006
    assert (orders["line_sum"] - orders["order_amount"]).abs().max() < 0.02
    for c in TIMES:
        assert (lines[c].drop_nulls() <= demo.as_of).all(), c
    seq = orders.filter(pl.col("delivered_at").is_not_null())
    assert (seq["created_at"] <= seq["confirmed_at"]).all()
    assert (seq["confirmed_at"] <= seq["picked_at"]).all()
    assert (seq["picked_at"] <= seq["shipped_at"]).all()
    assert (seq["shipped_at"] < seq["delivered_at"]).all()
    hours = lines["created_at"].dt.hour()
    assert ((hours >= 13) & (hours < 15)).mean() > 0.8
    assert 0.5 < orders["payment_method"].is_in(list(COD)).mean() < 0.7


def _seeded_orders(demo, kind):
    return [x for x in demo.seeded[kind] if "/" not in x]


def test_clean_orders_are_clean(lines, orders, demo):
    seeded = {x for k in KINDS for x in demo.seeded[k]}
    clean_lines = lines.filter(~pl.col("order_id").is_in(list(seeded)))
    assert ((clean_lines["quantity"] % clean_lines["order_step"]) == 0).all()
    assert (clean_lines["quantity"] >= clean_lines["min_order_qty"]).all()
    dev = (clean_lines["unit_price"] / clean_lines["list_price"] - 1).abs()
    assert dev.max() <= 0.051
    clean = orders.filter(~pl.col("order_id").is_in(list(seeded)))
    online = clean.filter(pl.col("payment_method").is_in(list(ONLINE)) & pl.col("paid_at").is_not_null())
    assert (online["paid_amount"] - online["order_amount"]).abs().max() < 0.006
    for c in ("consignee", "province", "city", "district", "address"):
        assert clean[c].null_count() == 0 and (clean[c] != "").all(), c
    assert clean["phone"].str.contains(PHONE_OK.pattern).all()
    # nothing unpicked past the SLA unless seeded
    unpicked = clean.filter(pl.col("picked_at").is_null())
    late = unpicked.with_columns(h=(pl.lit(demo.as_of) - pl.col("confirmed_at")).dt.total_minutes() / 60).filter(
        pl.col("h") >= pl.when(pl.col("fresh")).then(2).otherwise(4))
    assert late.height == 0, late


def test_seeded_step_mismatch(lines, demo):
    ids = _seeded_orders(demo, "step_mismatch")
    assert len(ids) >= 4
    bad = lines.filter(pl.col("order_id").is_in(ids)).filter(
        ((pl.col("quantity") % pl.col("order_step")) != 0) | (pl.col("quantity") < pl.col("min_order_qty")))
    assert set(bad["order_id"].to_list()) == set(ids)


def test_seeded_price_deviation(lines, demo):
    ids = _seeded_orders(demo, "price_deviation")
    bad = lines.filter(pl.col("order_id").is_in(ids)).filter(
        (pl.col("unit_price") / pl.col("list_price") - 1).abs() >= 0.29)
    assert set(bad["order_id"].to_list()) == set(ids)


def test_seeded_payment_mismatch(orders, demo):
    ids = _seeded_orders(demo, "payment_mismatch")
    got = orders.filter(pl.col("order_id").is_in(ids))
    assert got.height == len(ids)
    assert got["payment_method"].is_in(list(ONLINE)).all()
    assert ((got["paid_amount"] - got["order_amount"]).abs() >= 1).all()


def test_seeded_amount_spike(orders, demo):
    ids = _seeded_orders(demo, "amount_spike")
    got = orders.filter(pl.col("order_id").is_in(ids))
    assert got.height == len(ids)
    assert got["payment_method"].is_in(list(COD)).all()
    typical = orders["order_amount"].median()
    assert (got["order_amount"] >= 20 * typical).all()


def test_seeded_picking_overdue_and_late(orders, demo):
    ids = _seeded_orders(demo, "picking_overdue") + _seeded_orders(demo, "picking_late")
    got = orders.filter(pl.col("order_id").is_in(ids))
    assert got.height == len(ids) and got["confirmed_at"].null_count() == 0
    sla = pl.when(pl.col("fresh")).then(2).otherwise(4)
    waited = pl.when(pl.col("picked_at").is_null()).then(
        pl.lit(demo.as_of) - pl.col("confirmed_at")).otherwise(pl.col("picked_at") - pl.col("confirmed_at"))
    late = got.with_columns(h=waited.dt.total_minutes() / 60, sla=sla)
    assert (late["h"] > late["sla"]).all()
    assert late["picked_at"].null_count() >= 2 and late["picked_at"].is_not_null().sum() >= 1
    # some fresh order waits past the fresh SLA but within the normal one
    assert late.filter(pl.col("fresh") & pl.col("picked_at").is_null()).height >= 1


def test_seeded_missing_address(orders, demo):
    ids = _seeded_orders(demo, "missing_address")
    got = orders.filter(pl.col("order_id").is_in(ids))
    assert got.height == len(ids)
    blank = pl.any_horizontal([pl.col(c).is_null() | (pl.col(c) == "")
                               for c in ("consignee", "province", "city", "district", "address")])
    bad_phone = ~pl.col("phone").fill_null("").str.contains(PHONE_OK.pattern)
    assert got.select((blank | bad_phone).all()).item()
    assert got.select(bad_phone.sum()).item() >= 1


def test_seeded_duplicate_order(lines, orders, demo):
    ids = _seeded_orders(demo, "duplicate_order")
    sig = lines.sort("sku").group_by("order_id").agg(
        pl.col("store_id").first(), pl.col("created_at").first(),
        sig=pl.concat_str([pl.col("sku"), pl.col("quantity").cast(pl.String)], separator="x").str.join(","))
    for oid in ids:
        me = sig.filter(pl.col("order_id") == oid).row(0, named=True)
        twins = sig.filter((pl.col("store_id") == me["store_id"]) & (pl.col("sig") == me["sig"])
                           & (pl.col("order_id") != oid))
        assert twins.height == 1, oid
        gap = (me["created_at"] - twins["created_at"][0]).total_seconds() / 60
        assert 2 <= gap <= 20, (oid, gap)


def test_seeded_volume_surge(lines, demo):
    ids = _seeded_orders(demo, "volume_surge")
    big = lines.filter(pl.col("order_id").is_in(ids)).filter(
        (pl.col("quantity") >= 10 * pl.col("min_order_qty")) & (pl.col("quantity") >= 10 * pl.col("order_step")))
    assert set(big["order_id"].to_list()) == set(ids)
    days = lines.group_by("store_id", pl.col("created_at").dt.date().alias("day")).agg(n=pl.len())
    med = days.group_by("store_id").agg(med=pl.col("n").median())
    store_days = [x for x in demo.seeded["volume_surge"] if "/" in x]
    assert len(store_days) >= 4
    for key in store_days:
        store, day = key.split("/")
        n = days.filter((pl.col("store_id") == store) & (pl.col("day") == datetime.fromisoformat(day).date()))["n"]
        assert n.len() == 1
        assert n[0] >= 3 * med.filter(pl.col("store_id") == store)["med"][0], key
        assert datetime.fromisoformat(day) >= END - timedelta(days=14)


def test_promotion_day(lines, demo):
    day = demo.promotion_day
    assert day is not None and all(day.isoformat() not in x for x in demo.seeded["volume_surge"])
    days = lines.group_by("store_id", pl.col("created_at").dt.date().alias("day")).agg(
        q=pl.col("quantity").sum())
    base = days.filter(pl.col("day") != day).group_by("store_id").agg(med=pl.col("q").median())
    promo = days.filter(pl.col("day") == day).join(base, on="store_id").with_columns(r=pl.col("q") / pl.col("med"))
    assert promo.height == demo.stores
    assert 2.5 <= promo["r"].median() <= 3.5
    assert promo.select(pl.col("r").is_between(1.8, 5.0).mean()).item() >= 0.8


def test_quarantine_rows(demo):
    assert len(demo.seeded["quarantine"]) >= 3
    kinds = set()
    for ref in demo.seeded["quarantine"]:
        name, line = ref.rsplit(":", 1)
        path = demo.catalog.parent / name
        row = path.read_bytes().decode("gbk").split("\n")[int(line) - 1]
        cells = row.split(",")
        header = list(ERP_HEADERS.values())
        rec = dict(zip(header, cells))
        if rec["订购数量"] == "abc":
            kinds.add("quantity")
        elif rec["门店编号"] == "":
            kinds.add("store")
        elif rec["下单时间"] == "yesterday":
            kinds.add("created")
    assert kinds == {"quantity", "store", "created"}
