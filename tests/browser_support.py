"""Browser-test plumbing: Debian's Chromium driven by Playwright (sync API) against the real app
served by waitress on a free local port, over a scanned demo data set.

Where /usr/bin/chromium (or Playwright) is missing the browser tests skip with the reason; with
``ORDERWATCH_BROWSER_TESTS=required`` (set by .ci/run, which installs Chromium) they fail instead.
Screenshots are written only when asked: ``ORDERWATCH_SCREENSHOTS=1`` writes them into
docs/screenshots (the README's), so a normal run leaves the tree clean.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
PASSWORD = "correct-horse-9"
DEMO_END = datetime(2026, 11, 30, 16)   # the site's demo ends here, whatever day the tests run

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail, where required) before any test uses it
    expect = None  # type: ignore[assignment]


def browser_missing() -> str | None:
    """Why the browser tests can't run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)"
    return None


def require_browser() -> None:
    """Skip (or, where required, fail) when the browser tests can't run."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("ORDERWATCH_BROWSER_TESTS") == "required":
        pytest.fail(f"browser tests are required here (ORDERWATCH_BROWSER_TESTS=required) but {reason}",
                    pytrace=False)
    pytest.skip(f"browser test skipped: {reason}")


def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png, only with ORDERWATCH_SCREENSHOTS=1."""
    if os.environ.get("ORDERWATCH_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@dataclass
class Site:
    base_url: str
    db_path: Path
    manager_store: str
    data_dir: Path

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()


def serve_site(tmp: Path, extra_config: dict | None = None):  # type: ignore[no-untyped-def]
    """Generator: a scanned demo set in ``tmp``, five users, the app served by waitress
    (``extra_config``: more site config keys, e.g. a ``rules_dir`` the test may write)."""
    from contracts.config import load_config
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan
    from store import Store
    from store.users import add_user

    cfg_path = tmp / "config.yaml"
    # no scheduler in the app under test: jobs would change the queues while the browser looks
    cfg_path.write_text(yaml.safe_dump({"instance_dir": str(tmp / "instance"), "jobs": {"in_serve": False},
                                        **(extra_config or {})}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ORDERWATCH_CONFIG", str(cfg_path))
        config = load_config()
        db_url = config.database_url
        assert db_url.startswith("sqlite:///") and str(tmp) in db_url

        # a fixed calendar: the demo ends at now() otherwise, and which seeded cases share a store
        # (the triage tests resolve similar flags of one rule and store) moved with the date
        demo = generate(tmp / "data", stores=40, days=21, seed=7, end=DEMO_END)
        result = run_scan(demo.order_files, config, catalog=demo.catalog, as_of=demo.as_of, db_url=db_url)
        assert result.flags.height > 0

        # a store manager of the store with the most flags
        counts = result.flags.drop_nulls("store_id").group_by("store_id").len().sort(["len", "store_id"],
                                                                                       descending=[True, False])
        manager_store = counts["store_id"][0]

        store = Store.open(db_url)
        _formula_flag(store, result)
        engine = store.engine
        known = list(config.departments)
        add_user(engine, "admin", PASSWORD, "admin", known_departments=known)
        add_user(engine, "admin_en", PASSWORD, "admin", known_departments=known, language="en")
        add_user(engine, "fin_li", PASSWORD, "reviewer", departments=["finance"], known_departments=known)
        add_user(engine, "fin_wang", PASSWORD, "reviewer", departments=["finance"], known_departments=known)
        add_user(engine, "cs_chen", PASSWORD, "reviewer", departments=["customer_service"], known_departments=known)
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
                       manager_store=manager_store, data_dir=tmp / "data")
        finally:
            # stop the asyncore loop: close the listener and every channel, then the workers
            server.close()
            while server._map:
                for channel in list(server._map.values()):
                    channel.handle_close()
            server.task_dispatcher.shutdown()
            thread.join(timeout=10)
            app.extensions["orderwatch.store"].engine.dispose()


FORMULA_ORDER = "=1+2"
FORMULA_STORE_NAME = '=HYPERLINK("http://evil.example","x")'


def _formula_flag(store, result) -> None:  # type: ignore[no-untyped-def]
    """A finance flag whose order id and store name look like spreadsheet formulas (the export
    must keep them as text)."""
    from datetime import timedelta

    import polars as pl

    from contracts.schema import conform

    at = result.as_of - timedelta(hours=3)
    flag = pl.DataFrame({
        "rule_id": ["order_amount_spike"], "kind": ["amount_spike"], "level": ["warn"], "department": ["finance"],
        "subject": [f"order:x:MDX:{FORMULA_ORDER}"], "order_id": [FORMULA_ORDER], "store_id": ["MDX"],
        "store_name": [FORMULA_STORE_NAME], "occurred_at": [at], "title": ["t"], "reason": ["原因"],
        "evidence": ['{"order_amount": 9000.0, "amount_ratio": 6.0}'],
    })
    scan = store.begin_scan(["formula.csv"], result.as_of)
    store.upsert_flags(scan, flag)
    store.add_order_lines(scan, conform(pl.DataFrame({
        "order_id": [FORMULA_ORDER], "line_no": [1], "source": ["x"], "store_id": ["MDX"], "created_at": [at],
        "sku": ["=SUM(A1:A9)"], "quantity": [3.0], "product_name": ["@cmd"]})))


@pytest.fixture(scope="module")
def chromium_browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(chromium_browser, tmp_path_factory):
    yield from serve_site(tmp_path_factory.mktemp("web_browser"))


@pytest.fixture
def new_page(chromium_browser):
    """Pages in fresh browser contexts (separate cookie jars = separate sessions)."""
    contexts = []

    def make(locale: str = "zh-CN"):  # type: ignore[no-untyped-def]
        ctx = chromium_browser.new_context(viewport=VIEWPORT, locale=locale, accept_downloads=True)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def login(page, site: Site, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.base_url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(name)


def flag_rows(page):  # type: ignore[no-untyped-def]
    return page.locator("table.flags tbody tr[data-flag-id]")


def row_ids(page) -> set[int]:  # type: ignore[no-untyped-def]
    return {int(x) for x in flag_rows(page).evaluate_all("rows => rows.map(r => r.dataset.flagId)")}
