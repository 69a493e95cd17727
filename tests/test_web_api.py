"""The JSON API: token auth, filters, transitions with conflicts, pushed orders with the same
validation and quarantine as files, and an OpenAPI document that matches the routes."""

import json
import re

import pytest


def api(world, user=None, token=None):
    c = world.app.test_client()
    tok = token if token is not None else (world.tokens[user] if user else None)
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    return c, headers


def test_token_required(world):
    c, _ = api(world)
    for method, path in (("get", "/api/v1/flags"), ("post", "/api/v1/orders"), ("get", "/api/v1/flags/1")):
        resp = getattr(c, method)(path)
        assert resp.status_code == 401 and resp.json["error"] == "unauthorized"
    c, h = api(world, token="ow_not-a-real-token")
    assert c.get("/api/v1/flags", headers=h).status_code == 401


def test_flags_are_scoped_and_filtered(world):
    c, h = api(world, "fin")
    got = c.get("/api/v1/flags?status=all", headers=h).json
    assert {f["department"] for f in got["flags"]} == {"finance"} and len(got["flags"]) == 2
    crit = c.get("/api/v1/flags?status=all&level=critical", headers=h).json["flags"]
    assert [f["id"] for f in crit] == [world.ids["fin_a"]]
    page1 = c.get("/api/v1/flags?status=all&limit=1", headers=h).json
    page2 = c.get(f"/api/v1/flags?status=all&limit=1&after={page1['next']}", headers=h).json
    assert page1["next"] and page2["next"] is None
    assert {page1["flags"][0]["id"], page2["flags"][0]["id"]} == {world.ids["fin_a"], world.ids["fin_b"]}
    assert c.get(f"/api/v1/flags/{world.ids['cs_a']}", headers=h).status_code == 404
    one = c.get(f"/api/v1/flags/{world.ids['fin_a']}", headers=h).json
    assert one["evidence"]["amount_ratio"] == 30.5 and one["events"][0]["action"] == "created"


@pytest.mark.parametrize("query, fragment", [
    ("date_from=yesterday", "date_from: expected YYYY-MM-DD"),
    ("sort=random", "sort: use one of"),
    ("limit=0", "limit: between 1 and 500"),
    ("limit=ten", "limit: expected a whole number"),
    ("after=xyz", "after: not a cursor"),
])
def test_filter_errors_are_clear(world, query, fragment):
    c, h = api(world, "admin")
    resp = c.get(f"/api/v1/flags?{query}", headers=h)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_filter" and fragment in resp.json["message"]


def test_transition_validation_and_conflict(world):
    c, h = api(world, "fin")
    fid = world.ids["fin_a"]
    url = f"/api/v1/flags/{fid}/transition"
    assert c.post(url, headers=h, data="nope").status_code == 400
    r = c.post(url, headers=h, json={"to_status": "resolved", "version": 1})
    assert r.status_code == 400 and "resolution" in r.json["message"]
    r = c.post(url, headers=h, json={"to_status": "acknowledged"})
    assert r.status_code == 400 and r.json["message"].startswith("version")
    r = c.post(url, headers=h, json={"to_status": "closed", "version": 1})
    assert r.status_code == 400 and r.json["error"] == "invalid_transition"
    ok = c.post(url, headers=h, json={"to_status": "acknowledged", "version": 1, "note": "在查"})
    assert ok.status_code == 200 and ok.json == {"id": fid, "status": "acknowledged", "version": 2}
    stale = c.post(url, headers=h, json={"to_status": "dismissed", "version": 1})
    assert stale.status_code == 409 and stale.json["error"] == "conflict"
    assert stale.json["current"] == {"version": 2, "status": "acknowledged"}
    other, h2 = api(world, "cs")
    assert other.post(url, headers=h2, json={"to_status": "open", "version": 2}).status_code == 404
    mgr, h3 = api(world, "mgr1")
    assert mgr.post(url, headers=h3, json={"to_status": "dismissed", "version": 2}).status_code == 403


LINES = [
    {"order_id": "P1", "store_id": "S9", "created_at": "2026-09-01T13:05:00+08:00", "sku": "SP1", "quantity": 6,
     "unit_price": 10},
    {"order_id": "P1", "store_id": "S9", "created_at": "2026-09-01T13:05:00+08:00", "sku": "SP2", "quantity": "abc"},
    {"order_id": "P2", "created_at": "2026-09-01 13:07", "sku": "SP1", "quantity": 6},
]


def test_push_orders_array_with_quarantine(world):
    c, h = api(world, "fin")
    r = c.post("/api/v1/orders", headers=h, json=LINES)
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["read"], body["accepted"], body["quarantined"]) == (3, 1, 2)
    reasons = {q["line"]: q["reason"] for q in body["quarantine"]}
    assert "quantity" in reasons[3] and "store_id" in reasons[4]   # element index + 2, like a header line
    (understood,) = body["files"]                                  # what was understood, as data
    assert understood["path"] == "body" and understood["format"] == "json"
    assert {f["field"]: f["how"] for f in understood["fields"]}["order_id"] == "alias"
    assert "volume_surge (line)" not in understood["skipped_detectors"]
    again = c.post("/api/v1/orders", headers=h, json=LINES).json
    assert again["new_lines"] == 0 and again["flags_created"] == 0


def test_push_orders_json_lines(world):
    c, h = api(world, "admin")
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in LINES[:1]) + "\n"
    r = c.post("/api/v1/orders", headers={**h, "Content-Type": "application/x-ndjson"}, data=body.encode())
    assert r.status_code == 200 and (r.json["read"], r.json["accepted"]) == (1, 1)


@pytest.mark.parametrize("data, fragment", [
    (b"", "the body is empty"),
    (b"[{\"order_id\": 1,]", "not valid JSON"),
    (b"[1, 2]", "element 0 of the array is not an object"),
    (b"hello", "line 1: expected a JSON object"),
    (b"\xff\xfe", "UTF-8"),
])
def test_push_orders_rejects_bad_bodies(world, data, fragment):
    c, h = api(world, "admin")
    r = c.post("/api/v1/orders", headers={**h, "Content-Type": "application/json"}, data=data)
    assert r.status_code == 400 and r.json["error"] == "invalid_body" and fragment in r.json["message"]


def test_store_manager_cannot_push_orders(world):
    c, h = api(world, "mgr1")
    assert c.post("/api/v1/orders", headers=h, json=LINES).status_code == 403


def test_openapi_document_matches_the_routes(world):
    c, _ = api(world)
    doc = c.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in world.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    # every documented error status is one the code can return
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert "200" in op["responses"]
