"""Benchmark: the department review queue (HTML and API) over HTTP on a large PostgreSQL store.

Creates a throwaway database on the local PostgreSQL, fills ``flags`` with N realistic flags
(COPY), runs the real `orderwatch serve` (gunicorn) as a child process, logs in over HTTP and
fires a bounded number of queue requests from C client threads, reporting client-side latency
(p50/p95/p99/max overall and per variant) and requests/s.  The database is dropped at the end,
also on error.  Run from the project root:

    python bench/queue_bench.py [--flags 1000000] [--concurrency 8] [--requests 400]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--workers 2] [--explain]

``--explain`` prints EXPLAIN ANALYZE of each variant's SQL (list_flags and queue_counts, as
web/queries.py builds it).  The fill is in bench/flag_fill.py.

The load generator runs in a separate process (threads there), so its own Python work does
not compete with the server's threads for the GIL and distort the latencies.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import multiprocessing as mp
import os
import random
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from flag_fill import create_database, drop_database, fill  # noqa: E402

TARGET_P95_MS = 150.0
PASSWORD = "bench-password-1"

# -- server and login ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`orderwatch serve` (gunicorn) as a child process: what production runs."""

    def __init__(self, config_path: str, port: int, workers: int) -> None:
        import subprocess
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orderwatch.cli", "--config", config_path, "serve", "--port", str(port),
             "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("orderwatch serve did not start: " + self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.2)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def login(base: str, username: str) -> str:
    """Log in like a browser; returns the Cookie header value of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode("utf-8")
    m = re.search(r'name="_csrf"\s+value="([^"]+)"', page) or re.search(r'value="([^"]+)"\s+name="_csrf"', page)
    if not m:
        raise RuntimeError("no _csrf field on /login")
    body = urllib.parse.urlencode({"_csrf": html.unescape(m.group(1)), "username": username,
                                   "password": PASSWORD}).encode()
    resp = opener.open(base + "/login", data=body, timeout=30)
    if resp.status != 200 or "/login" in resp.geturl():
        raise RuntimeError(f"login as {username} failed ({resp.status} {resp.geturl()})")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def follow_next(base: str, path: str, cookie: str, hops: int) -> tuple[str, int]:
    """Follow rel="next" ``hops`` times from ``path``; returns the URL reached and hops made."""
    made = 0
    for _ in range(hops):
        req = urllib.request.Request(base + path, headers={"Cookie": cookie})
        page = urllib.request.urlopen(req, timeout=60).read().decode("utf-8")
        m = re.search(r'href="([^"]+)"\s+rel="next"', page)
        if not m:
            break
        path, made = html.unescape(m.group(1)), made + 1
    return path, made


# -- load generator (own process) ---------------------------------------------------------------
_local = threading.local()


def _one(port: int, job: tuple[str, str, dict[str, str]]) -> tuple[str, float, int, int]:
    variant, path, headers = job
    for attempt in (0, 1):
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = _local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return variant, (time.perf_counter() - t) * 1000.0, resp.status, len(body)
        except (http.client.HTTPException, OSError):
            conn.close()
            _local.conn = None
            if attempt:
                raise
    raise AssertionError


def run_load(port: int, jobs: list, concurrency: int) -> tuple[list, float]:
    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex:
        results = list(ex.map(lambda j: _one(port, j), jobs))
    return results, time.perf_counter() - t


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def report(results: list, wall: float, order: list[str]) -> float:
    lat = [r[1] for r in results]
    print(f"\n{len(results)} requests in {wall:.2f}s = {len(results) / wall:.1f} req/s")
    print(f"{'variant':<34} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  {'KB':>5}  status")
    rows = [("ALL", lat, [r[2] for r in results], [r[3] for r in results])]
    for v in order:
        sel = [r for r in results if r[0] == v]
        rows.append((v, [r[1] for r in sel], [r[2] for r in sel], [r[3] for r in sel]))
    for name, xs, codes, sizes in rows:
        if not xs:
            continue
        bad = {c: codes.count(c) for c in set(codes) if c != 200}
        print(f"{name:<34} {len(xs):>4} {pct(xs, 50):>7.1f} {pct(xs, 95):>7.1f} {pct(xs, 99):>7.1f} "
              f"{max(xs):>7.1f}  {sum(sizes) / max(1, len(sizes)) / 1024:>5.1f}  {'ok' if not bad else bad}")
    p95 = pct(lat, 95)
    print(f"(latencies in ms, client-side)  overall p95 {p95:.1f} ms vs target {TARGET_P95_MS:.0f} ms: "
          f"{'MET' if p95 <= TARGET_P95_MS else 'MISSED'}")
    return p95


# -- EXPLAIN ------------------------------------------------------------------------------------
def explain(engine, principals: dict, store_id: str, deep_after: str | None) -> None:
    from sqlalchemy import select, text

    from store.models import Flag
    from web import queries
    from web.queries import LIST_COLUMNS, Filters, _conditions, _seek
    F = Flag.__table__

    def list_sql(p, **kw):
        f = Filters(department="finance", **kw)
        order, after = _seek(f)
        return select(*LIST_COLUMNS).where(*_conditions(p, f), *after).order_by(*order).limit(51)

    rev = principals["reviewer"]
    from sqlalchemy import func

    from web.access import flag_scope
    counts = lambda p: (select(F.c.department, func.count())  # noqa: E731  same as queries.queue_counts
                        .where(flag_scope(p), F.c.status.in_(("open", "acknowledged"))).group_by(F.c.department))
    cases = {
        "list default (active, new)": list_sql(rev, status="active"),
        "list status=all": list_sql(rev, status="all"),
        "list level=critical&status=all": list_sql(rev, status="all", level="critical"),
        "list sort=severity&status=all": list_sql(rev, status="all", sort="severity"),
        "list store_id&status=all": list_sql(rev, status="all", store_id=store_id),
        "list deep (active, new)": list_sql(rev, status="active", after=deep_after),
        "queue_counts reviewer": counts(rev),
        "queue_counts admin": counts(principals["admin"]),
    }
    assert queries  # the statements above mirror queries.list_flags / queues_counts exactly
    with engine.connect() as conn:
        for name, stmt in cases.items():
            sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
            print(f"\n-- {name}\n{sql}\n" + "\n".join("   " + ln for ln in plan))


# -- main ---------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flags", type=int, default=1_000_000)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--deep-hops", type=int, default=20, help="rel=next hops for the deep-page variant")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes of `orderwatch serve`")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each variant's SQL")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    if not 1 <= a.requests <= 100_000 or not 1 <= a.concurrency <= 64:
        ap.error("--requests 1..100000, --concurrency 1..64")

    from sqlalchemy.engine import make_url
    if make_url(a.url).host not in ("127.0.0.1", "localhost"):
        ap.error("only a local PostgreSQL (127.0.0.1)")

    name, db_url = create_database(a.url)
    print(f"database {name}", flush=True)
    server = None
    try:
        from store import Store
        from store.users import add_user, create_token
        st = Store.open(db_url)
        try:
            fill(db_url, a.flags)
            depts = ["customer_service", "finance", "logistics", "purchasing", "store_development", "operations"]
            add_user(st.engine, "bench_finance", PASSWORD, "reviewer", departments=["finance"],
                     known_departments=depts, language="en")
            adm = add_user(st.engine, "bench_admin", PASSWORD, "admin", known_departments=depts, language="en")
            token = create_token(st.engine, adm.id, "bench")
            with st.engine.connect() as conn:
                from sqlalchemy import text
                stores = [r[0] for r in conn.execute(text(
                    "SELECT store_id FROM flags WHERE department = 'finance' GROUP BY store_id "
                    "ORDER BY count(*) DESC LIMIT 200"))]
        finally:
            st.close()

        from contracts.config import load_config
        from web import create_app
        tmp = tempfile.mkdtemp(prefix="orderwatch_bench_")
        config = load_config(overrides={"instance_dir": tmp, "database": {"url": db_url}, "jobs": {"in_serve": False}})
        app = create_app(config)
        cfg_path = os.path.join(tmp, "config.yaml")
        with open(cfg_path, "w", encoding="utf-8") as fh:
            # the page's own cost: no scheduled jobs in the measured server
            fh.write(f"instance_dir: {tmp}\ndatabase: {{url: '{db_url}'}}\nweb: {{workers: {a.workers}, threads: 4}}\n"
                     "jobs: {in_serve: false}\n")
        port = free_port()
        server = Served(cfg_path, port, a.workers)
        base = f"http://127.0.0.1:{port}"
        cookie_rev = login(base, "bench_finance")
        cookie_adm = login(base, "bench_admin")
        deep, hops = follow_next(base, "/queue/finance", cookie_rev, a.deep_hops)
        print(f"serving {base} (orderwatch serve: gunicorn, {a.workers} workers x 4 threads); logged in; deep page after {hops} rel=next hops: {deep}",
              flush=True)

        rnd = random.Random(a.seed)
        hr, ha, api = {"Cookie": cookie_rev}, {"Cookie": cookie_adm}, {"Authorization": f"Bearer {token}"}
        variants = [  # (name, weight, path factory, headers)
            ("queue default (active, new)", 25, lambda: "/queue/finance", hr),
            ("queue status=all", 12, lambda: "/queue/finance?status=all", hr),
            ("queue level=critical&status=all", 10, lambda: "/queue/finance?level=critical&status=all", hr),
            ("queue sort=severity&status=all", 10, lambda: "/queue/finance?sort=severity&status=all", hr),
            ("queue store_id=<s>&status=all", 10,
             lambda: f"/queue/finance?store_id={rnd.choice(stores)}&status=all", hr),
            (f"queue deep page ({hops} hops)", 10, lambda: deep, hr),
            ("queue default as admin", 8, lambda: "/queue/finance", ha),
            ("api flags dept=finance limit=50", 15, lambda: "/api/v1/flags?department=finance&limit=50", api),
        ]
        order = [v[0] for v in variants]
        picks = rnd.choices(range(len(variants)), weights=[v[1] for v in variants], k=a.requests)
        jobs = [(variants[i][0], variants[i][2](), variants[i][3]) for i in picks]
        warm = [(v[0], v[2](), v[3]) for v in variants]

        ctx = mp.get_context("spawn")
        with ctx.Pool(1) as pool:
            wres, _ = pool.apply(run_load, (port, warm, a.concurrency))
            bad = [(r[0], r[2]) for r in wres if r[2] != 200]
            if bad:
                raise RuntimeError(f"warm-up got non-200 answers: {bad}")
            results, wall = pool.apply(run_load, (port, jobs, a.concurrency))
        print(f"\nflags={a.flags:,} concurrency={a.concurrency} requests={a.requests} "
              f"workers={a.workers}")
        report(results, wall, order)

        if a.explain:
            from store.users import get_user
            engine = app.extensions["orderwatch.store"].engine
            deep_after = urllib.parse.parse_qs(urllib.parse.urlparse(deep).query).get("after", [None])[0]
            explain(engine, {"reviewer": get_user(engine, name="bench_finance"),
                             "admin": get_user(engine, name="bench_admin")}, stores[0], deep_after)
        app.extensions["orderwatch.store"].close()
        return 0
    finally:
        if server is not None:
            server.close()
        try:
            drop_database(a.url, name)
            print(f"dropped {name}")
        except Exception as exc:  # report, but don't mask the original error
            print(f"could not drop {name}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
