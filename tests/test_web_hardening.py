"""The security holes a tester found, each closed: redirects, formulas, quarantine scope,
login limits, sessions, upload caps, leftover uploads, 400 (never 500) for bad parameters."""

from __future__ import annotations

import http.client
import io
import re
import threading
import zipfile
from datetime import datetime
from urllib.parse import unquote, urlsplit

import pytest

from store import logins
from store.users import update_user
from tests.web_fixtures import PASSWORD, csrf_of, login

HEADER = "订单号,门店编号,下单时间,商品编码,数量"


def cfg(world):
    return world.app.extensions["orderwatch.config"].raw


# -- redirects ----------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["next=/%09/evil.example", "next=/%5Cevil.example", "next=//evil.example",
                                   "next=/%0a/evil.example", "next=https://evil.example/", "next=/%2509/evil.example",
                                   "next=/%0d%0aSet-Cookie:x=1", "next=%09//evil.example", "next=/%5C/evil.example"])
def test_login_redirect_stays_on_this_site(world, query):
    c = world.app.test_client()
    page = c.get("/login").get_data(as_text=True)
    resp = c.post(f"/login?{query}", data={"_csrf": csrf_of(page), "username": "fin", "password": PASSWORD})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    # read it as a browser would: decoded, controls dropped, backslashes as slashes
    seen = urlsplit(re.sub(r"[\x00-\x20]", "", unquote(unquote(location))).replace("\\", "/"))
    assert seen.netloc in ("", "localhost") and "evil" not in seen.netloc, location


def test_login_redirect_keeps_a_local_path(world):
    c = world.app.test_client()
    page = c.get("/login").get_data(as_text=True)
    resp = c.post("/login?next=/queue/finance%3Fstatus%3Dall",
                  data={"_csrf": csrf_of(page), "username": "fin", "password": PASSWORD})
    assert resp.headers["Location"].endswith("/queue/finance?status=all")


# -- formula-safe workbooks ---------------------------------------------------------------
def test_summary_workbooks_never_hold_formulas(world, tmp_path):
    import polars as pl

    from orderwatch.summaries import Period, write_summary
    store = world.store
    sid = store.begin_scan(["x.csv"], datetime(2026, 9, 2))
    store.upsert_flags(sid, pl.DataFrame({
        "rule_id": ["order_amount_spike"], "kind": ["amount_spike"], "level": ["warn"], "department": ["finance"],
        "subject": ["order:x:1"], "order_id": ['=HYPERLINK("http://evil.example","查看")'], "store_id": ["=1+2"],
        "store_name": ["=1+2"], "occurred_at": [datetime(2026, 9, 1, 13)], "title": ["t"],
        "reason": ["=cmd|' /C calc'!A0"], "evidence": ["{}"]}))
    config = world.app.extensions["orderwatch.config"]
    url = store.engine.url.render_as_string(False)
    for kind in ("weekly", "monthly"):
        from datetime import date
        path = write_summary(config, Period(kind, date(2026, 8, 31), date(2026, 9, 7)), db_url=url,
                             out_dir=tmp_path)
        with zipfile.ZipFile(path) as z:
            sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in s for s in sheets), kind


# -- quarantine downloads -----------------------------------------------------------------
def _scan_with_quarantine(world, uploader: str) -> int:
    import polars as pl
    store = world.store
    sid = store.begin_scan(["u.csv"], datetime(2026, 9, 2), created_by=uploader)
    store.add_quarantine(sid, pl.DataFrame({
        "source_file": ["u.csv"] * 3, "line": [2, 3, 4], "reason": ["r"] * 3,
        "raw": ['{"门店编号":"S1","收货人":"甲"}', '{"门店编号":"S2","收货人":"乙"}', '{"门店编号":"S3","收货人":"丙"}'],
        "store_id": ["S1", "S2", "S3"]}))
    return sid


def _rows(resp) -> list[str]:
    text = resp.get_data(as_text=True)
    return sorted(x for x in ("甲", "乙", "丙") if x in text)


def test_quarantine_download_is_scoped(world, client_for):
    sid = _scan_with_quarantine(world, "fin")
    url = f"/scans/{sid}/quarantine.csv"
    assert _rows(client_for("fin").get(url)) == ["丙", "乙", "甲"]      # the uploader
    assert _rows(client_for("admin").get(url)) == ["丙", "乙", "甲"]
    assert _rows(client_for("cs").get(url)) == ["乙", "甲"]              # stores of their flags only
    assert _rows(client_for("mgr1").get(url)) == ["甲"]                  # their store only
    assert client_for("author").get(url).status_code == 404
    assert client_for("admin").get("/scans/999999/quarantine.csv").status_code == 404


# -- login limits -------------------------------------------------------------------------
def test_progressive_delay_per_name_and_address(world):
    engine, t = world.store.engine, datetime(2026, 9, 1, 12, 0)
    kw = dict(limit=3, window_minutes=15, base_delay=2.0)
    for i in range(3):
        r = logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=i), **kw)
        assert r.attempt_id is not None
    refused = logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=3), **kw)
    assert refused.attempt_id is None and refused.retry_after == 1          # 2 s after the last try
    assert logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=4), **kw).attempt_id is not None
    assert logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=6), **kw).retry_after == 2  # now 4 s
    assert logins.reserve(engine, "fin", "2.2.2.2", now=t.replace(second=6), **kw).attempt_id is not None
    assert logins.reserve(engine, "cs", "1.1.1.1", now=t.replace(second=6), **kw).attempt_id is not None
    ok = logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=9), **kw)
    logins.settle(engine, ok.attempt_id, True)                               # a success clears the count
    assert logins.reserve(engine, "fin", "1.1.1.1", now=t.replace(second=10), **kw).attempt_id is not None


def test_concurrent_guesses_run_no_more_password_checks_than_the_limit(world, monkeypatch):
    import store.users as users
    cfg(world)["web"]["login_delay_seconds"] = 600
    checks = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checks.append(1) or real(h, p))
    clients = [world.app.test_client() for _ in range(16)]
    pages = [csrf_of(c.get("/login").get_data(as_text=True)) for c in clients]
    codes: list[int] = []
    barrier = threading.Barrier(16)

    def guess(c, tok):
        barrier.wait()
        codes.append(c.post("/login", data={"_csrf": tok, "username": "admin", "password": "nope"}).status_code)

    threads = [threading.Thread(target=guess, args=(c, t)) for c, t in zip(clients, pages)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(checks) <= 5 and codes.count(401) == len(checks) and codes.count(429) == 16 - len(checks)


def test_unknown_names_cost_a_password_check_too(world, monkeypatch):
    import store.users as users
    checks = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checks.append(h) or real(h, p))
    c = world.app.test_client()
    assert login(c, "nobody-at-all", "whatever").status_code == 401
    assert len(checks) == 1


# -- sessions -----------------------------------------------------------------------------
def _copy_session(src, app):
    c = app.test_client()
    c.set_cookie("session", src.get_cookie("session").value)
    return c


def test_logout_ends_a_captured_session(world, client_for):
    c = client_for("fin")
    stolen = _copy_session(c, world.app)
    assert stolen.get("/queue/finance").status_code == 200
    page = c.get("/queue/finance").get_data(as_text=True)
    assert c.post("/logout", data={"_csrf": csrf_of(page)}).status_code == 302
    assert stolen.get("/queue/finance").status_code == 302             # back to the login page


def test_password_change_ends_sessions(world, client_for):
    c = client_for("cs")
    assert c.get("/queue/customer_service").status_code == 200
    uid = next(u.id for u in [__import__("store.users", fromlist=["get_user"]).get_user(world.store.engine, name="cs")])
    update_user(world.store.engine, uid, password="another secret 2")
    assert c.get("/queue/customer_service").status_code == 302


# -- uploads ------------------------------------------------------------------------------
def _upload(c, name: str, data: bytes):
    page = c.get("/upload").get_data(as_text=True)
    return c.post("/upload", data={"_csrf": csrf_of(page), "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def _uploads(world, kind: str = "uploads"):
    from pathlib import Path
    root = Path(world.app.instance_path) / kind
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_caps(world, client_for):
    c = client_for("admin")
    web = cfg(world)["web"]
    web.update(upload_max_columns=50, upload_max_rows=20)
    wide = (",".join(f"c{i}" for i in range(5000)) + "\n").encode()
    resp = _upload(c, "wide.csv", wide)
    assert resp.status_code == 413 and "web.upload_max_columns" in resp.get_data(as_text=True)
    long = ("\n".join([HEADER] + [f"A{i},S1,2026-09-01 13:00,K,1" for i in range(30)]) + "\n").encode()
    resp = _upload(c, "long.csv", long)
    assert resp.status_code == 413 and "web.upload_max_rows" in resp.get_data(as_text=True)
    web.update(upload_max_rows=None, upload_max_decompressed_mb=1)
    import xlsxwriter
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, HEADER.split(","))
    for r in range(1, 20000):
        ws.write_row(r, 0, [f"A{r}", "S1", "2026-09-01 13:00", "K" * 30, 1])
    wb.close()
    resp = _upload(c, "bomb.xlsx", buf.getvalue())
    assert resp.status_code == 413 and "web.upload_max_decompressed_mb" in resp.get_data(as_text=True)
    web.update(upload_max_decompressed_mb=None, upload_max_seconds=1e-9)
    resp = _upload(c, "slow.csv", long)
    assert resp.status_code == 422
    assert _uploads(world) == []


def test_uploads_are_deleted_unless_kept(world, client_for):
    c = client_for("admin")
    body = ("\n".join([HEADER, "A1,S1,2026-09-01 13:00,K,1"]) + "\n").encode()
    long_name = "订" * 300 + ".csv"
    resp = _upload(c, long_name, body)
    assert resp.status_code == 200 and _uploads(world) == []
    pushed = world.app.test_client().post("/api/v1/orders", headers={"Authorization": f"Bearer {world.tokens['admin']}"},
                                          data='{"订单号":"P1","门店编号":"S1","下单时间":"2026-09-01 13:00","商品编码":"K","数量":1}\n')
    assert pushed.status_code == 200 and _uploads(world, "api") == []
    cfg(world)["web"]["keep_uploads"] = True
    assert _upload(c, "kept.csv", body).status_code == 200
    assert [p.name for p in _uploads(world)] == ["kept.csv"]


# -- bad parameters: 400 naming the field, never 500 ----------------------------------------
@pytest.mark.parametrize("path, field", [
    ("/api/v1/flags?after=99999999999999999999999", "after"),
    ("/api/v1/flags?sort=severity&after=1:99999999999999999999999", "after"),
    ("/api/v1/flags?date_to=9999-12-31", "date_to"),
    ("/api/v1/flags?date_from=0001-01-01", "date_from"),
    ("/api/v1/flags/99999999999999999999999", "id"),
    ("/api/v1/flags?store_id=S1%00", "store_id"),
    ("/api/v1/orders?source=nope", "source"),
])
def test_bad_api_parameters_are_400(world, path, field):
    c = world.app.test_client()
    h = {"Authorization": f"Bearer {world.tokens['admin']}"}
    resp = c.post(path, headers=h, data="[]") if "orders" in path else c.get(path, headers=h)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["message"].startswith(field) or f"{field}:" in resp.json["message"]


def test_bad_page_parameters_are_400(world, client_for):
    c = client_for("admin")
    for path in ("/queue/finance?date_to=9999-12-31", "/queue/finance?after=1e99",
                 "/flags/99999999999999999999999", "/queue/finance?store_id=%00"):
        assert c.get(path).status_code == 400, path
    page = c.get("/login").get_data(as_text=True)
    anon = world.app.test_client()
    page = anon.get("/login").get_data(as_text=True)
    assert anon.post("/login", data={"_csrf": csrf_of(page), "username": "ad\x00min",
                                     "password": "x"}).status_code == 400


def test_overlong_user_name_is_a_clear_error(world, client_for):
    c = client_for("admin")
    page = c.get("/admin/users").get_data(as_text=True)
    resp = c.post("/admin/users", data={"_csrf": csrf_of(page), "name": "x" * 300, "password": "long enough 1",
                                        "role": "admin"})
    assert resp.status_code == 400 and "at most 128" in resp.get_data(as_text=True)


def test_nul_bytes_on_postgresql_are_400_not_500(pg_database, tmp_path):
    from contracts.config import load_config
    from store.users import add_user, create_token
    from web import create_app
    url = pg_database()
    config = load_config(overrides={"instance_dir": str(tmp_path / "pg"), "database": {"url": url}})
    app = create_app(config, {"TESTING": True})
    try:
        engine = app.extensions["orderwatch.store"].engine
        add_user(engine, "admin", PASSWORD, "admin")
        h = {"Authorization": f"Bearer {create_token(engine, 1)}"}
        c = app.test_client()
        for q in ("store_id=%00", "assignee=a%00b", "order_id=%00", "kind=x%00"):
            assert c.get(f"/api/v1/flags?{q}", headers=h).status_code == 400, q
        page = c.get("/login").get_data(as_text=True)
        assert c.post("/login", data={"_csrf": csrf_of(page), "username": "a\x00", "password": "x"}).status_code == 400
        body = '{"订单号":"A1","门店编号":"S\\u00001","下单时间":"2026-09-01 13:00","商品编码":"K","数量":1}\n'
        resp = c.post("/api/v1/orders", data=body, headers=h)
        assert resp.status_code == 200 and resp.json["quarantined"] == 1
        assert "NUL" in resp.json["quarantine"][0]["reason"]
    finally:
        app.extensions["orderwatch.store"].close()


# -- bodies over the limit, whatever the transfer encoding ------------------------------------
SERVE = """
import sys
from contracts.config import load_config
from web.server import serve
serve(load_config(sys.argv[1]), "127.0.0.1", int(sys.argv[2]), 1, 2)
"""


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chunked_bodies_over_the_limit_are_413_under_gunicorn(world, tmp_path):
    """gunicorn (what `orderwatch serve` runs) streams a chunked body without a length."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    import yaml
    db = world.store.engine.url.render_as_string(False)
    site = tmp_path / "serve.yaml"
    site.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "inst"), "database": {"url": db},
                                    "web": {"upload_max_mb": 1}, "jobs": {"in_serve": False}}), encoding="utf-8")
    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(site), str(port)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(150):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/login")
                break
            except OSError:
                time.sleep(0.1)

        def push(lines: int) -> tuple[int, bytes]:
            rec = '{"订单号":"A%d","门店编号":"S1","下单时间":"2026-09-01 13:00","商品编码":"K","数量":1}\n'
            chunks = [(rec % i).encode() for i in range(lines)]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/api/v1/orders", body=iter(chunks), encode_chunked=True,
                         headers={"Authorization": f"Bearer {world.tokens['admin']}",
                                  "Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            out = resp.status, resp.read()
            conn.close()
            return out

        status, body = push(15_000)                    # ~1.3 MB, chunked, no Content-Length
        assert status == 413, body[:300]
        status, body = push(210)
        assert status == 200 and b'"read":210' in body.replace(b" ", b""), body[:300]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_new_reasons_read_in_the_readers_language(world, client_for):
    c = client_for("admin")
    page = c.get("/upload").get_data(as_text=True)
    c.post("/language", data={"_csrf": csrf_of(page), "language": "en", "next": "/upload"})
    body = ("\n".join([HEADER, "A1,S1,2026-09-01 13:00,K,1", 'A2,"S1,2026-09-01 13:00,K,1',
                       "A3,S1,2026-09-01 13:00,K,1"]) + "\n").encode()
    shown = _upload(c, "stray.csv", body).get_data(as_text=True)
    assert "never closes" in shown and "引号" not in shown
    cfg(world)["web"]["upload_max_columns"] = 2
    refused = _upload(c, "wide.csv", body)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 413 and "more than the limit of 2" in text and "web.upload_max_columns" in text
