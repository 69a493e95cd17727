"""Queues built for triage (test client): severity then oldest, the SLA clock, take next, similar
flags at once, saved filters, the Excel export; and forms that keep what was typed."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import update

from store.models import Flag
from tests.web_fixtures import csrf_of


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="lvl-\w+" data-flag-id="(\d+)"', page)]


def test_queue_opens_most_severe_first_then_oldest(world, client_for):
    c = client_for("cs")
    assert _ids(c.get("/queue/customer_service").get_data(as_text=True)) == [world.ids["cs_b"], world.ids["cs_a"]]
    world.app.config["PAGE_SIZE"] = 1          # the cursor walks from one level to the next
    first = c.get("/queue/customer_service").get_data(as_text=True)
    assert _ids(first) == [world.ids["cs_b"]]
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert _ids(c.get(nxt).get_data(as_text=True)) == [world.ids["cs_a"]]


def test_sla_clock_per_row(world, client_for):
    with world.store.engine.begin() as conn:
        conn.execute(update(Flag).where(Flag.id == world.ids["cs_a"])
                     .values(created_at=datetime.utcnow() - timedelta(minutes=95)))
    page = client_for("cs").get("/queue/customer_service").get_data(as_text=True)
    row = page.split(f'data-flag-id="{world.ids["cs_a"]}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="sla sla-overdue"' in row and "已超时 1小时5分钟" in row      # 30 min SLA, 95 min old
    row = page.split(f'data-flag-id="{world.ids["cs_b"]}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="sla sla-left"' in row and "还剩" in row


def test_take_next_claims_in_triage_order_until_none_is_left(world, client_for):
    c = client_for("fin")
    token = csrf_of(c.get("/queue/finance").get_data(as_text=True))
    for expected in ("fin_a", "fin_b"):
        r = c.post("/take-next", data={"_csrf": token, "department": "finance"})
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/flags/{world.ids[expected]}")
        assert world.store.flags_frame().filter(pl.col("id") == world.ids[expected])["assignee"][0] == "fin"
    r = c.post("/take-next", data={"_csrf": token, "department": "finance"})
    assert r.status_code == 200 and "没有可领取的异常" in r.get_data(as_text=True)


def test_resolve_similar_flags_of_the_same_rule_and_store(world, client_for):
    scan = world.store.begin_scan([], datetime(2026, 9, 2))
    world.store.upsert_flags(scan, pl.DataFrame({
        "rule_id": ["order_amount_spike"] * 2, "kind": ["amount_spike"] * 2, "level": ["warn"] * 2,
        "department": ["finance"] * 2, "subject": ["o:S1:A7", "o:S1:A8"], "order_id": ["A7", "A8"],
        "store_id": ["S1", "S1"], "reason": ["r", "r"]}))
    c = client_for("fin")
    page = c.get(f"/flags/{world.ids['fin_a']}").get_data(as_text=True)
    assert 'id="similar"' in page and "共有 3 条待处理异常" in page
    r = c.post("/flags/bulk", data={"_csrf": csrf_of(page), "scope": "similar", "flag_id": world.ids["fin_a"],
                                    "to_status": "resolved", "note": "都是促销"})
    assert r.status_code == 400 and "请选择处理结果" in r.get_data(as_text=True)
    assert 'value="都是促销"' in r.get_data(as_text=True)
    r = c.post("/flags/bulk", data={"_csrf": csrf_of(page), "scope": "similar", "flag_id": world.ids["fin_a"],
                                    "to_status": "resolved", "resolution": "false_positive", "note": "都是促销"})
    assert r.status_code == 200 and "已变更 3 条" in r.get_data(as_text=True)
    flags = world.store.flags_frame().filter(pl.col("store_id") == "S1", pl.col("rule_id") == "order_amount_spike")
    assert flags["status"].to_list() == ["resolved"] * 3


def test_saved_filters_are_per_user(world, client_for):
    fin, admin = client_for("fin"), client_for("admin")
    page = fin.get("/queue/finance?level=critical").get_data(as_text=True)
    r = fin.post("/filters", data={"_csrf": csrf_of(page), "name": "只看严重", "back": "/queue/finance",
                                   "level": "critical", "status": "active", "sort": "severity"})
    assert r.status_code == 302 and "level=critical" in r.headers["Location"]
    page = fin.get("/queue/finance").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" translate="no">只看严重</a>', page)
    assert link and "level=critical" in link.group(1)
    assert "只看严重" not in admin.get("/queue/finance").get_data(as_text=True)
    fid = re.search(r'action="/filters/(\d+)/delete"', page).group(1)
    assert admin.post(f"/filters/{fid}/delete", data={"_csrf": csrf_of(page)}).status_code in (400, 404)
    assert fin.post(f"/filters/{fid}/delete", data={"_csrf": csrf_of(page), "back": "/queue/finance"}).status_code == 302
    assert "只看严重" not in fin.get("/queue/finance").get_data(as_text=True)


def test_export_is_a_workbook_of_the_filter(world, client_for):
    import openpyxl

    c = client_for("fin")
    r = c.get("/export/queue.xlsx?department=finance&level=critical")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    rows = list(wb["确认表"].iter_rows(min_row=5, values_only=True))
    assert [row[1] for row in rows] == [world.ids["fin_a"]]
    assert c.get("/export/queue.xlsx?department=customer_service").status_code == 404


def test_user_form_keeps_what_was_typed_and_checks_stores(world, client_for):
    c = client_for("admin")
    token = csrf_of(c.get("/admin/users").get_data(as_text=True))
    r = c.post("/admin/users", data={"_csrf": token, "name": "wang", "password": "long enough 1", "role": "reviewer"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "审核员至少需要一个部门" in body and "--department" not in body
    assert 'name="name" value="wang"' in body
    # a store never seen: a warning to confirm, the form as typed
    data = {"_csrf": token, "name": "zhao", "password": "long enough 1", "role": "store_manager", "stores": "S1, NOPE9"}
    r = c.post("/admin/users", data=data)
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "还没有见过门店" in body and "NOPE9" in body and 'name="confirm_stores"' in body
    assert 'value="S1, NOPE9"' in body
    r = c.post("/admin/users", data={**data, "confirm_stores": "on"})
    assert r.status_code == 302
    # known stores need no confirmation
    r = c.post("/admin/users", data={"_csrf": token, "name": "li", "password": "long enough 1",
                                     "role": "store_manager", "stores": "S2"})
    assert r.status_code == 302


def test_silence_form_keeps_what_was_typed(world, client_for):
    c = client_for("fin")
    token = csrf_of(c.get("/silences").get_data(as_text=True))
    r = c.post("/silences", data={"_csrf": token, "department": "finance", "store_id": "NOPE9", "hours": "2",
                                  "comment": "盘点"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "还没有见过门店" in body and 'value="盘点"' in body and 'value="NOPE9"' in body
    r = c.post("/silences", data={"_csrf": token, "department": "finance", "store_id": "NOPE9", "hours": "2",
                                  "comment": "盘点", "confirm_store": "on"})
    assert r.status_code == 302


def test_error_pages_are_in_the_layout_and_language(world, client_for):
    c = client_for("fin")
    r = c.get("/no/such/page")
    body = r.get_data(as_text=True)
    assert r.status_code == 404 and "404 · 未找到" in body and 'class="top"' in body and "Not Found" not in body
    r = c.get("/admin/users")
    assert r.status_code == 403 and "403 · 无权执行此操作" in r.get_data(as_text=True)
    r = c.get("/queue/finance?date_from=yesterday")
    assert r.status_code == 400 and "不是日期" in r.get_data(as_text=True)
    assert c.get("/favicon.ico").status_code == 301


def test_server_error_page(tmp_path):
    from contracts.config import load_config
    from web import create_app

    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), "database": {"url": f"sqlite:///{tmp_path}/x.db"},
                                 "jobs": {"in_serve": False}})
    app = create_app(cfg, {"TESTING": False})      # not TESTING: errors are handled, not raised

    @app.get("/boom")
    def boom():  # noqa: ANN202
        raise RuntimeError("kaputt")

    r = app.test_client().get("/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and "500 · 系统出错了" in body and "kaputt" not in body and 'class="top"' in body
    app.extensions["orderwatch.store"].close()


def test_admins_see_that_alerts_are_not_set_up(world, client_for, tmp_path):
    page = client_for("admin").get("/queue/finance").get_data(as_text=True)
    banner = page.split('id="alerts-banner">', 1)[1].split("</div>", 1)[0]
    assert "邮件和告警尚未配置" in banner and "alerts.receivers" in banner and "alerts.route.receiver" in banner
    assert 'id="alerts-banner"' not in client_for("fin").get("/queue/finance").get_data(as_text=True)
    cfg = world.app.extensions["orderwatch.config"]
    cfg.raw["alerts"] = {**cfg.raw["alerts"], "receivers": [{"name": "ops", "email": {"to": ["o@x.y"]}}],
                         "route": {**cfg.raw["alerts"]["route"], "receiver": "ops"}}
    assert 'id="alerts-banner"' not in client_for("admin").get("/queue/finance").get_data(as_text=True)


def test_dashboard_counts_by_occurrence_with_intervals(world, client_for):
    from web.stats import wilson

    low, high = wilson(0, 5)
    assert low == 0 and 0.4 < high < 0.45
    low, high = wilson(5, 5)
    assert high == 1 and 0.55 < low < 0.6
    assert wilson(0, 0) is None
    c = client_for("admin")
    # the world's flags occurred on 2026-09-01 (and were raised today): the day of occurrence counts
    page = c.get("/dashboard?from=2026-09-01&to=2026-09-01").get_data(as_text=True)
    assert "共 5 条异常" in page and "9月1日" in page
    page = c.get("/dashboard?from=2026-09-02&to=2026-09-03").get_data(as_text=True)
    assert "共 0 条异常" in page
