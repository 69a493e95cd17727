"""One language at a time: every page, in Chinese and in English, as each role, says nothing in
the other language and shows no internal key outside data and code (tests/language_check.py)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from tests.language_check import problems
from tests.web_fixtures import PASSWORD, csrf_of, login

ROLES = {
    "admin": dict(role="admin"),
    "rev": dict(role="reviewer", departments=["finance", "customer_service", "logistics"]),
    "mgr": dict(role="store_manager"),
    "author": dict(role="rule_author"),
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """A scanned demo set served by the test client, one user per role, one silence, one message."""
    from alerts.notify import enqueue
    from alerts.silences import add
    from contracts.config import load_config
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan
    from store.models import utcnow
    from store.users import add_user
    from web import create_app

    tmp = tmp_path_factory.mktemp("i18n")
    cfg = load_config(overrides={"instance_dir": str(tmp / "instance"), "jobs": {"in_serve": False}})
    demo = generate(tmp / "data", stores=20, days=15, seed=11)
    result = run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of, db_url=cfg.database_url)
    app = create_app(cfg, {"TESTING": True})
    store = app.extensions["orderwatch.store"]
    flags = store.flags_frame()
    top_store = flags.drop_nulls("store_id").group_by("store_id").len().sort("len", descending=True)["store_id"][0]
    for name, kw in ROLES.items():
        extra = {"stores": [top_store]} if name == "mgr" else {}
        add_user(store.engine, name, PASSWORD, known_departments=list(cfg.departments), **kw, **extra)
    now = utcnow()
    add(store.engine, {"department": "finance", "kind": "amount_spike"}, now, now + timedelta(hours=3), "rev",
        "盘点中", now=now)
    enqueue(store.engine, receiver="ops-mail", kind="digest", group_key=None, dedupe_key="d1", subject="日报",
            body="…")
    ids = {r["rule_id"]: r["id"] for r in flags.sort("id").iter_rows(named=True)}
    yield app, ids, top_store, result
    store.close()


def _client(app, name: str, lang: str):
    c = app.test_client()
    assert login(c, name).status_code == 302
    page = c.get("/rules/" if name == "author" else "/dashboard" if name != "mgr" else "/stores")
    c.post("/language", data={"_csrf": csrf_of(page.get_data(as_text=True)), "language": lang, "next": "/"})
    return c


def _pages(app, name: str, ids: dict[str, int], top_store: str) -> list[str]:
    cfg = app.extensions["orderwatch.config"]
    if name == "author":
        return ["/rules/", "/rules/file/volume.yaml", "/rules/file/amounts.yaml", "/nowhere", "/dashboard",
                "/rules/rule/line_qty_outlier", "/rules/rule/store_flag_cluster"]
    flag_pages = [f"/flags/{i}" for i in ids.values()]
    if name == "mgr":
        return ["/stores", "/stores?status=all&sort=new", "/dashboard", "/nowhere", "/upload", "/rules/",
                *[p for p in flag_pages]]
    depts = list(cfg.departments) if name == "admin" else ROLES["rev"]["departments"]
    pages = [f"/queue/{d}" for d in depts] + [
        f"/queue/{depts[0]}?status=all&sort=occurred", f"/queue/{depts[0]}?date_from=tomorrow",
        "/dashboard", "/dashboard?days=7", "/dashboard?from=2026-01-01&to=2026-12-31", "/upload", "/silences",
        "/nowhere", *flag_pages]
    if name == "admin":
        pages += ["/stores", f"/stores?store_id={top_store}", "/notifications", "/notifications?status=pending",
                  "/admin/users", "/rules/", "/rules/file/fulfilment.yaml", "/rules/rule/order_amount_spike"]
    else:
        pages += ["/admin/users", "/notifications", "/queue/purchasing"]
    return pages


def _check(resp, lang: str, where: str) -> list[str]:
    html = resp.get_data(as_text=True)
    if resp.mimetype != "text/html":
        return []
    assert f'lang="{"en" if lang == "en" else "zh-CN"}"' in html, where
    return [f"{where}: {p}" for p in problems(html, lang)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(ROLES))
def test_every_page_speaks_one_language(scanned, name, lang):
    app, ids, top_store, _result = scanned
    c = _client(app, name, lang)
    found: list[str] = []
    for path in _pages(app, name, ids, top_store):
        resp = c.get(path, follow_redirects=True)
        assert resp.status_code in (200, 400, 403, 404), (path, resp.status_code)
        found += _check(resp, lang, path)
    if name in ("admin", "rev"):
        found += _forms(c, lang, ids)
    assert not found, "\n".join(found[:40])


def _forms(c, lang: str, ids: dict[str, int]) -> list[str]:
    """Pages after a refused form and after an upload (the scan report)."""
    out: list[str] = []
    fid = ids["order_amount_spike"]
    page = c.get(f"/flags/{fid}").get_data(as_text=True)
    token = csrf_of(page)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = c.post(f"/flags/{fid}/transition", data={"_csrf": token, "to_status": "resolved", "version": version,
                                                 "note": "note kept"})
    assert r.status_code == 400
    out += _check(r, lang, "transition without a resolution")
    r = c.post("/silences", data={"_csrf": token, "department": "", "hours": "900", "comment": ""})
    out += _check(r, lang, "silence refused")
    r = c.post("/flags/bulk", data={"_csrf": token, "to_status": "resolved", "scope": "selected",
                                    "department": "finance", "back": "/queue/finance"})
    out += _check(r, lang, "bulk refused")
    for name, body in (("unknown.csv", "编号,名称\nA1,苹果\n"), ("bad.exe", "x")):
        r = c.post("/upload", data={"_csrf": token, "file": (io.BytesIO(body.encode()), name)},
                   content_type="multipart/form-data")
        out += _check(r, lang, f"upload {name}")
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_dry_run_speaks_one_language(scanned, lang):
    """A rule author's dry run of a looser threshold, and the refused one with a mistake."""
    app, *_ = scanned
    c = _client(app, "author", lang)
    page = c.get("/rules/rule/line_qty_outlier").get_data(as_text=True)
    token = csrf_of(page)
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={
        "_csrf": token, "level_warn": "qty_ratio >= 3 and quantity >= 10", "level_critical": "qty_ratio >= 30"})
    assert r.status_code == 200 and 'id="dry-run-result"' in r.get_data(as_text=True)
    found = _check(r, lang, "dry run")
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, "level_warn": "qty_ratoi >= 3"})
    assert r.status_code == 422
    found += _check(r, lang, "dry run refused")
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, "level_warn": "qty_ratio >= 3",
                                                             "since": "someday"})
    found += _check(r, lang, "dry run with a bad date")
    c.post("/rules/rule/line_qty_outlier/discard", data={"_csrf": token})
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_forms_and_errors_speak_one_language(scanned, lang):
    app, ids, _store, _result = scanned
    c = _client(app, "admin", lang)
    token = csrf_of(c.get("/admin/users").get_data(as_text=True))
    found = []
    for data in ({"name": "x1", "password": "short", "role": "reviewer"},
                 {"name": "x2", "password": "long enough 1", "role": "reviewer"},
                 {"name": "x3", "password": "long enough 1", "role": "store_manager", "stores": "NOPE42"}):
        r = c.post("/admin/users", data={"_csrf": token, **data})
        assert r.status_code == 400
        found += _check(r, lang, f"add user {data}")
    r = c.post("/admin/users", data={"_csrf": "stale", "name": "x"})
    found += _check(r, lang, "csrf")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_logged_out_pages(scanned, lang):
    app, *_ = scanned
    app.extensions["orderwatch.config"].raw.setdefault("web", {})["default_language"] = lang
    try:
        c = app.test_client()
        found = _check(c.get("/login"), lang, "/login") + _check(c.get("/nowhere"), lang, "/nowhere")
        r = c.post("/login", data={"_csrf": csrf_of(c.get("/login").get_data(as_text=True)), "username": "admin",
                                   "password": "wrong"})
        found += _check(r, lang, "bad login")
    finally:
        app.extensions["orderwatch.config"].raw["web"]["default_language"] = "zh"
    assert not found, "\n".join(found)
