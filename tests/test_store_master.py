"""The store master (门店档案) gives each store its credit limit and its manager's contact: read
like the catalog (any format, headers by meaning), it turns the cash-on-delivery cap into a
credit limit per store; a platform-wide cap is a site setting, off by default."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from alerts.settings import load_settings
from contracts.config import load_config
from ingest.store_master import read_store_master
from orderwatch.scan import run_scan

MASTER = ("门店编码,门店名称,所属区域,信用额度(元),店长,店长手机,店长邮箱\n"
          "MD1,一号店,华东,\"10,000\",张三,13812345678,zs@example.com\n"
          "MD2,二号店,华北,,李四,13912345678,\n"
          ",无名店,华南,5000,,,\n"
          "MD3,三号店,华南,很多,,,\n"
          "MD4,四号店,华南,-5,,,\n")


def test_a_gbk_master_is_read_by_meaning_and_every_row_accounted_for(tmp_path):
    p = tmp_path / "门店档案.csv"
    p.write_bytes(MASTER.encode("gbk"))
    m = read_store_master(p)
    assert m.mapping == {"store_id": "门店编码", "store_name": "门店名称", "region": "所属区域",
                         "credit_limit": "信用额度(元)", "manager": "店长", "phone": "店长手机", "email": "店长邮箱"}
    assert m.how["credit_limit"] == "meaning"          # 信用额度(元) is no alias: its words say it
    assert dict(m.stores.select("store_id", "credit_limit").iter_rows()) == {"MD1": 10000.0, "MD2": None}
    assert m.rows == 5 and m.quarantine.height == 3
    reasons = m.quarantine.sort("line")["reason"].to_list()
    assert "门店编号" in reasons[0] and "很多" in reasons[1] and "负数" in reasons[2]


@pytest.mark.parametrize("name", ["stores.xlsx", "stores.json"])
def test_english_headers_in_excel_or_json(tmp_path, name):
    df = pl.DataFrame({"Customer No.": ["A1", "A2"], "Shop Name": ["North", "South"], "Territory": ["N", "S"],
                       "Credit Line (USD)": ["$12,000", "8000"], "Store Manager": ["Ann", "Bob"],
                       "Manager E-mail": ["ann@x.com", ""],
                       "Alert Hook": ["", "https://oapi.dingtalk.com/robot/send?access_token=t"]})
    p = tmp_path / name
    df.write_excel(p) if name.endswith("xlsx") else p.write_text(json.dumps(df.to_dicts()), encoding="utf-8")
    m = read_store_master(p)
    assert m.mapping == {"store_id": "Customer No.", "store_name": "Shop Name", "region": "Territory",
                         "credit_limit": "Credit Line (USD)", "manager": "Store Manager", "email": "Manager E-mail",
                         "webhook": "Alert Hook"}
    assert m.stores["credit_limit"].to_list() == [12000.0, 8000.0]


HEAD = "订单号,门店编号,下单时间,订单状态,支付方式,商品编码,数量,单价\n"


def _orders(tmp_path) -> str:
    rows = [f"H{s}{i},{s},2026-09-0{1 + i % 5} {10 + i}:00,已完成,货到付款,SP1,{10 + i},1500"
            for i in range(10) for s in ("MD1", "MD2")]                  # orders of 15,000-28,500, paid
    rows += ["BIG1,MD1,2026-09-08 09:00,已确认,货到付款,SP2,1,12000",     # 12,000 > MD1's 10,000
             "BIG2,MD2,2026-09-08 11:00,已确认,货到付款,SP3,1,12000",     # MD2 has no limit
             "BIG3,MD1,2026-09-08 13:00,已确认,在线支付,SP4,1,12000",     # paid online: no credit
             "BIG4,MD2,2026-09-08 15:00,已确认,货到付款,SP5,1,25000"]     # > 20,000, main's cod cap
    p = tmp_path / "orders.csv"
    p.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return str(p)


def _scan(tmp_path, **over):
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), **over})
    return run_scan([_orders(tmp_path)], cfg, db_url=f"sqlite:///{tmp_path / 'ow.db'}", as_of=datetime(2026, 9, 8, 20))


def _credit(res) -> dict[str, str]:
    return dict(res.flags.filter(pl.col("rule_id") == "store_credit_limit").select("order_id", "level").iter_rows())


def test_without_limits_no_cash_on_delivery_order_is_judged_and_the_summary_says_why(tmp_path):
    res = _scan(tmp_path)
    assert _credit(res) == {}
    # main raised a critical "above the cash-on-delivery limit of 20,000" on BIG4, a platform's constant,
    # though the store's orders are 15,000 each
    assert res.flags.filter(pl.col("order_id") == "BIG4").height == 0
    assert res.reports[0].skipped_detectors["credit_limit"] == \
        "needs credit limits (stores.file or payment.cod_cap in config.yaml)"


def test_store_limits_from_the_master_and_the_platform_cap_for_the_rest(tmp_path):
    master = tmp_path / "门店档案.csv"
    master.write_bytes(MASTER.encode("gbk"))
    res = _scan(tmp_path, stores={"file": str(master)})
    assert _credit(res) == {"BIG1": "critical"}                 # MD2 has no limit, BIG3 is prepaid
    flag = res.flags.filter(pl.col("rule_id") == "store_credit_limit").row(0, named=True)
    assert flag["department"] == "finance"
    assert "超出门店信用额度10,000.00共2,000.00" in flag["reason"]
    assert res.store_master is not None and res.store_master.limits.height == 1
    assert res.quarantine.filter(pl.col("source_file") == str(master)).height == 3   # nothing lost
    capped = _scan(tmp_path / "cap", stores={"file": str(master)}, payment={"cod_cap": 20000})
    assert _credit(capped) == {"BIG1": "critical", "BIG4": "critical"}
    assert "全平台货到付款上限20,000.00" in capped.flags.filter(pl.col("order_id") == "BIG4")["reason"][0]


def test_open_cash_on_delivery_exposure_above_the_limit_is_a_warning(tmp_path):
    master = tmp_path / "m.csv"
    master.write_text("门店编码,信用额度\nMD1,2500\n", encoding="utf-8")
    rows = ["S1,MD1,2026-09-01 10:00,已签收,货到付款,SP1,10,100",            # settled: not owed
            "O1,MD1,2026-09-05 10:00,已发货,货到付款,SP1,10,100",            # open 1,000
            "O2,MD1,2026-09-06 10:00,已发货,货到付款,SP1,10,100",            # open 2,000
            "O3,MD1,2026-09-07 10:00,已确认,货到付款,SP1,10,100",            # open 3,000 > 2,500
            "C1,MD1,2026-09-07 11:00,已取消,货到付款,SP1,10,100"]            # cancelled: never counts
    p = tmp_path / "o.csv"
    p.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), "stores": {"file": str(master)}})
    res = run_scan([p], cfg, db_url=f"sqlite:///{tmp_path / 'e.db'}", as_of=datetime(2026, 9, 8))
    assert _credit(res) == {"O3": "warn"}
    ev = json.loads(res.flags.filter(pl.col("order_id") == "O3")["evidence"][0])
    assert ev["cod_exposure"] == 3000 and ev["open_cod_orders"] == 3 and ev["exposure_over"] == 500


def test_store_contacts_come_from_the_same_file_and_the_config_wins(tmp_path):
    master = tmp_path / "m.csv"
    master.write_text("门店编码,店长邮箱,通知地址\nMD1,m1@example.com,\nMD2,,https://qyapi.weixin.qq.com/x\n"
                      "MD3,m3@example.com,\n", encoding="utf-8")
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), "stores": {"file": str(master)},
                                 "alerts": {"store_contacts": {"MD3": {"email": "boss@example.com"}}}})
    contacts = load_settings(cfg).store_contacts
    assert contacts["MD1"].email_to == ("m1@example.com",)
    assert contacts["MD2"].webhook_url == "https://qyapi.weixin.qq.com/x" and contacts["MD2"].webhook_format == "wecom"
    assert contacts["MD3"].email_to == ("boss@example.com",)
    off = load_config(overrides={"stores": {"file": str(master), "contacts": False}})
    assert load_settings(off).store_contacts == {}


def test_a_store_known_only_by_its_name_is_judged_against_its_own_limit(tmp_path):
    """A multi-shop export names its shops (店铺名称) without codes: on main the whole file became
    one store 'default', so no store's credit limit (nor baseline) could ever apply."""
    master = tmp_path / "店铺资料.csv"
    master.write_text("店铺,授信额度\n北岸小店,5000\n云朵旗舰店,50000\n", encoding="utf-8")
    rows = ["订单编号,店铺名称,订单创建时间,订单状态,付款方式,商品编码,数量,单价",
            "T1,北岸小店,2026-09-08 10:00,已审核,货到付款,SP1,1,6000",
            "T2,云朵旗舰店,2026-09-08 10:05,已审核,货到付款,SP2,1,6000"]
    p = tmp_path / "多店铺订单.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), "stores": {"file": str(master)}})
    res = run_scan([p], cfg, db_url=f"sqlite:///{tmp_path / 'n.db'}", as_of=datetime(2026, 9, 8, 20))
    assert {u.field: (u.header, u.how) for u in res.reports[0].fields}["store_id"] == ("店铺名称", "derived")
    assert _credit(res) == {"T1": "critical"}


def test_a_settlement_mode_column_is_the_payment_method():
    """结算模式 (a chain ERP's 预付款 / 月结 / 货到付款): without it no order of that export is
    known to be cash on delivery, and no credit limit can be judged."""
    from ingest.recognise import meanings

    assert [m.field for m in meanings("结算模式")][:1] == ["payment_method"]
    assert "payment_method" not in [m.field for m in meanings("配送模式")]      # how it is shipped, not paid


def test_the_column_that_names_the_orders_stores_is_the_key(tmp_path):
    """A Shopify company list has a name and the main contact's e-mail; the orders know their shops
    by that e-mail: the values decide which column is the key."""
    master = tmp_path / "companies.csv"
    master.write_text("Company Name,Main Contact Email,Credit Limit (USD)\nJuniper Market,orders@juniper.com,500\n",
                      encoding="utf-8")
    m = read_store_master(master)
    assert m.stores["store_id"].to_list() == ["Juniper Market"]               # no code: the name, by default
    keyed = m.keyed_to({"orders@juniper.com", "orders@bayside.com"})
    assert keyed.stores.select("store_id", "credit_limit").rows() == [("orders@juniper.com", 500.0)]
    assert m.keyed_to({"Juniper Market"}) is m
