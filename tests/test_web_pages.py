"""Rules pages (validate-and-reload), upload and its quarantine download, the dashboard's
false-positive rate, and the serve/users commands."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from orderwatch.cli import main
from tests.web_fixtures import csrf_of
from tests.factories import SHIPPED_LINE_WARN


def _rules_copy(world, tmp_path) -> Path:
    """Point the app at a private copy of the shipped rules (the tests edit it)."""
    cfg = world.app.extensions["orderwatch.config"]
    d = tmp_path / "rules"
    d.mkdir()
    for p in cfg.rules_dir.glob("*.yaml"):
        (d / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    cfg.raw["rules_dir"] = str(d)
    return d


def test_rules_page_lists_levels_hits_and_fp_rate(world, client_for):
    c = client_for("admin")
    page = c.get(f"/flags/{world.ids['fin_a']}").get_data(as_text=True)
    c.post(f"/flags/{world.ids['fin_a']}/transition", data={
        "_csrf": csrf_of(page), "to_status": "resolved", "resolution": "false_positive", "version": "1"})
    rules = client_for("author").get("/rules/").get_data(as_text=True)
    row = rules.split('data-rule="order_amount_spike"', 1)[1].split("</tr>", 1)[0]
    # 2 hits; 1 resolution (a false positive): too few to state a rate, and the count says so
    assert "amount_ratio &gt;= 20" in row and '<td class="num">2</td>' in row and "样本太少（n = 1）" in row
    dash = c.get("/dashboard?from=2026-08-01&to=2026-09-30").get_data(as_text=True)
    assert "样本太少（n = 1）" in dash.split('data-rule="order_amount_spike"', 1)[1].split("</tr>", 1)[0]


def test_validate_and_reload(world, client_for, tmp_path):
    d = _rules_copy(world, tmp_path)
    c = client_for("author")
    page = c.get("/rules/file/volume.yaml").get_data(as_text=True)
    original = (d / "volume.yaml").read_text(encoding="utf-8")
    bad = original.replace(f'warn: "{SHIPPED_LINE_WARN}"', 'warn: "qty_ratio >= 8 and"')
    resp = c.post("/rules/file/volume.yaml", data={"_csrf": csrf_of(page), "text": bad})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "volume.yaml: rule &#39;line_qty_outlier&#39;: levels.warn: condition ends too early" in body
    assert (d / "volume.yaml").read_text(encoding="utf-8") == original  # the running rules stay
    good = original.replace(f'warn: "{SHIPPED_LINE_WARN}"', 'warn: "qty_ratio >= 9 and excess_packs >= 3"')
    resp = c.post("/rules/file/volume.yaml", data={"_csrf": csrf_of(page), "text": good})
    assert resp.status_code == 200 and 'role="status"' in resp.get_data(as_text=True)
    assert "qty_ratio >= 9" in (d / "volume.yaml").read_text(encoding="utf-8")
    dup = original.replace("id: store_day_surge", "id: order_amount_spike")
    resp = c.post("/rules/file/volume.yaml", data={"_csrf": csrf_of(page), "text": dup})
    assert resp.status_code == 422 and "duplicate rule id" in resp.get_data(as_text=True)


def test_upload_scans_and_offers_quarantine(world, client_for):
    c = client_for("fin")
    page = c.get("/upload").get_data(as_text=True)
    csv = ("订单号,门店编号,下单时间,商品编码,数量\nU1,S7,2026-09-01 13:00,SP1,6\nU2,,2026-09-01 13:00,SP1,6\n"
           "U3,S7,2026-09-01 13:00,SP1,abc\n").encode("utf-8")
    import io
    resp = c.post("/upload", data={"_csrf": csrf_of(page), "file": (io.BytesIO(csv), "门店订单.csv")},
                  content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<td id="read">3</td>' in body and '<td id="accepted">1</td>' in body and '<td id="quarantined">2</td>' in body
    assert 'class="mapping"' in body and "下单时间" in body             # the field report: headers -> fields
    link = body.split('id="quarantine-link"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    q = c.get(link)
    text = q.get_data(as_text=True)
    assert q.status_code == 200 and q.mimetype == "text/csv"
    assert "门店订单.csv" in text and ",3," in text and ",4," in text
    bad = c.post("/upload", data={"_csrf": csrf_of(page), "file": (io.BytesIO(b"x"), "orders.exe")},
                 content_type="multipart/form-data")
    assert bad.status_code == 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_users_cli_and_serve(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    env = {**os.environ, "ORDERWATCH_CONFIG": str(cfg)}
    run = [sys.executable, "-m", "orderwatch.cli"]
    add = subprocess.run([*run, "users", "add", "li", "--role", "reviewer", "--department", "finance",
                          "--password-stdin"], input="long enough pw\n", text=True, env=env, capture_output=True)
    assert add.returncode == 0, add.stderr
    bad = subprocess.run([*run, "users", "add", "wu", "--role", "reviewer", "--department", "sales",
                          "--password-stdin"], input="long enough pw\n", text=True, env=env, capture_output=True)
    assert bad.returncode == 2 and "unknown department(s) sales" in bad.stderr
    listed = subprocess.run([*run, "users", "list"], text=True, env=env, capture_output=True).stdout
    assert "li" in listed and "finance" in listed
    port = _free_port()
    server = subprocess.Popen([*run, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                    # gunicorn, not the development server
                    assert resp.status == 200 and "gunicorn" in resp.headers["Server"].lower()
                    break
            except OSError:
                assert time.time() < deadline and server.poll() is None, server.stderr.read().decode()
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert main(["--config", str(cfg), "users", "token", "nobody"]) == 2
