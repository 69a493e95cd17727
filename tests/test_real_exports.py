"""The three real exports, read with no site config, as a person reading them would expect.

Each runs twice: on the complete files in ``../shared/data/real`` (skipped, saying so, when a
fresh clone has no ``../shared`` beside it) and on the slices kept in ``tests/data/real``
(always; see tests/data/README.md for how they were cut and where they come from).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from contracts.config import load_config
from contracts.schema import DONE_STATES
from detectors import REGISTRY
from ingest import read_orders
from ingest.orders import NOT_AN_ORDER
from orderwatch.scan import run_scan

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data" / "real"
SLICES = HERE / "data" / "real"
TIME_BASED = [n for n, d in REGISTRY.items() if d.time_based]


def where(kind: str) -> Path:
    if kind == "shared" and not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a fresh clone has no ../shared); the slices in {SLICES} still run")
    return SHARED if kind == "shared" else SLICES


KINDS = pytest.mark.parametrize("kind", ["shared", "slice"])


def _read(kind: str, name: str):
    path = where(kind) / name
    res = read_orders([path], load_config())
    return path, res, res.reports[0]


def _used(report) -> dict[str, str]:
    return {u.field: u.header for u in report.fields if u.header}


def _no_time_based_flag_on_done_orders(result, lines: pl.DataFrame) -> None:
    timed = result.flags.filter(pl.col("kind").is_in(TIME_BASED))
    done = lines.filter(pl.col("state").is_in(DONE_STATES)).select("order_id").unique()
    assert timed.join(done, on="order_id", how="semi").height == 0


@KINDS
def test_tmall_order_report(kind, tmp_path, site_config):
    path, res, r = _read(kind, "tmall_order_report1.csv")
    assert _used(r) == {"order_id": "订单编号", "created_at": "订单创建时间", "paid_at": "订单付款时间",
                        "order_amount": "总金额", "paid_amount": "买家实际支付金额", "refund_amount": "退款金额",
                        "province": "收货地址"}          # "收货地址" holds provinces only: the values decide
    assert (r.format, r.encoding, r.delimiter) == ("csv", "utf-8", "comma")
    assert res.accepted == res.read and res.quarantined == 0
    assert res.lines["store_id"].unique().to_list() == ["default"] and r.one_line_per_order
    states = set(res.lines["state"].unique().to_list())
    assert {"paid", "pending_payment", "refunded"} <= states                # unpaid, paid, fully refunded
    unpaid = res.lines.filter(pl.col("paid_at").is_null())["state"].unique().to_list()
    assert unpaid == ["pending_payment"]
    result = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'ow.db'}")
    rep = result.reports[0]
    assert rep.backfill and rep.judged_as_of == rep.newest_event
    assert {"stage_overdue (picking)", "stage_overdue (delivery)", "duplicate_order",
            "volume_surge (line)"} <= set(rep.skipped_detectors)
    assert result.flags.filter(pl.col("kind").is_in(TIME_BASED)).height == 0
    assert result.flags.height <= res.read / 1000 * 5                      # a normal month: almost nothing


@KINDS
def test_taobao_seller_export(kind, tmp_path, site_config):
    path, res, r = _read(kind, "mrtb_data.xlsx")
    assert _used(r) == {"buyer_id": "买家会员名", "created_at": "订单创建时间", "paid_at": "订单付款时间",
                        "delivered_at": "确认收货时间", "status": "订单状态", "product_name": "宝贝标题",
                        "quantity": "宝贝总数量", "order_amount": "总金额", "paid_amount": "买家实际支付金额",
                        "tracking_no": "物流单号", "sku": "宝贝标题", "shipping_method": "运送方式"}
    assert "联系手机" in r.unused and "masked" in r.unused["联系手机"]     # anonymised by the publisher
    raw = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    dated = raw["订单创建时间"].is_not_null().sum()
    # every order row is accepted; the membership rows mixed in carry no order time at all
    assert res.accepted == dated and res.accepted >= 0.95 * dated and res.read == raw.height
    # said as what they are, once, not as a list of the cells they lack
    assert set(res.quarantine["reason"]) == {NOT_AN_ORDER}
    members = raw.filter(pl.col("订单创建时间").is_null())["类别"].unique().to_list()
    assert all("会员" in m or "VIP" in m for m in members)
    states = dict(res.lines.group_by("status", "state").len().select("status", "state").iter_rows())
    assert states["交易成功"] == "completed" and states["交易关闭"] == "closed"
    assert states["卖家已发货，等待买家确认"] == "shipped" and states["买家已付款，等待卖家发货"] == "paid"
    result = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'ow.db'}")
    assert result.reports[0].backfill
    _no_time_based_flag_on_done_orders(result, res.lines)
    assert result.flags.filter(pl.col("kind") == "duplicate_order").height == 0   # same minute, other buyers


@KINDS
def test_jd_purchase_order_returns(kind, tmp_path, site_config):
    path, res, r = _read(kind, "JDdata.xls")
    assert _used(r) == {"order_id": "采购单号", "created_at": "业务日期", "product_name": "商品名称",
                        "quantity": "sku数量", "line_amount": "金额", "sku": "商品名称"}
    assert res.accepted == res.read and res.quarantined == 0
    assert res.lines["state"].unique().to_list() == ["returned"]             # every quantity negative
    assert res.lines["order_id"].str.contains(r"\.").sum() == 0              # 112345, not 112345.0
    result = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'ow.db'}")
    assert result.flags.height == 0                                          # returns are not anomalies


def test_slices_keep_the_originals_shape():
    for name in ("tmall_order_report1.csv", "mrtb_data.xlsx", "JDdata.xls"):
        assert (SLICES / name).is_file(), name
    head = (SLICES / "tmall_order_report1.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert head == "订单编号,总金额,买家实际支付金额,收货地址,订单创建时间,订单付款时间,退款金额"
    assert (SLICES / "JDdata.xls").read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")   # legacy .xls (OLE2)
