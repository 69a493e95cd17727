"""Judge only what the data shows, and say so: the detectors a file cannot feed are named with
why in the scan summary, on the upload result, on the dashboard and in ``inspect`` — a queue
without picking flags for a file with no picking column means "not judged", not "all fine"."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import select

from orderwatch.cli import main
from orderwatch.scan import run_scan
from store.models import Scan
from store.users import add_user
from tests.web_fixtures import csrf_of, login

# an order report with no store, SKU, quantity, picking or payment-method column
TEXT = "订单编号,订单创建时间,订单付款时间,总金额,买家实际支付金额\n" + "".join(
    f"{i},2026-09-01 1{i % 10}:00:00,2026-09-01 1{i % 10}:05:00,{37 + i},{37 + i}\n" for i in range(12))


def test_the_scan_keeps_what_it_could_not_judge_and_why(tmp_path, site_config):
    p = tmp_path / "report.csv"
    p.write_text(TEXT, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'ow.db'}"
    res = run_scan([p], site_config, db_url=url, as_of=datetime(2026, 9, 2, 12))
    skipped = {s["name"]: s for s in res.reports[0].summary()["skipped"]}
    assert skipped["volume_surge (line)"]["needs"] == [["sku"], ["quantity"]]
    assert skipped["stage_overdue (picking)"]["needs"] == [["picked_at", "shipped_at", "state:picking", "state:picked",
                                                            "state:shipped"]]
    assert skipped["step_mismatch"]["needs"] == [["sku"], ["quantity"], ["catalog"]]
    assert skipped["credit_limit"]["needs"] == [["payment_method"], ["credit_limits"]]
    assert "amount_spike" not in skipped
    from store import Store

    with Store.open(url) as s, s.engine.connect() as conn:
        kept = conn.execute(select(Scan.__table__.c.skipped)).scalar_one()
    assert kept[str(p)]["stage_overdue (delivery)"] == [["shipped_at"], ["delivered_at", "state:delivered"]]


def test_scan_summary_and_inspect_say_it(tmp_path, site_config, capsys):
    p = tmp_path / "report.csv"
    p.write_text(TEXT, encoding="utf-8")
    assert main(["scan", str(p), "--db", f"sqlite:///{tmp_path / 'ow.db'}"]) == 0
    out = capsys.readouterr().out
    assert "not judged 不判断:" in out and "credit_limit (needs payment_method, credit limits" in out
    assert "step_mismatch (needs sku, quantity, a catalog (scan --catalog))" in out
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "stage_overdue (delivery) (needs shipped_at, delivered_at or state:delivered)" in out


def test_upload_result_and_dashboard_say_what_was_not_judged_and_why(world, client_for):
    c = client_for("fin")
    page = c.get("/upload").get_data(as_text=True)
    resp = c.post("/upload", data={"_csrf": csrf_of(page), "file": (io.BytesIO(TEXT.encode()), "天猫报表.csv")},
                  content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-detector="stage_overdue (delivery)"' in body and "需要发货时间和签收时间或显示“已签收”的订单状态" in body
    assert "需要商品编码和数量" in body                                    # volume per line
    dash = c.get("/dashboard").get_data(as_text=True)
    assert 'id="not-judged"' in dash and 'data-file="天猫报表.csv"' in dash
    assert "信用额度（门店档案或全平台上限）" in dash
    add_user(world.store.engine, "en_fin", "correct horse 1", "reviewer", departments=["finance"], language="en",
             known_departments=["finance"])
    en = world.app.test_client()
    assert login(en, "en_fin").status_code == 302
    dash = en.get("/dashboard").get_data(as_text=True)
    assert "needs shipping time and delivery time or a status that says “delivered”" in dash
    assert "Stage overdue (delivery)" in dash
