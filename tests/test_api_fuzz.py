"""The tester's schemathesis run, kept as a bounded property test: requests generated from the
OpenAPI document (every path, method and parameter, with hostile values) never get a 5xx —
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.openapi import document

HOSTILE = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from(list("0123456789:|-T.eE+ ")), max_size=40),
    st.integers(-(2**80), 2**80).map(str),
    st.sampled_from(["\x00", "a\x00b", "\r\n", "%00", "9999-12-31", "0001-01-01", "1e308", "NaN", "-1", "",
                     "2026-02-30", "999:999999999999999999999", "x" * 5000, "active", "all", "severity",
                     "occurred", "2026-09-01T13:00:00|1", "critical", "finance"]),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=12)
ORDER = st.fixed_dictionaries({"order_id": HOSTILE, "store_id": HOSTILE, "created_at": HOSTILE, "sku": HOSTILE,
                               "quantity": st.one_of(HOSTILE, st.floats(), st.integers(-(2**70), 2**70))})


def operations() -> list[tuple[str, str, dict]]:
    ops = []
    for path, methods in document()["paths"].items():
        for method, op in methods.items():
            ops.append((path, method, op))
    return ops


@st.composite
def request_for(draw, op: tuple[str, str, dict], flag_ids: list[int]):
    path, method, spec = op
    query = {}
    for p in spec.get("parameters", []):
        if p["in"] == "query" and draw(st.booleans()):
            query[p["name"]] = draw(HOSTILE)
    url = re.sub(r"\{flag_id\}", lambda _m: draw(st.one_of(st.sampled_from([str(i) for i in flag_ids]),
                                                           st.integers(-5, 2**80).map(str), HOSTILE.filter(
                                                               lambda s: "/" not in s and "?" not in s and "#" not in s
                                                               and s.strip() != "" and s not in (".", "..")))), path)
    body = None
    if method == "post":
        if "transition" in path:
            body = draw(st.one_of(JSON, st.fixed_dictionaries({
                "to_status": st.one_of(HOSTILE, st.sampled_from(["acknowledged", "resolved", "dismissed", "open"])),
                "version": st.one_of(st.integers(-(2**70), 2**70), JSON),
                "resolution": st.one_of(st.none(), HOSTILE), "note": st.one_of(st.none(), HOSTILE)})))
            body = json.dumps(body)
        else:
            body = draw(st.one_of(
                st.lists(ORDER, max_size=4).map(json.dumps),
                st.lists(ORDER, max_size=4).map(lambda xs: "\n".join(json.dumps(x) for x in xs)),
                JSON.map(json.dumps), st.text(max_size=50), st.just("[" * 3000)))
    return method, url, query, body


def _run(app, token: str, flag_ids: list[int], examples: int) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for op in operations():
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
        @given(req=request_for(op, flag_ids))
        def one(req):
            method, url, query, body = req
            kwargs = {"query_string": query, "headers": headers}
            if body is not None:
                kwargs["data"] = body.encode("utf-8", "surrogatepass")
            resp = getattr(client, method)(url, **kwargs)
            assert resp.status_code < 500, (method, url, query, (body or "")[:200], resp.get_data(as_text=True)[:500])
            if resp.status_code >= 400 and resp.is_json:
                assert {"error", "message"} <= set(resp.json)

        one()


def test_no_5xx_from_generated_requests_sqlite(world):
    _run(world.app, world.tokens["admin"], list(world.ids.values()), examples=60)
    _run(world.app, world.tokens["fin"], list(world.ids.values()), examples=20)


def test_no_5xx_from_generated_requests_postgresql(pg_database, tmp_path):
    from contracts.config import load_config
    from store.users import add_user, create_token
    from tests.web_fixtures import PASSWORD, _flags
    from web import create_app
    config = load_config(overrides={"instance_dir": str(tmp_path / "pg"), "database": {"url": pg_database()}})
    app = create_app(config, {"TESTING": True})
    try:
        store = app.extensions["orderwatch.store"]
        frame, _ = _flags()
        store.upsert_flags(store.begin_scan(["t.csv"], __import__("datetime").datetime(2026, 9, 2)), frame)
        add_user(store.engine, "admin", PASSWORD, "admin")
        _run(app, create_token(store.engine, 1), store.flags_frame()["id"].to_list(), examples=30)
    finally:
        app.extensions["orderwatch.store"].close()


@pytest.mark.parametrize("route", ["/queue/finance", "/stores", "/dashboard", "/upload", "/rules/"])
def test_ui_filters_never_5xx(world, client_for, route):
    c = client_for("admin")
    names = ["kind", "rule_id", "level", "store_id", "status", "assignee", "order_id", "date_from", "date_to",
             "sort", "after"]

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(query=st.dictionaries(st.sampled_from(names), HOSTILE, max_size=4))
    def one(query):
        assert c.get(route, query_string=query).status_code < 500

    one()
