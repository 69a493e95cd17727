"""A rule author in a real browser (Chromium, Playwright): changes a threshold on a rule's page,
runs the dry run, sees the difference (table and chart), saves — and the rule is in force."""

from __future__ import annotations

import re
import shutil

import pytest

from contracts.config import load_config
from tests.browser_support import PASSWORD, expect, login, screenshot, serve_site
from tests.factories import SHIPPED_LINE_WARN


@pytest.fixture(scope="module")
def author_site(chromium_browser, tmp_path_factory):
    """The demo site with a rules directory of its own (the test saves into it) and a rule author."""
    tmp = tmp_path_factory.mktemp("browser_workbench")
    shutil.copytree(load_config().rules_dir, tmp / "rules")
    for site in serve_site(tmp, {"rules_dir": str(tmp / "rules")}):
        from store import Store
        from store.users import add_user

        with Store.open(f"sqlite:///{site.db_path}") as store:
            add_user(store.engine, "author_wu", PASSWORD, "rule_author",
                     known_departments=list(load_config().departments))
        yield site, tmp / "rules"


def _number(page, level: str, cls: str) -> int:  # type: ignore[no-untyped-def]
    text = page.locator(f"#dry-run-levels tr[data-level='{level}'] td.{cls}").inner_text()
    return int(text.replace(",", ""))


def test_rule_author_changes_a_threshold_dry_runs_and_saves(author_site, new_page):
    site, rules_dir = author_site
    page = new_page()
    login(page, site, "author_wu")
    expect(page).to_have_url(re.compile(r"/rules/$"))
    page.click("tr[data-rule='line_qty_outlier'] a")
    expect(page).to_have_url(re.compile(r"/rules/rule/line_qty_outlier$"))
    warn = page.locator("input[name=level_warn]")
    expect(warn).to_have_value(SHIPPED_LINE_WARN)

    warn.fill("qty_ratio >= 3 and quantity >= 10")
    page.click("#dry-run")
    expect(page.locator("#dry-run-result")).to_be_visible()
    expect(page.locator("#dry-run-result h2")).to_contain_text("试运行")
    expect(page.locator("#dry-run-changes")).to_contain_text("qty_ratio >= 3 and quantity >= 10")
    now, new, added = (_number(page, "all", c) for c in ("now", "new", "added"))
    assert new > now and added == new - now
    assert page.locator("#dry-run-chart svg").count() == 1
    assert page.locator("#dry-run-added tbody tr").count() == min(added, 20)
    stored = site.query("SELECT COUNT(*) FROM flags WHERE rule_id = 'line_qty_outlier'")[0][0]
    assert now == stored                       # "now" is what the scan stored; nothing was written
    assert "qty_ratio >= 3 and" not in (rules_dir / "volume.yaml").read_text(encoding="utf-8")
    screenshot(page, "rule-dry-run")

    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("input[name=level_warn]")).to_have_value("qty_ratio >= 3 and quantity >= 10")
    saved = (rules_dir / "volume.yaml").read_text(encoding="utf-8")
    assert 'warn: "qty_ratio >= 3 and quantity >= 10"' in saved and "# Volume surges" in saved
    page.click("text=全部规则")
    expect(page.locator("tr[data-rule='line_qty_outlier']")).to_contain_text("qty_ratio >= 3 and quantity >= 10")
    assert site.query("SELECT COUNT(*) FROM flags WHERE rule_id = 'line_qty_outlier'")[0][0] == stored
