"""``orderwatch silences add|list|expire``, ``orderwatch notifications list`` and
``orderwatch alerts test RECEIVER``.

Wired into ``orderwatch/cli.py`` by :func:`add_subcommands`.  Times typed or shown here are
wall-clock times in the configured timezone; the database keeps naive UTC.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from contracts.config import ConfigError, load_config


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _to_utc(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc).replace(tzinfo=None)


def _to_local(utc: datetime | None, tz: str) -> str:
    if utc is None:
        return "—"
    return f"{utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def _parse_until(text: str, option: str = "--until") -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ConfigError(f"{option}: expected 'YYYY-MM-DD HH:MM', got {text!r}")


def _matchers(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--match: expected label=value, got {item!r}")
        if key.strip() in out:
            raise ConfigError(f"--match: label {key.strip()!r} given twice")
        out[key.strip()] = value.strip()
    return out


def _matchers_text(m: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(m.items()))


def cmd_silences(args: argparse.Namespace) -> int:
    from alerts import silences
    from store import Store

    config = load_config(args.config)
    tz = config.timezone
    now = _utcnow()
    store = Store.open(args.db or config.database_url)
    try:
        if args.silences_command == "add":
            if args.hours is not None:
                if args.hours <= 0:
                    raise ConfigError("--hours must be > 0")
                ends = now + timedelta(hours=args.hours)
            else:
                ends = _to_utc(_parse_until(args.until), tz)
            try:
                sid = silences.add(store.engine, _matchers(args.match), now, ends, args.by, args.comment, now=now)
            except silences.SilenceError as exc:
                raise ConfigError(str(exc)) from None
            print(f"silence {sid}: {_matchers_text(_matchers(args.match))} until {_to_local(ends, tz)} ({tz})")
        elif args.silences_command == "list":
            rows = (silences.list_all(store.engine, now, include_expired=True) if args.all
                    else silences.list_active(store.engine, now))
            if not rows:
                print("no silences" if args.all else "no active silences")
            for s in rows:
                state = ("active" if s["starts_at"] <= now < s["ends_at"]
                         else "pending" if s["starts_at"] > now else "expired")
                print(f"{s['id']:>5}  {state:<8} {_to_local(s['starts_at'], tz)} → {_to_local(s['ends_at'], tz)}  "
                      f"{_matchers_text(s['matchers'])}  by {s['created_by']}: {s['comment']}")
        elif args.silences_command == "expire":
            try:
                changed = silences.expire(store.engine, args.id, now)
            except silences.SilenceError as exc:
                raise ConfigError(str(exc)) from None
            print(f"silence {args.id} expired" if changed else f"silence {args.id} had already ended")
    finally:
        store.close()
    return 0


def cmd_notifications(args: argparse.Namespace) -> int:
    from alerts.notify import list_notifications
    from store import Store

    config = load_config(args.config)
    tz = config.timezone
    store = Store.open(args.db or config.database_url)
    try:
        rows = list_notifications(store.engine, args.status, args.limit)
    finally:
        store.close()
    if not rows:
        print("no notifications" + (f" with status {args.status}" if args.status else ""))
    for n in rows:
        when = _to_local(n["sent_at"] or n["created_at"], tz)
        nxt = f" next {_to_local(n['next_attempt_at'], tz)}" if n["status"] == "pending" and n["next_attempt_at"] else ""
        print(f"{n['id']:>6}  {n['status']:<8} {when}  {n['kind']:<10} {n['receiver']:<20} "
              f"attempts={n['attempts']}{nxt}  {n['subject'] or ''}")
        if n["last_error"]:
            print(f"        last error: {n['last_error']}")
    return 0


def cmd_alerts_test(args: argparse.Namespace) -> int:
    """Send one test message to a receiver, straight (not through the log), and say what happened."""
    from alerts.receivers import DeliveryError, send
    from alerts.settings import SETUP_KEYS, is_configured, load_settings

    config = load_config(args.config)
    settings = load_settings(config)
    receiver = settings.receiver(args.receiver)
    if receiver is None:
        known = [*settings.receivers, *(f"store:{s}" for s in settings.store_contacts)]
        hint = (f"known: {', '.join(known)}" if known else
                f"no receiver is configured yet: set {', '.join(SETUP_KEYS)} in the site config")
        raise ConfigError(f"unknown receiver {args.receiver!r} ({hint})")
    now = _to_local(_utcnow(), config.timezone)
    message = {"receiver": receiver.name, "kind": "test", "group_key": None,
               "subject": "orderwatch 测试消息 / test message",
               "body": f"这是 orderwatch 发出的测试消息（{now}），收到即说明配置正确。\n"
                       f"This is a test message from orderwatch ({now}); receiving it means the set-up works.",
               "payload": {"flags": []}}
    where = (f"webhook {receiver.webhook_format} {receiver.webhook_url.split('?', 1)[0]}" if receiver.webhook_url
             else f"e-mail to {', '.join((*receiver.email_to, *receiver.email_cc))} "
                  f"via SMTP {settings.smtp.host}:{settings.smtp.port}")
    try:
        note = send(settings, receiver, message)
    except DeliveryError as exc:
        print(f"FAILED  {receiver.name}: {where}\n        {exc}")
        return 1
    print(f"sent    {receiver.name}: {where}" + (f" ({note})" if note else ""))
    if not is_configured(settings):
        print("note: alerts.route.receiver is not set, so flags are not sent to anyone yet")
    return 0


def cmd_routes_test(args: argparse.Namespace) -> int:
    """Where a flag with these labels goes at --at, and whether a silence mutes it; exit 0 when
    it would be sent, 1 when nothing would be (muted, or no receiver)."""
    from alerts import silences
    from alerts.route_check import LabelsError, check_route, parse_labels
    from alerts.settings import load_settings
    from rules.loader import load_rules_cached
    from store import Store

    config = load_config(args.config)
    tz = config.timezone
    try:
        labels = parse_labels(args.labels, config.departments)
    except LabelsError as exc:
        raise ConfigError(f"--labels: {exc}") from None
    at_local = _parse_until(args.at, "--at") if args.at else None
    at = _to_utc(at_local, tz) if at_local else _utcnow()
    settings = load_settings(config)
    with Store.open(args.db or config.database_url) as store:
        rows = silences.list_all(store.engine)
    store_rules = {r.id for r in load_rules_cached(config, include_disabled=True) if r.notify_store}
    t = check_route(settings, labels, at, rows, store_rules)
    print("labels: " + " ".join(f"{k}={v}" for k, v in labels.items() if v)
          + (f"  (empty: {', '.join(k for k, v in labels.items() if not v)})" if not all(labels.values()) else ""))
    print(f"at: {_to_local(at, tz)} ({tz})")
    if t.alerts_off:
        print("routes: none — alerts are off (alerts.route.receiver is not set)")
    for r in t.routes:
        how = " ".join([*(f"{k}={v}" for k, v in r.match.items()), *(f"{k}=~{p.pattern}" for k, p in r.match_re.items())])
        print(f"route {r.path}{'  match ' + how if how else ''}  → {r.receiver or '(none)'}  "
              f"(group {r.group_key(labels)}; repeat every {int(r.repeat_interval.total_seconds() // 60)} min; "
              f"resolved notices {'yes' if r.send_resolved else 'no'})")
    if t.store_note:
        print(f"store manager: {t.store_note}")
    for s in t.silences:
        print(f"silenced by silence {s['id']} ({_matchers_text(s['matchers'])}) {_to_local(s['starts_at'], tz)} → "
              f"{_to_local(s['ends_at'], tz)} by {s['created_by']}: {s['comment']}")
    if t.muted:
        print(f"→ not sent at {_to_local(at, tz)}: muted by {len(t.silences)} silence(s); "
              f"it goes to {', '.join(t.receivers) or 'no receiver'} once they end")
    elif t.receivers:
        print(f"→ sent to {', '.join(t.receivers)}")
    else:
        print("→ not sent: no receiver")
    return 0 if t.sent else 1


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    """Add ``silences`` and ``notifications`` to the ``orderwatch`` sub-command parser."""
    from alerts.labels import LABEL_NAMES
    from alerts.notify import NOTIFICATION_STATUSES

    s = sub.add_parser("silences", help="silence matching flags for a while (they are kept, just not sent)")
    s.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    ssub = s.add_subparsers(dest="silences_command", required=True)
    sa = ssub.add_parser("add", help="add a silence from now on")
    sa.add_argument("--match", action="append", required=True, metavar="LABEL=VALUE",
                    help=f"label matcher, repeat for several (labels: {', '.join(LABEL_NAMES)})")
    until = sa.add_mutually_exclusive_group(required=True)
    until.add_argument("--hours", type=float, help="silence for this many hours")
    until.add_argument("--until", help='silence until "YYYY-MM-DD HH:MM" (config timezone)')
    sa.add_argument("--comment", required=True, help="why (required)")
    sa.add_argument("--by", required=True, help="who (required)")
    sl = ssub.add_parser("list", help="list active silences")
    sl.add_argument("--all", action="store_true", help="also expired and future ones")
    se = ssub.add_parser("expire", help="end a silence now")
    se.add_argument("id", type=int)
    s.set_defaults(func=cmd_silences)

    n = sub.add_parser("notifications", help="the notification log")
    n.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    nsub = n.add_subparsers(dest="notifications_command", required=True)
    nl = nsub.add_parser("list", help="list notifications, newest first (attempts, last error)")
    nl.add_argument("--status", choices=list(NOTIFICATION_STATUSES))
    nl.add_argument("--limit", type=int, default=100)
    n.set_defaults(func=cmd_notifications)

    r = sub.add_parser("routes", help="the routing tree")
    rsub = r.add_subparsers(dest="routes_command", required=True)
    rt = rsub.add_parser("test", help="which receivers a flag with these labels goes to, and whether a silence "
                                      "active at --at mutes it (exit 1 when nothing would be sent)")
    rt.add_argument("--labels", required=True, metavar="LABEL=VALUE,...",
                    help=f"e.g. department=finance,level=critical,store_id=MD0001 (labels: {', '.join(LABEL_NAMES)})")
    rt.add_argument("--at", help='"YYYY-MM-DD HH:MM" in the config timezone (default: now)')
    rt.add_argument("--db", help="SQLAlchemy URL of the silences (default: config database.url)")
    rt.set_defaults(func=cmd_routes_test)

    a = sub.add_parser("alerts", help="check the alerts set-up")
    asub = a.add_subparsers(dest="alerts_command", required=True)
    at = asub.add_parser("test", help="send one test message to RECEIVER and print the outcome")
    at.add_argument("receiver", help="a name in alerts.receivers, or store:<store_id> of alerts.store_contacts")
    at.set_defaults(func=cmd_alerts_test)
