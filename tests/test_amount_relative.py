"""An amount spike is judged by figures relative to the store and the platform, never by a money
amount that assumes one platform's scale.

On main the shipped rule needed ``order_amount >= 2000`` (and 5,000 for critical): on a platform
whose orders are worth tens, a store's order ten times its usual was never a flag, while on a
platform of large orders a store whose orders vary a lot was flagged for its usual big ones
(five times its median, but no more than its own big days)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import polars as pl
import yaml

from contracts.config import load_config
from orderwatch.scan import run_scan


HEAD = "订单号,门店编号,下单时间,订单状态,支付方式,商品编码,数量,单价\n"
T0 = datetime(2026, 8, 1, 10)


def _scan(tmp_path, rows: list[tuple[str, str, datetime, float]]):
    body = "".join(f"{o},{s},{t:%Y-%m-%d %H:%M},已完成,微信支付,SP1,1,{amount:.2f}\n" for o, s, t, amount in rows)
    p = tmp_path / "orders.csv"
    p.write_text(HEAD + body, encoding="utf-8")
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i")})
    res = run_scan([p], cfg, db_url=f"sqlite:///{tmp_path / 'ow.db'}", as_of=T0 + timedelta(days=40))
    return dict(res.flags.filter(pl.col("rule_id") == "order_amount_spike").select("order_id", "level").iter_rows())


def _history(store: str, amounts: list[float]) -> list[tuple[str, str, datetime, float]]:
    return [(f"{store}-{i}", store, T0 + timedelta(hours=18 * i), a) for i, a in enumerate(amounts)]


def test_a_spike_on_a_platform_of_small_orders_is_found(tmp_path):
    rows = []
    for k in range(6):                                   # orders of 30-45 (a kiosk's scale)
        rows += _history(f"S{k}", [30.0 + (i * 7 + k) % 16 for i in range(30)])
    rows.append(("SPIKE", "S0", T0 + timedelta(days=35), 420.0))     # 11x the store's usual
    rows.append(("NORMAL", "S1", T0 + timedelta(days=35), 44.0))
    assert _scan(tmp_path, rows) == {"SPIKE": "warn"}


def test_a_store_whose_orders_vary_is_not_flagged_for_its_usual_big_one(tmp_path):
    rows = []
    for k in range(6):                                   # a median near 500, one in ten near 3,000
        rows += _history(f"S{k}", [3000.0 + 10 * i if i % 10 == 3 else 400.0 + (i * 37 + k) % 250 for i in range(40)])
    rows.append(("BIG", "S0", T0 + timedelta(days=35), 3300.0))       # 6x its median, like its big days
    rows.append(("SPIKE", "S1", T0 + timedelta(days=35), 30000.0))    # 10x even its big days
    assert _scan(tmp_path, rows) == {"SPIKE": "critical"}


def test_no_money_amount_in_the_shipped_amount_rules():
    rules = yaml.safe_load((load_config().rules_dir / "amounts.yaml").read_text(encoding="utf-8"))["rules"]
    spike = next(r for r in rules if r["detector"] == "amount_spike")
    for level, cond in spike["levels"].items():
        # every figure compared is a ratio or a count of orders, none an amount of money
        compared = set(re.findall(r"([a-z_]+)\s*[<>]=?", cond))
        assert compared <= {"amount_ratio", "high_ratio", "platform_ratio", "platform_high_ratio",
                            "history_orders", "amount_z"}, (level, compared)
