"""A rule's page: dry run of an edit, save-and-reload or discard, suggestions, shadow rules —
for rule authors and admins only."""

from __future__ import annotations

import re
import shutil

import markupsafe
import pytest
import yaml

from contracts.config import load_config
from rules import working
from store.users import add_user
from tests.test_shadow_rules import SHADOW
from tests.web_fixtures import PASSWORD, csrf_of, login

LOOSE = {"level_warn": "qty_ratio >= 3 and quantity >= 10", "level_critical": "qty_ratio >= 30 and quantity >= 200"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan
    from web import create_app

    tmp = tmp_path_factory.mktemp("workbench")
    shutil.copytree(load_config().rules_dir, tmp / "rules")
    (tmp / "rules" / "trial.yaml").write_text(SHADOW, encoding="utf-8")
    cfg = load_config(overrides={"instance_dir": str(tmp / "instance"), "rules_dir": str(tmp / "rules"),
                                 "jobs": {"in_serve": False}})
    demo = generate(tmp / "data", stores=20, days=15, seed=3)
    run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of)
    app = create_app(cfg, {"TESTING": True})
    engine = app.extensions["orderwatch.store"].engine
    known = list(cfg.departments)
    add_user(engine, "author", PASSWORD, "rule_author", known_departments=known)
    add_user(engine, "admin", PASSWORD, "admin", known_departments=known)
    add_user(engine, "rev", PASSWORD, "reviewer", departments=["customer_service"], known_departments=known)
    add_user(engine, "mgr", PASSWORD, "store_manager", stores=["MD0001"], known_departments=known)
    yield app
    app.extensions["orderwatch.store"].close()


@pytest.fixture
def client(app):
    def make(name: str):  # type: ignore[no-untyped-def]
        c = app.test_client()
        assert login(c, name).status_code == 302
        return c
    yield make
    cfg = app.extensions["orderwatch.config"]
    for name in list(working.drafts(cfg)):
        working.discard(cfg, name)


def _cells(html: str, level: str) -> dict[str, int]:
    row = re.search(rf'<tr data-level="{level}">(.*?)</tr>', html.split('id="dry-run-levels"')[1], re.S).group(1)
    return {k: int(re.search(rf'class="num {k}">([\d,]+)<', row).group(1).replace(",", ""))
            for k in ("now", "new", "added", "removed")}


def test_only_rule_authors_and_admins(app, client):
    for name in ("rev", "mgr"):
        c = client(name)
        assert c.get("/rules/rule/line_qty_outlier").status_code == 403
        token = csrf_of(c.get("/dashboard").get_data(as_text=True))
        for action in ("dry-run", "save", "discard"):
            assert c.post(f"/rules/rule/line_qty_outlier/{action}", data={"_csrf": token, **LOOSE}).status_code == 403
    assert not working.drafts(app.extensions["orderwatch.config"])
    for name in ("author", "admin"):
        assert client(name).get("/rules/rule/line_qty_outlier").status_code == 200
    assert client("author").get("/rules/rule/no_such_rule").status_code == 404


def test_dry_run_then_discard(app, client):
    cfg = app.extensions["orderwatch.config"]
    live = (cfg.rules_dir / "volume.yaml").read_text(encoding="utf-8")
    c = client("author")
    page = c.get("/rules/rule/line_qty_outlier").get_data(as_text=True)
    shipped = next(r for r in yaml.safe_load(live)["rules"] if r["id"] == "line_qty_outlier")["levels"]["warn"]
    assert f'value="{markupsafe.escape(shipped)}"' in page                 # the form holds the live threshold
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": csrf_of(page), **LOOSE})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="dry-run-chart"' in html and "<svg" in html
    cells = _cells(html, "all")
    assert cells["new"] > cells["now"] and cells["added"] == cells["new"] - cells["now"] and cells["removed"] == 0
    assert 'id="dry-run-added"' in html and 'id="save"' in html
    assert "volume.yaml" in working.drafts(cfg)
    assert (cfg.rules_dir / "volume.yaml").read_text(encoding="utf-8") == live          # not in force
    again = c.get("/rules/rule/line_qty_outlier").get_data(as_text=True)
    assert 'id="draft-note"' in again and 'value="qty_ratio &gt;= 3 and quantity &gt;= 10"' in again
    r = c.post("/rules/rule/line_qty_outlier/discard", data={"_csrf": csrf_of(again)})
    assert r.status_code == 302 and "discarded=1" in r.headers["Location"]
    assert not working.drafts(cfg)
    assert f'value="{markupsafe.escape(shipped)}"' in c.get(r.headers["Location"]).get_data(as_text=True)


def test_a_mistake_is_named_and_nothing_is_drafted(app, client):
    c = client("author")
    token = csrf_of(c.get("/rules/rule/line_qty_outlier").get_data(as_text=True))
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, "level_warn": "qty_ratoi >= 3"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "volume.yaml: rule &#39;line_qty_outlier&#39;: levels.warn: unknown feature(s) qty_ratoi" in html
    assert not working.drafts(app.extensions["orderwatch.config"])
    r = c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, **LOOSE, "since": "someday"})
    assert r.status_code == 400


def test_save_and_reload(app, client):
    cfg = app.extensions["orderwatch.config"]
    path = cfg.rules_dir / "volume.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        c = client("admin")
        token = csrf_of(c.get("/rules/rule/line_qty_outlier").get_data(as_text=True))
        c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, **LOOSE})
        r = c.post("/rules/rule/line_qty_outlier/save", data={"_csrf": token})
        assert r.status_code == 302 and "saved=1" in r.headers["Location"]
        saved = path.read_text(encoding="utf-8")
        assert 'warn: "qty_ratio >= 3 and quantity >= 10"' in saved and "# Volume surges" in saved
        page = c.get(r.headers["Location"]).get_data(as_text=True)
        assert 'id="saved"' in page and 'value="qty_ratio &gt;= 3 and quantity &gt;= 10"' in page
        assert "qty_ratio &gt;= 3 and quantity &gt;= 10" in c.get("/rules/").get_data(as_text=True)  # reloaded
        # a draft whose live file changed meanwhile is refused
        c.post("/rules/rule/line_qty_outlier/dry-run", data={"_csrf": token, **LOOSE,
                                                             "level_warn": "qty_ratio >= 4 and quantity >= 10"})
        path.write_text(saved + "# edited by hand\n", encoding="utf-8")
        r = c.post("/rules/rule/line_qty_outlier/save", data={"_csrf": token})
        assert r.status_code == 409 and path.read_text(encoding="utf-8").endswith("# edited by hand\n")
    finally:
        path.write_text(original, encoding="utf-8")


def test_shadow_rule_page_shows_it_beside_the_live_rule(app, client):
    c = client("author")
    html = c.get("/rules/rule/line_qty_outlier_v2").get_data(as_text=True)
    assert 'id="rule-mode"' in html and 'id="shadow-line_qty_outlier_v2"' in html
    shadow, live = (int(x) for x in re.search(
        r'<tr><td>[^<]+</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>\s*</tbody>',
        html.split('class="shadow-levels"')[1]).groups())
    assert shadow > live > 0
    page = c.get("/rules/rule/line_qty_outlier").get_data(as_text=True)
    assert 'id="shadow-line_qty_outlier_v2"' in page                    # beside the live rule too
    assert 'id="suggestion"' in page and 'id="suggestion-status"' in page  # too few verdicts so far
