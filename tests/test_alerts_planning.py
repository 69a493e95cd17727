"""The notification planner reads what changed and what is due, never every active flag
(rows fetched per table are counted, on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from alerts.notify import deliver, plan
from alerts.planning import key_labels
from store.lifecycle import transition
from tests.alerts_support import (  # noqa: F401,F811  (fixtures)
    NO_RULES,
    add_flags,
    flag_id,
    free_port,
    make_config,
    notes,
    pg_url,
    store,
    utcnow,
)
from tests.rows_read import rows_read


def _sent(receiver, row) -> None:  # noqa: ANN001 - a sender that always succeeds
    return None


def _stores(first: int, n: int, per: int) -> list[dict]:
    return [{"order_id": f"O{s}-{i}", "store_id": f"S{s:03d}"} for s in range(first, first + n) for i in range(per)]


def test_quiet_runs_read_nothing_and_news_reads_only_its_group(store):
    config = make_config(free_port())
    add_flags(store, _stores(0, 150, 8))                                   # 1,200 flags in 150 groups
    t0 = utcnow()
    assert plan(store.engine, config, t0, rules=NO_RULES) == 150
    assert deliver(store.engine, config, t0, sender=_sent)["sent"] == 150
    with rows_read() as n:
        assert plan(store.engine, config, t0 + timedelta(minutes=5), rules=NO_RULES) == 0
    assert n["flags"] == 0 and n["notifications"] == 0                   # nothing changed, nothing due

    add_flags(store, [{"order_id": "NEW1", "store_id": "S007"}, {"order_id": "NEW2", "store_id": "S007"}])
    with rows_read() as n:
        assert plan(store.engine, config, t0 + timedelta(minutes=6), rules=NO_RULES) == 1
    # the 2 unseen flags (and which carry news), then the 10 active flags of their store
    assert n["flags"] <= 2 + 2 + 10
    assert n["notifications"] <= 1                                        # that group's last message
    last = notes(store)[-1]
    assert len(last["flag_ids"]) == 10 and sorted(last["payload"]["new_flag_ids"]) == sorted(
        flag_id(store, o) for o in ("NEW1", "NEW2"))

    transition(store.engine, flag_id(store, "O3-0"), actor="li", to_status="acknowledged", expected_version=1)
    with rows_read() as n:
        assert plan(store.engine, config, t0 + timedelta(minutes=7), rules=NO_RULES) == 0
    assert n["flags"] == 1                                                # seen (no news), and stamped
    with rows_read() as n:
        plan(store.engine, config, t0 + timedelta(minutes=8), rules=NO_RULES)
    assert n["flags"] == 0


def test_repeats_read_only_the_groups_that_are_due(store):
    config = make_config(free_port())                                    # repeat every 240 minutes
    t0 = utcnow()
    add_flags(store, _stores(0, 60, 5))
    assert plan(store.engine, config, t0, rules=NO_RULES) == 60
    assert deliver(store.engine, config, t0, sender=_sent)["sent"] == 60
    add_flags(store, _stores(100, 60, 5))                                 # later groups, sent later
    assert plan(store.engine, config, t0 + timedelta(minutes=200), rules=NO_RULES) == 60
    assert deliver(store.engine, config, t0 + timedelta(minutes=200), sender=_sent)["sent"] == 60
    before = len(notes(store))

    with rows_read() as n:
        assert plan(store.engine, config, t0 + timedelta(minutes=241), rules=NO_RULES) == 60
    assert n["flags"] == 60 * 5                                           # the due groups' flags only
    assert n["notifications"] <= 60 + 60                                  # due rows, their last firing
    repeats = notes(store)[before:]
    assert all(r["payload"]["repeat"] for r in repeats)
    assert {key_labels(r["group_key"])["store_id"] for r in repeats} == {f"S{s:03d}" for s in range(60)}

    # a due group where everything is acknowledged is read once, then no more
    for i in range(5):
        transition(store.engine, flag_id(store, f"O100-{i}"), actor="li", to_status="acknowledged",
                   expected_version=1)
    deliver(store.engine, config, t0 + timedelta(minutes=241), sender=_sent)
    assert plan(store.engine, config, t0 + timedelta(minutes=441), rules=NO_RULES) == 59
    with rows_read() as n:
        assert plan(store.engine, config, t0 + timedelta(minutes=442), rules=NO_RULES) == 0
    assert n["flags"] == 0


def test_group_key_labels_round_trip():
    assert key_labels("department=finance,store_id=MD0001") == {"department": "finance", "store_id": "MD0001"}
    assert key_labels("store_id=A,B=C,level=warn") == {"store_id": "A,B=C", "level": "warn"}
    assert key_labels("") == {}
