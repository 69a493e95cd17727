"""Throwaway PostgreSQL databases filled with realistic flags fast (COPY), for the queue benchmark."""

from __future__ import annotations

import io
import secrets
import time
from datetime import datetime, timedelta, timezone

# rule id -> (detector kind, department, share of all flags); mirrors rules/pack
RULES = [
    ("order_amount_spike", "amount_spike", "finance", 0.13),
    ("paid_amount_mismatch", "payment_mismatch", "finance", 0.09),
    ("unit_price_off_catalog", "price_deviation", "purchasing", 0.08),
    ("picking_overdue", "stage_overdue", "logistics", 0.16),
    ("qty_step_mismatch", "step_mismatch", "customer_service", 0.12),
    ("duplicate_order_entry", "duplicate_order", "customer_service", 0.10),
    ("address_incomplete", "missing_address", "customer_service", 0.13),
    ("store_day_surge", "volume_surge", "operations", 0.08),
    ("line_qty_outlier", "volume_surge", "customer_service", 0.11),
]
# a share of store_day_surge flags is routed to store development (6 departments in all)
STORE_DEV_SHARE_OF_SURGE = 0.35

# -- database -----------------------------------------------------------------------------------
def admin_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url
    u = make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}",
             f"dbname={u.database or 'postgres'}"]
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


def create_database(url: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url
    name = f"orderwatch_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    import psycopg
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                     "pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def synthetic_flags(n: int, seed: int = 11):  # -> polars.DataFrame
    """n flags over ~2,000 stores and 90 days, ids in creation order."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    t0 = now - timedelta(days=90)
    secs = np.sort(rng.integers(0, 90 * 86400, n))
    created = np.datetime64(t0, "us") + secs.astype("timedelta64[s]")
    age_days = (90 * 86400 - secs) / 86400.0

    rule_idx = rng.choice(len(RULES), n, p=np.array([r[3] for r in RULES]) / sum(r[3] for r in RULES))
    rule_id = np.array([r[0] for r in RULES])[rule_idx]
    kind = np.array([r[1] for r in RULES])[rule_idx]
    dept = np.array([r[2] for r in RULES], dtype=object)[rule_idx]
    surge = rule_id == "store_day_surge"
    dept[surge & (rng.random(n) < STORE_DEV_SHARE_OF_SURGE)] = "store_development"

    # skewed stores: Zipf-like weights over 2,000 stores
    n_stores = 2000
    w = 1.0 / np.arange(1, n_stores + 1) ** 0.8
    store_no = rng.choice(n_stores, n, p=w / w.sum())
    store_id = np.char.add("S", np.char.zfill(store_no.astype(str), 4))
    store_name = np.char.add("门店 ", store_no.astype(str))

    sev = rng.choice([1, 2, 3], n, p=[0.45, 0.43, 0.12])
    level = np.array(["", "info", "warn", "critical"])[sev]

    # recent flags are mostly still being worked; old ones almost all closed (~10% active overall)
    p_active = 0.05 + 0.45 * np.exp(-age_days / 10.0)
    active = rng.random(n) < p_active
    closed_status = np.where(rng.random(n) < 0.7, "resolved", "dismissed")
    open_status = np.where(rng.random(n) < 0.6, "open", "acknowledged")
    status = np.where(active, open_status, closed_status)
    resolution = np.where(status == "resolved",
                          rng.choice(["confirmed", "corrected", "false_positive"], n, p=[0.5, 0.3, 0.2]),
                          np.where(status == "dismissed", "false_positive", None))
    assignees = np.array([None, "li.wei", "wang.fang", "zhang.min", "chen.jie", "liu.yang"], dtype=object)
    assignee = assignees[rng.choice(6, n, p=[0.55, 0.1, 0.1, 0.1, 0.1, 0.05])]

    ids = np.arange(1, n + 1)
    order_id = np.char.add("O", np.char.zfill(ids.astype(str), 10))
    subject = np.char.add(np.char.add(store_id, ":"), order_id)
    occurred = created - (rng.integers(0, 2 * 86400, n)).astype("timedelta64[s]")
    touched = created + (rng.integers(60, 3 * 86400, n)).astype("timedelta64[s]")
    value = np.round(rng.gamma(2.0, 400.0, n), 2)

    df = pl.DataFrame({
        "id": ids,
        "rule_id": rule_id, "kind": kind, "level": level, "department": dept.astype(str),
        "subject": subject, "order_id": order_id, "store_id": store_id, "store_name": store_name,
        "occurred_at": occurred, "title": None, "reason": None, "evidence": value,
        "severity": sev, "status": status, "resolution": pl.Series(resolution.tolist(), dtype=pl.Utf8),
        "assignee": pl.Series(assignee.tolist(), dtype=pl.Utf8),
        "version": np.where(active, 1, rng.integers(2, 5, n)),
        "acknowledged_at": np.where(status != "open", touched, np.datetime64("NaT")),
        "resolved_at": np.where(~active, touched, np.datetime64("NaT")),
        "created_at": created, "updated_at": np.where(status != "open", touched, created),
    })
    df = df.with_columns(
        title=pl.col("rule_id") + pl.lit(" @ ") + pl.col("store_name"),
        reason=pl.lit("value ") + pl.col("evidence").cast(pl.Utf8) + pl.lit(" vs baseline ")
        + (pl.col("evidence") / 3).round(2).cast(pl.Utf8) + pl.lit(" (z > 3.0 over 28 days)"),
        evidence=pl.lit('{"value": ') + pl.col("evidence").cast(pl.Utf8)
        + pl.lit(', "baseline": ') + (pl.col("evidence") / 3).round(2).cast(pl.Utf8)
        + pl.lit(', "window_days": 28}'),
    )
    return df


def fill(db_url: str, n: int) -> dict[str, str]:
    """COPY n flags in; the secondary indexes are dropped first and rebuilt from their own
    definitions afterwards (same schema, much faster than maintaining 5 indexes row by row)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(db_url)
    conninfo = f"host={u.host} port={u.port or 5432} user={u.username} dbname={u.database}"
    t = time.perf_counter()
    df = synthetic_flags(n)
    t_gen = time.perf_counter() - t
    cols = df.columns
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        idx = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'flags'::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)").fetchall()
        for name, _ in idx:
            conn.execute(f'DROP INDEX "{name}"')
        t1 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(f"COPY flags ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as cp:
                step = 200_000
                for off in range(0, n, step):
                    buf = io.BytesIO()
                    df.slice(off, step).write_csv(buf, include_header=False,
                                                  datetime_format="%Y-%m-%d %H:%M:%S", null_value="")
                    cp.write(buf.getvalue())
        t_copy = time.perf_counter() - t1
        t2 = time.perf_counter()
        for _, ddl in idx:
            conn.execute(ddl)
        t_idx = time.perf_counter() - t2
        conn.execute("SELECT setval(pg_get_serial_sequence('flags', 'id'), %s)", (n,))
        t3 = time.perf_counter()
        conn.execute("VACUUM ANALYZE flags")
        t_an = time.perf_counter() - t3
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('flags'))").fetchone()[0]
    total = time.perf_counter() - t
    print(f"fill: {n:,} flags in {total:.1f}s (generate {t_gen:.1f}s, COPY {t_copy:.1f}s, "
          f"indexes {t_idx:.1f}s, VACUUM ANALYZE {t_an:.1f}s); flags table+indexes {size}", flush=True)
    return {"conninfo": conninfo}
