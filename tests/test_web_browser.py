"""The review UI in a real browser (tests/browser_support.py: Debian's Chromium, Playwright, the
real app served by waitress over a scanned demo set): queues, filters, resolving, the store
manager's remit, conflicts.  Writes the README's screenshots only with ORDERWATCH_SCREENSHOTS=1.
"""

from __future__ import annotations

import re

from tests.browser_support import expect  # None without Playwright: the fixtures skip first
from tests.browser_support import flag_rows, login, row_ids, screenshot

STORE_TEXT = "门店"  # the store column's header (users log in with the default language, zh)


def column_texts(page, header: str) -> list[str]:
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
    screenshot(page, "queue")

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
        expect(row.locator("td .muted[data-kind]")).to_have_text("订单金额异常")
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
    expect(fp_rate).to_have_text("尚无处理结果")

    # resolve it as a false positive
    form = page.locator("#transition-form")
    form.locator("select[name=to_status]").select_option("resolved")
    form.locator("select[name=resolution]").select_option("false_positive")
    form.locator("textarea[name=note]").fill("促销价，非异常")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/flags/{flag_id}$"))
    status = page.locator("dd[data-status]")
    expect(status).to_have_attribute("data-status", "resolved")
    expect(status).to_have_text("已解决 · 误报")
    expect(page.locator(".conflict")).to_have_count(0)
    last = page.locator("#audit li").last
    expect(last.locator("b")).to_have_text("fin_li")
    expect(last).to_contain_text("变更了状态")
    expect(last).to_contain_text("未处理 → 已解决")
    expect(last.locator(".badge")).to_have_text("误报")
    expect(last.locator(".note")).to_have_text("促销价，非异常")
    (db_status, db_resolution), = site.query("SELECT status, resolution FROM flags WHERE id = ?", flag_id)
    assert (db_status, db_resolution) == ("resolved", "false_positive")
    screenshot(page, "flag")

    # the dashboard now counts the resolution: one is too few to state a rate, and it says so
    (resolved,), = site.query(
        "SELECT count(*) FROM flags WHERE rule_id = ? AND status IN ('resolved', 'dismissed') "
        "AND resolution IS NOT NULL", rule_id)
    dash.reload()
    expect(fp_rate).to_have_text(f"样本太少（n = {resolved}）")


def test_store_manager_sees_only_their_store(site, new_page):
    page = new_page()
    login(page, site, "mgr_zhao")
    expect(page).to_have_url(re.compile(r"/stores$"))
    expect(page.locator("h1")).to_have_text(f"我的门店：{site.manager_store}")

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
    alert = second.locator("#form-error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("fin_li 刚刚修改了这条异常")
    # the page shows the state now, and nothing was overwritten
    expect(second.locator("dd[data-status]")).to_have_attribute("data-status", "resolved")
    expect(second.locator("#transition-form input[name=version]")).to_have_value(str(version + 1))
    (status, resolution, new_version), = site.query(
        "SELECT status, resolution, version FROM flags WHERE id = ?", flag_id)
    assert (status, resolution, new_version) == ("resolved", "confirmed", version + 1)
    actors = [r[0] for r in site.query(
        "SELECT actor FROM flag_events WHERE flag_id = ? AND action = 'transition'", flag_id)]
    assert actors == ["fin_li"]
