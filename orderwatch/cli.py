"""The ``orderwatch`` command line.  The interface of ``scan``, ``rules check`` and ``demo`` is
fixed (other tools call it); errors a user can fix print one clear message and exit 2.
``inspect`` reads files like a scan and says what it understood, without judging or storing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.config import ConfigError, load_config

err = Console(stderr=True, soft_wrap=True)


def _as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not 1900 <= value.year <= 2100:
            raise argparse.ArgumentTypeError(f"a year between 1900 and 2100, got {text!r}")
        return value
    # argparse names the option itself ("argument --as-of: ..."): the message says only what is wrong
    raise argparse.ArgumentTypeError(f"expected a time such as '2026-09-01 13:00:00' or a date such as "
                                     f"'2026-09-01', got {text!r}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<32}"), BarColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def cmd_scan(args: argparse.Namespace) -> int:
    from orderwatch.report import print_summary, write_flags, write_quarantine
    from orderwatch.scan import run_scan

    config = load_config(args.config)
    with _progress() as bar:
        task = bar.add_task("scan", total=1.0)

        def tick(stage: str, frac: float) -> None:
            bar.update(task, description=stage, completed=frac)

        result = run_scan(args.paths, config, catalog=args.catalog, as_of=args.as_of, db_url=args.db,
                          progress=tick, source=args.source, runner=args.runner)
    print_summary(result, config.departments, Console())
    if args.out:
        n = write_flags(result, args.out)
        err.print(f"wrote {n:,} flags to {args.out}")
    if args.quarantine:
        n = write_quarantine(result, args.quarantine)
        err.print(f"wrote {n:,} quarantined rows to {args.quarantine}")
    for problem in result.mismatches:
        err.print(f"[red bold]RECONCILIATION FAILED 对账失败:[/red bold] {problem}", markup=True, highlight=False)
    return 0 if result.reconciled else 1


def cmd_scans(args: argparse.Namespace) -> int:
    """Recent scans with their counts and status (interrupted ones are found on open)."""
    from orderwatch.scan import lease_seconds
    from store import Store

    config = load_config(args.config)
    store = Store.open(args.db or config.database_url, scan_lease_seconds=lease_seconds(config))
    try:
        rows = store.recent_scans(args.limit)
    finally:
        store.close()
    table = Table(show_header=True, title="scans 扫描记录")
    for c in ("id", "status 状态", "started (UTC)", "read 读取", "accepted 接受", "quarantined 隔离",
              "new flags 新异常", "files 文件", "error 错误"):
        table.add_column(c)
    colour = {"done": "green", "failed": "red", "interrupted": "red", "running": "yellow"}
    for r in rows:
        files = ", ".join(Path(f).name for f in (r["files"] or []))
        table.add_row(str(r["id"]), f"[{colour.get(r['status'], 'white')}]{r['status']}[/]",
                      f"{r['started_at']:%Y-%m-%d %H:%M:%S}", f"{r['lines_read']:,}", f"{r['lines_accepted']:,}",
                      f"{r['lines_quarantined']:,}", f"{r['flags_new']:,}", files, r["error"] or "")
    Console(width=200).print(table)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """What a scan would understand of each file, without scanning; and a config snippet."""
    from orderwatch.fieldreport import render, snippet
    from orderwatch.inspect import inspect_paths

    config = load_config(args.config)
    out = Console(soft_wrap=True)
    reports = inspect_paths(args.paths, config, source=args.source, as_of=args.as_of)
    for r in reports:
        render(r, out, samples=True)
        out.print(f"  · rows: {r.rows:,} read = {r.accepted:,} accepted + {r.quarantined:,} quarantined",
                  highlight=False)
        out.print("\n[dim]# config.yaml — paste and adjust (ambiguous and unrecognised columns are comments):[/dim]")
        out.print(snippet(r), markup=False, highlight=False)
        out.print()
    return 0 if all(not r.missing_required for r in reports) else 1


def cmd_rules_check(args: argparse.Namespace) -> int:
    from rules.loader import read_pack

    config = load_config(args.config)
    directory = Path(args.dir) if args.dir else config.rules_dir
    rules, inhibitions, problems = read_pack(directory, config)
    for p in problems:
        print(str(p))
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    for r in rules:
        levels = "; ".join(f"{k}: {v}" for k, v in r.level_text.items())
        state = ("" if r.enabled else " (disabled)") + (" (shadow)" if r.shadow else "")
        print(f"ok  {r.id:<24} {r.detector:<16} {r.department:<18} {levels}{state}")
    for i in inhibitions:
        when = f" when {i.when_text}" if i.when_text else ""
        print(f"ok  inhibit {i.id}: {', '.join(i.cause)} explains {', '.join(i.consequence)} "
              f"on the same {', '.join(i.equal)}{when}")
    print(f"{len(rules)} rule(s) valid, with {len(inhibitions)} inhibition(s), in {directory}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from orderwatch.demo import generate
    from orderwatch.report import print_summary
    from orderwatch.scan import run_scan

    config = load_config(args.config)
    out_dir = config.instance_dir / "demo"
    d = config.get("demo", {})
    err.print(f"generating demo data in {out_dir} …")
    demo = generate(out_dir, stores=int(d.get("stores", 300)), days=int(d.get("days", 35)),
                    seed=int(d.get("seed", 20261130)))
    with _progress() as bar:
        task = bar.add_task("scan", total=1.0)
        result = run_scan(demo.order_files, config, catalog=demo.catalog, as_of=demo.as_of,
                          progress=lambda s, f: bar.update(task, description=s, completed=f))
    print_summary(result, config.departments, Console())
    out = out_dir / "flags.csv"
    from orderwatch.report import write_flags, write_quarantine
    write_flags(result, out)
    write_quarantine(result, out_dir / "quarantine.csv")
    err.print(f"database: {config.database_url}\nflags: {out}\nquarantine: {out_dir / 'quarantine.csv'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The UI and API on gunicorn (worker processes × threads), on the configured database."""
    from store import Store
    from web.server import serve

    config = load_config(args.config)
    Store.open(config.database_url).close()  # migrate once, before the workers start
    host = args.host or str(config.get("web.host", "127.0.0.1"))
    port = int(args.port or config.get("web.port", 8000))
    workers = int(args.workers or config.get("web.workers", 2))
    err.print(f"orderwatch UI on http://{host}:{port}/  ({workers} workers; database {config.database_url})")
    serve(config, host, port, workers, int(config.get("web.threads", 4)))
    return 0


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from store import Store
    from store.users import UserError, add_user, create_token, get_user, list_users

    config = load_config(args.config)
    store = Store.open(args.db or config.database_url)
    try:
        if args.users_command == "add":
            try:
                u = add_user(store.engine, args.name, _read_password(args), args.role,
                             departments=args.department, stores=args.store, language=args.language,
                             known_departments=list(config.departments))
            except UserError as exc:
                err.print(f"[red]error:[/red] {exc}")
                return 2
            print(f"added {u.name} ({u.role})")
        elif args.users_command == "list":
            for u in list_users(store.engine):
                print(f"{u['name']:<20} {u['role']:<14} depts={','.join(u['departments'])} "
                      f"stores={','.join(u['stores'])} {'active' if u['active'] else 'inactive'}")
        elif args.users_command == "token":
            u = get_user(store.engine, name=args.name)
            if u is None:
                err.print(f"[red]error:[/red] no active user {args.name!r}")
                return 2
            print(create_token(store.engine, u.id, args.label))
    finally:
        store.close()
    return 0


def cmd_history_rebuild(args: argparse.Namespace) -> int:
    """Recompute the baseline state from the raw history lines (issue 9)."""
    from contracts.config import history_dir_for
    from orderwatch.baseline_state import rebuild
    from store import History

    config = load_config(args.config)
    history = History(history_dir_for(args.db or config.database_url, config))
    out = rebuild(history, config)
    print(f"baseline state rebuilt from {out.raw_rows_read:,} history lines in {history.dir}: "
          + ", ".join(f"{t} {n:,} rows" for t, n in out.rows.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="orderwatch", description="Find abnormal orders and route them.")
    p.add_argument("--config", help="site config.yaml merged over the shipped one (or $ORDERWATCH_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scan", help="scan order exports (CSV, Excel, JSON, JSON lines, Parquet)")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--catalog", help="SKU master: order step, minimum, list price, fresh, stock")
    s.add_argument("--as-of", type=_as_of, help='"YYYY-MM-DD HH:MM:SS" (default: now, config timezone)')
    s.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    s.add_argument("--out", help="write flags to FLAGS.csv or FLAGS.jsonl")
    s.add_argument("--quarantine", help="write quarantined rows to QUARANTINE.csv")
    s.add_argument("--source", help="read every PATH as this configured source (default: by file name)")
    s.add_argument("--runner", choices=("local", "ray"),
                   help="where features and rules run (default: config scan.runner, else local; "
                        "ray needs pip install 'orderwatch[ray]')")
    s.set_defaults(func=cmd_scan)

    i = sub.add_parser("inspect", help="say what a scan would understand of each file, without scanning")
    i.add_argument("paths", nargs="+", metavar="FILE")
    i.add_argument("--source", help="read every FILE as this configured source (default: by file name)")
    i.add_argument("--as-of", type=_as_of, help='"YYYY-MM-DD HH:MM:SS": the clock time-based rules would use')
    i.set_defaults(func=cmd_inspect)

    r = sub.add_parser("rules", help="rule files")
    rsub = r.add_subparsers(dest="rules_command", required=True)
    rc = rsub.add_parser("check", help="validate rule YAML; exit non-zero on any mistake")
    rc.add_argument("dir", nargs="?", help="rules directory (default: config rules_dir)")
    rc.set_defaults(func=cmd_rules_check)
    from orderwatch.workbench_cli import add_rules_commands  # rules test, rules suggest
    add_rules_commands(rsub)

    sc = sub.add_parser("scans", help="recent scans with counts and status (done, failed, interrupted, running)")
    sc.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    sc.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    sc.set_defaults(func=cmd_scans)

    h = sub.add_parser("history", help="the stored order-line history and its baseline state")
    hsub = h.add_subparsers(dest="history_command", required=True)
    hr = hsub.add_parser("rebuild", help="recompute the baseline state from the raw history lines "
                                         "(after a crash, a rule change that needs a new aggregate, new history.state bounds)")
    hr.add_argument("--db", help="SQLAlchemy URL whose history to rebuild (default: config database.url)")
    hr.set_defaults(func=cmd_history_rebuild)

    d = sub.add_parser("demo", help="generate a demo data set and scan it into the default database")
    d.set_defaults(func=cmd_demo)

    sv = sub.add_parser("serve", help="run the review UI and API (gunicorn)")
    sv.add_argument("--host", help="address to listen on (default: config web.host)")
    sv.add_argument("--port", type=int, help="port (default: config web.port)")
    sv.add_argument("--workers", type=int, help="worker processes (default: config web.workers)")
    sv.set_defaults(func=cmd_serve)

    u = sub.add_parser("users", help="manage users and API tokens")
    u.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    usub = u.add_subparsers(dest="users_command", required=True)
    ua = usub.add_parser("add", help="add a user")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["admin", "reviewer", "store_manager", "rule_author"])
    ua.add_argument("--department", action="append", default=[], help="a reviewer's department (repeat)")
    ua.add_argument("--store", action="append", default=[], help="a store manager's store (repeat)")
    ua.add_argument("--language", default="zh", choices=["zh", "en"])
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    usub.add_parser("list", help="list users")
    ut = usub.add_parser("token", help="create an API token for a user (printed once)")
    ut.add_argument("name")
    ut.add_argument("--label")
    u.set_defaults(func=cmd_users)

    # scheduled jobs: `worker` and `jobs list|run NAME` (jobs/cli.py)
    from jobs.cli import add_parsers as add_job_parsers
    add_job_parsers(sub)

    # alerts: `silences add|list|expire` and `notifications list` (alerts/cli.py)
    from alerts.cli import add_subcommands as add_alerts_subcommands
    add_alerts_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from ingest import IngestError
    from rules.loader import RulesInvalid

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RulesInvalid as exc:
        err.print("[red]rules invalid:[/red]")
        for p in exc.problems:
            err.print(f"  {p}", markup=False, highlight=False)
        return 2
    except (ConfigError, IngestError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
