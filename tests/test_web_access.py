"""The role × endpoint authorisation matrix, with the Flask test client.

A flag outside someone's remit answers 404 whatever they try (so ids can't be probed); a flag
they can see but not change answers 403.
"""

import pytest

from tests.web_fixtures import csrf_of

USERS = ("admin", "fin", "cs", "mgr1", "author")
FLAGS = ("fin_a", "fin_b", "cs_a", "cs_b", "log_a")
SEES = {
    "admin": set(FLAGS), "fin": {"fin_a", "fin_b"}, "cs": {"cs_a", "cs_b"},
    "mgr1": {"fin_a", "cs_a", "log_a"},  # store S1's flags
    "author": set(),
}
ACTS = {"admin": set(FLAGS), "fin": {"fin_a", "fin_b"}, "cs": {"cs_a", "cs_b"}, "mgr1": set(), "author": set()}


def _post(client, url, data):
    page = client.get("/dashboard").get_data(as_text=True)  # any page with the session's token
    return client.post(url, data={"_csrf": csrf_of(page), **data})


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("flag", FLAGS)
def test_view_flag(world, client_for, user, flag):
    c = client_for(user)
    status = c.get(f"/flags/{world.ids[flag]}").status_code
    assert status == (200 if flag in SEES[user] else 404)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("flag", FLAGS)
def test_acknowledge_flag(world, client_for, user, flag):
    c = client_for(user)
    resp = _post(c, f"/flags/{world.ids[flag]}/transition", {"to_status": "acknowledged", "version": "1"})
    expected = 302 if flag in ACTS[user] else (403 if flag in SEES[user] else 404)
    assert resp.status_code == expected
    # and the flag changed only when allowed
    admin = client_for("admin")
    page = admin.get(f"/flags/{world.ids[flag]}").get_data(as_text=True)
    assert ('data-status="acknowledged"' in page) == (expected == 302)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("flag", FLAGS)
def test_comment_and_assign(world, client_for, user, flag):
    c = client_for(user)
    fid = world.ids[flag]
    comment = _post(c, f"/flags/{fid}/comment", {"note": "看过了"}).status_code
    assign = _post(c, f"/flags/{fid}/assign", {"assignee": "小王", "version": "1"}).status_code
    if flag not in SEES[user]:
        assert (comment, assign) == (404, 404)
    elif flag in ACTS[user]:
        assert (comment, assign) == (302, 302)
    else:  # a store manager: may comment on own store's flags, not assign
        assert user == "mgr1" and (comment, assign) == (302, 403)


def test_store_manager_confirms_a_correction_only(world, client_for):
    c = client_for("mgr1")
    fid = world.ids["cs_a"]
    assert _post(c, f"/flags/{fid}/transition",
                 {"to_status": "resolved", "resolution": "false_positive", "version": "1"}).status_code == 403
    assert _post(c, f"/flags/{fid}/transition", {"to_status": "dismissed", "version": "1"}).status_code == 403
    assert _post(c, f"/flags/{fid}/transition",
                 {"to_status": "resolved", "resolution": "corrected", "version": "1"}).status_code == 302
    page = c.get(f"/flags/{fid}").get_data(as_text=True)
    assert 'data-status="resolved"' in page and "mgr1" in page


@pytest.mark.parametrize("user, path, expected", [
    ("admin", "/queue/finance", 200), ("fin", "/queue/finance", 200), ("cs", "/queue/finance", 404),
    ("mgr1", "/queue/finance", 404), ("author", "/queue/finance", 404), ("fin", "/queue/nope", 404),
    ("mgr1", "/stores", 200), ("admin", "/stores", 200), ("fin", "/stores", 404), ("author", "/stores", 404),
    ("mgr1", "/stores?store_id=S2", 404),
    ("author", "/rules/", 200), ("admin", "/rules/", 200), ("fin", "/rules/", 403), ("mgr1", "/rules/", 403),
    ("author", "/rules/file/volume.yaml", 200), ("fin", "/rules/file/volume.yaml", 403),
    ("admin", "/upload", 200), ("fin", "/upload", 200), ("mgr1", "/upload", 403), ("author", "/upload", 403),
    ("admin", "/admin/users", 200), ("fin", "/admin/users", 403), ("mgr1", "/admin/users", 403),
    ("author", "/admin/users", 403),
    ("fin", "/dashboard", 200), ("mgr1", "/dashboard", 200),
])
def test_pages(client_for, user, path, expected):
    assert client_for(user).get(path).status_code == expected


def test_anonymous_is_sent_to_login(world):
    c = world.app.test_client()
    for path in ("/", "/queue/finance", f"/flags/{world.ids['fin_a']}", "/dashboard", "/rules/", "/upload"):
        resp = c.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_store_manager_sees_only_own_store_everywhere(world, client_for):
    c = client_for("mgr1")
    page = c.get("/stores?status=all").get_data(as_text=True)
    assert all(f'data-flag-id="{world.ids[f]}"' in page for f in ("fin_a", "cs_a", "log_a"))
    assert not any(f'data-flag-id="{world.ids[f]}"' in page for f in ("fin_b", "cs_b"))
    # related flags and the dashboard never show store S2
    detail = c.get(f"/flags/{world.ids['fin_a']}").get_data(as_text=True)
    assert f"#{world.ids['fin_b']}" not in detail and "门店S2" not in detail
    assert "门店S2" not in c.get("/dashboard").get_data(as_text=True)
    # no department queues in the navigation
    assert 'data-queue=' not in page


def test_reviewer_queue_lists_only_their_department(world, client_for):
    page = client_for("fin").get("/queue/finance?status=all").get_data(as_text=True)
    assert f'data-flag-id="{world.ids["fin_a"]}"' in page and f'data-flag-id="{world.ids["fin_b"]}"' in page
    assert f'data-flag-id="{world.ids["cs_a"]}"' not in page
    assert 'data-queue="finance"' in page and 'data-queue="customer_service"' not in page


def test_bulk_acts_only_within_remit(world, client_for):
    c = client_for("fin")
    ids = [str(world.ids[f]) for f in ("fin_a", "fin_b", "cs_a")]
    page = c.get("/queue/finance").get_data(as_text=True)
    resp = c.post("/flags/bulk", data={"_csrf": csrf_of(page), "ids": ids, "to_status": "acknowledged",
                                       "scope": "selected"})
    assert resp.status_code == 200 and "2" in resp.get_data(as_text=True)
    admin = client_for("admin")
    assert 'data-status="acknowledged"' in admin.get(f"/flags/{world.ids['fin_b']}").get_data(as_text=True)
    assert 'data-status="open"' in admin.get(f"/flags/{world.ids['cs_a']}").get_data(as_text=True)


def test_bulk_on_the_filtered_selection(world, client_for):
    c = client_for("admin")
    page = c.get("/queue/customer_service").get_data(as_text=True)
    resp = c.post("/flags/bulk", data={"_csrf": csrf_of(page), "scope": "filtered", "department": "customer_service",
                                       "level": "critical", "to_status": "dismissed"})
    assert resp.status_code == 200
    assert 'data-status="dismissed"' in c.get(f"/flags/{world.ids['cs_b']}").get_data(as_text=True)
    assert 'data-status="open"' in c.get(f"/flags/{world.ids['cs_a']}").get_data(as_text=True)
