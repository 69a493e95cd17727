"""CSRF, HTML in order fields, login rate limiting, concurrent transitions, language."""

from tests.web_fixtures import PASSWORD, XSS, csrf_of, login


def test_forms_without_or_with_a_wrong_csrf_token_are_rejected(world, client_for):
    c = client_for("fin")
    fid = world.ids["fin_a"]
    assert c.post(f"/flags/{fid}/transition", data={"to_status": "acknowledged", "version": "1"}).status_code == 400
    assert c.post(f"/flags/{fid}/transition",
                  data={"_csrf": "forged", "to_status": "acknowledged", "version": "1"}).status_code == 400
    assert c.post("/logout").status_code == 400
    page = c.get(f"/flags/{fid}").get_data(as_text=True)
    assert 'data-status="open"' in page  # nothing changed


def test_login_form_needs_csrf_too(world):
    c = world.app.test_client()
    c.get("/login")
    assert c.post("/login", data={"username": "fin", "password": PASSWORD}).status_code == 400


def test_html_in_order_fields_is_inert(world, client_for):
    c = client_for("admin")
    for path in (f"/flags/{world.ids['fin_a']}", "/queue/finance", f"/flags/{world.ids['cs_a']}"):
        page = c.get(path).get_data(as_text=True)
        assert XSS not in page, path
        assert "&lt;script&gt;" in page, path
    resp = c.get("/queue/finance")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def _client_from(world, address: str):
    c = world.app.test_client()
    c.environ_base["REMOTE_ADDR"] = address  # the WSGI environ's client address, nothing on the network
    return c


def test_login_limits_are_per_name_and_address(world):
    """Guesses slow down the (name, address) pair only: no NAT-wide or admin lockout."""
    c = world.app.test_client()
    for _ in range(5):
        assert login(c, "fin", "wrong password").status_code == 401
    refused = login(c, "fin", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    same_address = world.app.test_client()
    assert login(same_address, "cs").status_code == 302        # others behind the same address
    assert login(_client_from(world, "10.9.9.8"), "fin").status_code == 302  # the name from elsewhere


def test_second_reviewer_gets_a_conflict_and_nothing_is_lost(world, client_for):
    a, b = client_for("fin"), client_for("admin")
    fid = world.ids["fin_b"]
    page_a = a.get(f"/flags/{fid}").get_data(as_text=True)
    page_b = b.get(f"/flags/{fid}").get_data(as_text=True)
    assert 'name="version" value="1"' in page_a and 'name="version" value="1"' in page_b
    first = a.post(f"/flags/{fid}/transition", data={"_csrf": csrf_of(page_a), "to_status": "resolved",
                                                     "resolution": "confirmed", "version": "1", "note": "A"})
    second = b.post(f"/flags/{fid}/transition", data={"_csrf": csrf_of(page_b), "to_status": "dismissed",
                                                      "version": "1", "note": "B"})
    assert first.status_code == 302 and second.status_code == 409
    shown = second.get_data(as_text=True)
    error = shown.split('id="form-error">', 1)[1].split("</p>", 1)[0]
    assert "fin 刚刚修改了这条异常" in error and "已解决" in error     # who changed it, and to what
    assert 'data-status="resolved"' in shown                           # the first decision stands
    assert '<textarea name="note" rows="2" cols="36">B</textarea>' in shown  # the second's note is kept
    events = world.store.flag_events(fid)
    assert [e["to_status"] for e in events if e["action"] == "transition"] == ["resolved"]


def test_language_per_user(world, client_for):
    c = client_for("fin")
    page = c.get("/queue/finance").get_data(as_text=True)
    assert "财务部" in page
    c.post("/language", data={"_csrf": csrf_of(page), "language": "en", "next": "/queue/finance"})
    page = c.get("/queue/finance").get_data(as_text=True)
    assert "Finance" in page and "Log out" in page and "财务部" not in page
    other = client_for("cs")  # another user keeps Chinese
    assert "退出" in other.get("/queue/customer_service").get_data(as_text=True)


def test_flag_detail_explains_each_threshold(world, client_for):
    page = client_for("fin").get(f"/flags/{world.ids['fin_a']}").get_data(as_text=True)
    section = page.split('id="reasoning"', 1)[1].split("</ul>", 1)[0]
    # the shipped thresholds (issue 8: 6 times the store's median for warn, 20 for critical)
    assert "金额 / 门店中位数 30.5 ≥ 20 ✓" in section and "金额 / 门店中位数 30.5 ≥ 6 ✓" in section
