"""A small review workspace for the web tests: flags in two departments and two stores,
one user per role, and order lines with HTML in them."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from contracts.schema import conform
from store.users import add_user, create_token
from web import create_app

PASSWORD = "correct horse 1"
XSS = '<script>alert("x")</script>'


@dataclass
class World:
    app: object
    store: object
    ids: dict[str, int]       # name -> flag id
    tokens: dict[str, str]    # user -> API token


def _flags() -> pl.DataFrame:
    rows = [
        ("fin_a", "order_amount_spike", "amount_spike", "critical", "finance", "S1", "A1"),
        ("fin_b", "order_amount_spike", "amount_spike", "warn", "finance", "S2", "B1"),
        ("cs_a", "address_incomplete", "missing_address", "warn", "customer_service", "S1", "A2"),
        ("cs_b", "line_qty_outlier", "volume_surge", "critical", "customer_service", "S2", "B2"),
        ("log_a", "picking_overdue", "stage_overdue", "warn", "logistics", "S1", "A3"),
    ]
    return pl.DataFrame({
        "rule_id": [r[1] for r in rows], "kind": [r[2] for r in rows], "level": [r[3] for r in rows],
        "department": [r[4] for r in rows], "subject": [f"order:t:{r[5]}:{r[6]}" for r in rows],
        "order_id": [r[6] for r in rows], "store_id": [r[5] for r in rows],
        "store_name": [f"门店{r[5]} {XSS}" for r in rows], "occurred_at": [datetime(2026, 9, 1, 13)] * len(rows),
        "title": [r[1] for r in rows], "reason": [f"原因 {r[0]} {XSS}" for r in rows],
        "evidence": ['{"amount_ratio": 30.5, "level_condition": "amount_ratio >= 20", "conditions": {}}'] * len(rows),
    }), [r[0] for r in rows]


def build(tmp_path) -> World:
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"),
                                 "database": {"url": f"sqlite:///{tmp_path / 'web.db'}"}})
    app = create_app(cfg, {"TESTING": True})
    store = app.extensions["orderwatch.store"]
    frame, names = _flags()
    scan = store.begin_scan(["t.csv"], datetime(2026, 9, 2))
    store.upsert_flags(scan, frame)
    lines = conform(pl.DataFrame({
        "order_id": ["A1", "A2"], "line_no": [1, 1], "source": ["t", "t"], "store_id": ["S1", "S1"],
        "created_at": [datetime(2026, 9, 1, 13)] * 2, "sku": ["SP1", "SP2"], "quantity": [12.0, 6.0],
        "address": [XSS, "文三路"], "consignee": ["张三", XSS],
    }))
    store.add_order_lines(scan, lines)
    ids = dict(zip(names, store.flags_frame()["id"].to_list()))
    depts = list(cfg.departments)
    users = {
        "admin": dict(role="admin"),
        "fin": dict(role="reviewer", departments=["finance"]),
        "cs": dict(role="reviewer", departments=["customer_service"]),
        "mgr1": dict(role="store_manager", stores=["S1"]),
        "author": dict(role="rule_author"),
    }
    tokens = {}
    for name, kw in users.items():
        u = add_user(store.engine, name, PASSWORD, known_departments=depts, **kw)
        tokens[name] = create_token(store.engine, u.id)
    return World(app=app, store=store, ids=ids, tokens=tokens)


def csrf_of(html: str) -> str:
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"_csrf": csrf_of(page), "username": name, "password": password})


@pytest.fixture(scope="session")
def _world_template(tmp_path_factory):
    """Build the database once (migrations, password hashing); each test gets a copy."""
    path = tmp_path_factory.mktemp("web_template")
    w = build(path)
    w.store.close()
    return path, w.ids, w.tokens


@pytest.fixture
def world(tmp_path, _world_template):
    src, ids, tokens = _world_template
    shutil.copy(src / "web.db", tmp_path / "web.db")
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"),
                                 "database": {"url": f"sqlite:///{tmp_path / 'web.db'}"}})
    app = create_app(cfg, {"TESTING": True})
    w = World(app=app, store=app.extensions["orderwatch.store"], ids=ids, tokens=tokens)
    yield w
    w.store.close()


@pytest.fixture
def client_for(world):
    def make(name: str):
        c = world.app.test_client()
        resp = login(c, name)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return c
    return make
