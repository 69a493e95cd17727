"""SLA escalation with a controlled clock: overdue open flags rise one level once; a flag
acknowledged or resolved before its deadline never escalates."""

from datetime import datetime, timedelta

import polars as pl

from store import Store, lifecycle
from store.escalation import escalate

T0 = datetime(2026, 9, 1, 5, 0)  # UTC
ACK = {"customer_service": 30, "finance": 240}


def _flags(store: Store) -> dict[str, int]:
    frame = pl.DataFrame({
        "rule_id": ["r1", "r2", "r3", "r4"], "kind": ["k"] * 4, "level": ["warn", "critical", "warn", "warn"],
        "department": ["customer_service", "customer_service", "finance", "customer_service"],
        "subject": ["s1", "s2", "s3", "s4"], "order_id": ["o1", "o2", "o3", "o4"], "store_id": ["S1"] * 4,
        "store_name": ["店"] * 4, "occurred_at": [T0] * 4, "title": ["t"] * 4, "reason": ["r"] * 4,
        "evidence": ["{}"] * 4,
    })
    store.upsert_flags(None, frame)
    ids = dict(zip(store.flags_frame()["subject"], store.flags_frame()["id"]))
    with store.engine.begin() as conn:  # created at T0 on the controlled clock
        conn.exec_driver_sql("UPDATE flags SET created_at = ?", (T0,))
    return ids


def test_escalation_on_a_controlled_clock(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'e.db'}")
    ids = _flags(store)
    # s4 is acknowledged in time; nothing is due before 30 minutes
    lifecycle.transition(store.engine, ids["s4"], actor="li", to_status="acknowledged", expected_version=1)
    assert escalate(store.engine, ACK, T0 + timedelta(minutes=29)) == []
    done = escalate(store.engine, ACK, T0 + timedelta(minutes=31))
    assert {(r["subject"], r["from_level"], r["level"]) for r in done} == {("s1", "warn", "critical"),
                                                                          ("s2", "critical", "critical")}
    assert escalate(store.engine, ACK, T0 + timedelta(minutes=45)) == []          # once only
    late = escalate(store.engine, ACK, T0 + timedelta(hours=5))                    # finance: 4 h SLA
    assert [r["subject"] for r in late] == ["s3"]
    events = store.flag_events(ids["s1"])
    assert events[-1]["action"] == "escalated" and events[-1]["to_level"] == "critical"
    assert store.flags_frame().filter(pl.col("subject") == "s4")["level"].to_list() == ["warn"]
    store.close()


def test_resolved_before_the_deadline_never_escalates(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'e.db'}")
    ids = _flags(store)
    lifecycle.transition(store.engine, ids["s1"], actor="li", to_status="resolved", resolution="corrected",
                         expected_version=1)
    done = escalate(store.engine, ACK, T0 + timedelta(days=2))
    assert "s1" not in {r["subject"] for r in done}
    store.close()
