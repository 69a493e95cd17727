"""The review UI in a real browser: Debian's Chromium driven by Playwright (sync API) against the
real app served by waitress on a free local port, over a scanned demo data set.

Also writes the README's screenshots (docs/screenshots/queue.png and flag.png).
Needs /usr/bin/chromium (and fonts-noto-cjk for the Chinese text); .ci/run installs both.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
PASSWORD = "correct-horse-9"

STORE_TEXT = "门店"  # the store column's header (users log in with the default language, zh)


@dataclass
class Site:
    base_url: str
    db_path: Path
    manager_store: str

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A scanned demo set in a temp instance, four users, and the app served by waitress."""
    from contracts.config import load_config
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan
    from store import Store
    from store.users import add_user

    tmp = tmp_path_factory.mktemp("web_browser")
    cfg_path = tmp / "config.yaml"
    # no scheduler in the app under test: jobs would change the queues while the browser looks
    cfg_path.write_text(yaml.safe_dump({"instance_dir": str(tmp / "instance"), "jobs": {"in_serve": False}}),
                        encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ORDERWATCH_CONFIG", str(cfg_path))
        config = load_config()
        db_url = config.database_url
        assert db_url.startswith("sqlite:///") and str(tmp) in db_url

        demo = generate(tmp / "data", stores=40, days=21, seed=7)
        result = run_scan(demo.order_files, config, catalog=demo.catalog, as_of=demo.as_of, db_url=db_url)
        assert result.flags.height > 0

        # a store manager of the store with the most flags
        counts = result.flags.drop_nulls("store_id").group_by("store_id").len().sort(["len", "store_id"],
                                                                                       descending=[True, False])
        manager_store = counts["store_id"][0]

        engine = Store.open(db_url).engine
        known = list(config.departments)
        add_user(engine, "admin", PASSWORD, "admin", known_departments=known)
        add_user(engine, "fin_li", PASSWORD, "reviewer", departments=["finance"], known_departments=known)
        add_user(engine, "fin_wang", PASSWORD, "reviewer", departments=["finance"], known_departments=known)
        add_user(engine, "mgr_zhao", PASSWORD, "store_manager", stores=[manager_store], known_departments=known)
        engine.dispose()

        import waitress

        from web import create_app

        app = create_app()
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, name="waitress", daemon=True)
        thread.start()
        try:
            yield Site(base_url=f"http://127.0.0.1:{server.effective_port}", db_path=Path(db_url[len("sqlite:///"):]),
                       manager_store=manager_store)
        finally:
            # stop the asyncore loop: close the listener and every channel, then the workers
            server.close()
            while server._map:
                for channel in list(server._map.values()):
                    channel.handle_close()
            server.task_dispatcher.shutdown()
            thread.join(timeout=10)
            app.extensions["orderwatch.store"].engine.dispose()


@pytest.fixture(scope="module")
def chromium_browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(chromium_browser: Browser):
    """Pages in fresh browser contexts (separate cookie jars = separate sessions)."""
    contexts = []

    def make() -> Page:
        ctx = chromium_browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def login(page: Page, site: Site, name: str) -> None:
    page.goto(f"{site.base_url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(name)


def flag_rows(page: Page):
    return page.locator("table.flags tbody tr[data-flag-id]")


def row_ids(page: Page) -> set[int]:
    return {int(x) for x in flag_rows(page).evaluate_all("rows => rows.map(r => r.dataset.flagId)")}


def column_texts(page: Page, header: str) -> list[str]:
    """The text of one column of the queue table (by header), the cell's first line only."""
    return page.evaluate(
        """header => {
            const ths = Array.from(document.querySelectorAll('table.flags thead th'));
            const i = ths.findIndex(th => th.textContent.trim() === header);
            if (i < 0) throw new Error('no column ' + header);
            return Array.from(document.querySelectorAll('table.flags tbody tr[data-flag-id]'))
                .map(tr => tr.cells[i].childNodes[0].textContent.trim());
        }""", header)


def test_finance_reviewer_filters_resolves_false_positive_and_dashboard_rate(site, new_page):
    page = new_page()
    login(page, site, "fin_li")

    # lands on the finance queue, showing exactly the department's active flags
    expect(page).to_have_url(re.compile(r"/queue/finance(\?.*)?$"))
    expect(page.locator("h1")).to_have_text("财务部")
    expect(page.locator("header nav a[data-queue]")).to_have_count(1)
    active = {r[0] for r in site.query(
        "SELECT id FROM flags WHERE department = 'finance' AND status IN ('open', 'acknowledged')")}
    assert active
    expect(flag_rows(page)).to_have_count(len(active))
    assert row_ids(page) == active
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    # filter with the form: amount spikes at level critical
    page.select_option("#filters select[name=kind]", "amount_spike")
    page.select_option("#filters select[name=level]", "critical")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"kind=amount_spike"))
    expect(page).to_have_url(re.compile(r"level=critical"))
    wanted = {r[0] for r in site.query(
        "SELECT id FROM flags WHERE department = 'finance' AND status IN ('open', 'acknowledged') "
        "AND kind = 'amount_spike' AND level = 'critical'")}
    assert wanted and wanted < active
    expect(flag_rows(page)).to_have_count(len(wanted))
    assert row_ids(page) == wanted
    for row in flag_rows(page).all():
        expect(row).to_have_class("lvl-critical")
        expect(row.locator("td .muted").first).to_have_text("amount_spike")
    expect(page.locator("#filters select[name=kind]")).to_have_value("amount_spike")

    # open the first flag
    first = flag_rows(page).first
    flag_id = int(first.get_attribute("data-flag-id"))
    (rule_id,), = site.query("SELECT rule_id FROM flags WHERE id = ?", flag_id)
    first.locator("td a").first.click()
    expect(page).to_have_url(re.compile(rf"/flags/{flag_id}$"))
    expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "open")

    # the dashboard (another tab, same session) has no false-positive rate for the rule yet
    dash = page.context.new_page()
    dash.goto(f"{site.base_url}/dashboard")
    fp_rate = dash.locator(f'#rule-stats tr[data-rule="{rule_id}"] .fp-rate')
    expect(fp_rate).to_have_text("—")

    # resolve it as a false positive
    form = page.locator("#transition-form")
    form.locator("select[name=to_status]").select_option("resolved")
    form.locator("select[name=resolution]").select_option("false_positive")
    form.locator("input[name=note]").fill("促销价，非异常")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/flags/{flag_id}$"))
    status = page.locator("dd[data-status]")
    expect(status).to_have_attribute("data-status", "resolved")
    expect(status).to_have_text("已解决 · 误报")
    expect(page.locator(".conflict")).to_have_count(0)
    last = page.locator("#audit li").last
    expect(last.locator("b")).to_have_text("fin_li")
    expect(last).to_contain_text("transition")
    expect(last).to_contain_text("open → resolved")
    expect(last.locator(".note")).to_have_text("[false_positive] 促销价，非异常")
    (db_status, db_resolution), = site.query("SELECT status, resolution FROM flags WHERE id = ?", flag_id)
    assert (db_status, db_resolution) == ("resolved", "false_positive")
    page.screenshot(path=str(SCREENSHOTS / "flag.png"), full_page=True)

    # the dashboard now shows the rule's false-positive rate (false positives / resolutions)
    (resolved, fps), = site.query(
        "SELECT count(*) FILTER (WHERE status IN ('resolved', 'dismissed') AND resolution IS NOT NULL), "
        "count(*) FILTER (WHERE resolution = 'false_positive') FROM flags WHERE rule_id = ?", rule_id)
    dash.reload()
    expect(fp_rate).to_contain_text("%")
    expect(fp_rate).to_have_text(f"{fps / resolved * 100:.1f}%")


def test_store_manager_sees_only_their_store(site, new_page):
    page = new_page()
    login(page, site, "mgr_zhao")
    expect(page).to_have_url(re.compile(r"/stores$"))
    expect(page.locator("h1")).to_have_text(site.manager_store)

    # no department queues in the nav, no bulk actions
    expect(page.locator("header nav a[data-queue]")).to_have_count(0)
    expect(page.locator("#bulk fieldset.bulk")).to_have_count(0)

    # every flag of the store (any status), and only those
    page.goto(f"{site.base_url}/stores?status=all")
    mine = {r[0] for r in site.query("SELECT id FROM flags WHERE store_id = ?", site.manager_store)}
    assert mine
    expect(flag_rows(page)).to_have_count(len(mine))
    assert row_ids(page) == mine
    stores = column_texts(page, STORE_TEXT)
    assert stores and set(stores) == {site.manager_store}

    # their own flag opens; another store's flag is "not found"
    own = min(mine)
    resp = page.goto(f"{site.base_url}/flags/{own}")
    assert resp is not None and resp.status == 200
    (other,), = site.query("SELECT id FROM flags WHERE store_id IS NOT NULL AND store_id != ? ORDER BY id LIMIT 1",
                           site.manager_store)
    resp = page.goto(f"{site.base_url}/flags/{other}")
    assert resp is not None and resp.status == 404
    expect(page.locator("h1")).to_contain_text("404")
    # ...and asking the store view for another store is "not found" too
    (other_store,), = site.query("SELECT store_id FROM flags WHERE id = ?", other)
    resp = page.goto(f"{site.base_url}/stores?store_id={other_store}")
    assert resp is not None and resp.status == 404


def test_second_reviewer_on_the_same_version_gets_a_conflict(site, new_page):
    (flag_id, version), = site.query(
        "SELECT id, version FROM flags WHERE department = 'finance' AND status = 'open' "
        "AND kind = 'payment_mismatch' ORDER BY id LIMIT 1")
    first, second = new_page(), new_page()
    login(first, site, "fin_li")
    login(second, site, "fin_wang")
    for p in (first, second):
        p.goto(f"{site.base_url}/flags/{flag_id}")
        expect(p.locator("#transition-form input[name=version]")).to_have_value(str(version))

    # the first resolves it
    form = first.locator("#transition-form")
    form.locator("select[name=to_status]").select_option("resolved")
    form.locator("select[name=resolution]").select_option("confirmed")
    form.locator("button[type=submit]").click()
    expect(first.locator("dd[data-status]")).to_have_attribute("data-status", "resolved")

    # the second, still on the old version, tries to acknowledge it
    form = second.locator("#transition-form")
    form.locator("select[name=to_status]").select_option("acknowledged")
    form.locator("button[type=submit]").click()
    alert = second.locator(".conflict[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("冲突")
    expect(alert).to_contain_text(f"flag {flag_id} was changed by fin_li")
    # the page shows the state now, and nothing was overwritten
    expect(second.locator("dd[data-status]")).to_have_attribute("data-status", "resolved")
    expect(second.locator("#transition-form input[name=version]")).to_have_value(str(version + 1))
    (status, resolution, new_version), = site.query(
        "SELECT status, resolution, version FROM flags WHERE id = ?", flag_id)
    assert (status, resolution, new_version) == ("resolved", "confirmed", version + 1)
    actors = [r[0] for r in site.query(
        "SELECT actor FROM flag_events WHERE flag_id = ? AND action = 'transition'", flag_id)]
    assert actors == ["fin_li"]
