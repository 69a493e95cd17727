"""The ``alerts:`` section of the config, validated once: SMTP, receivers, the routing tree,
the escalation receiver, store contacts and the retry policy.

Every mistake raises :class:`AlertsConfigError` naming the path of the bad key
(``alerts.receivers[2].webhook.format: ...``), so a site config can be fixed from the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.config import Config, ConfigError

WEBHOOK_FORMATS: tuple[str, ...] = ("json", "dingtalk", "wecom")
#: receiver names of store managers are "store:<store_id>" (from ``alerts.store_contacts``)
STORE_PREFIX = "store:"

_ALERTS_KEYS = {"smtp", "receivers", "route", "escalation_receiver", "store_contacts", "retry"}
_SMTP_KEYS = {"host", "port", "from", "starttls", "username", "password", "timeout_seconds"}
_RETRY_KEYS = {"max_attempts", "backoff_seconds", "backoff_max_seconds"}


class AlertsConfigError(ConfigError):
    """A bad value in the ``alerts:`` config section (the message names the path)."""


@dataclass(frozen=True)
class Smtp:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "orderwatch@localhost"     # the ``from`` key
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Receiver:
    """How to reach someone: e-mail (to/cc) or a webhook (url + body format)."""

    name: str
    email_to: tuple[str, ...] = ()
    email_cc: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_format: str = "json"

    @property
    def channel(self) -> str:
        return "webhook" if self.webhook_url else "email"


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 12
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0


@dataclass(frozen=True)
class AlertSettings:
    smtp: Smtp
    receivers: dict[str, Receiver]
    route: Any                                  # alerts.routing.Route (the root)
    escalation_receiver: str | None
    store_contacts: dict[str, Receiver]         # store_id -> receiver named "store:<id>"
    retry: Retry
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def receiver(self, name: str) -> Receiver | None:
        """A configured receiver, or a store manager's (``store:<store_id>``), else None."""
        if name.startswith(STORE_PREFIX):
            return self.store_contacts.get(name[len(STORE_PREFIX):])
        return self.receivers.get(name)


def _mapping(value: Any, path: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertsConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
    return value


def _no_unknown(d: dict, allowed: set[str], path: str) -> None:
    bad = sorted(str(k) for k in d if k not in allowed)
    if bad:
        raise AlertsConfigError(f"{path}.{bad[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _number(value: Any, path: str, *, integer: bool = False, minimum: float = 0, strict: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AlertsConfigError(f"{path}: expected a number, got {value!r}")
    if integer and int(value) != value:
        raise AlertsConfigError(f"{path}: expected a whole number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise AlertsConfigError(f"{path}: must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise AlertsConfigError(f"{path}: expected true or false, got {value!r}")
    return value


def _addresses(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(a, str) and a.strip() for a in items):
        raise AlertsConfigError(f"{path}: expected an address or a list of addresses, got {value!r}")
    bad = [a for a in items if "@" not in a]
    if bad:
        raise AlertsConfigError(f"{path}: not an e-mail address: {bad[0]!r}")
    return tuple(a.strip() for a in items)


def _webhook(value: Any, path: str) -> tuple[str, str]:
    w = _mapping(value, path)
    _no_unknown(w, {"url", "format"}, path)
    url = w.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise AlertsConfigError(f"{path}.url: expected an http(s) URL, got {url!r}")
    fmt = w.get("format", "json")
    if fmt not in WEBHOOK_FORMATS:
        raise AlertsConfigError(f"{path}.format: unknown format {fmt!r} (use {', '.join(WEBHOOK_FORMATS)})")
    return url, fmt


def _receiver(raw: Any, path: str, name: str) -> Receiver:
    r = _mapping(raw, path)
    channels = [k for k in ("email", "webhook") if r.get(k) is not None]
    if len(channels) != 1:
        raise AlertsConfigError(f"{path}: a receiver needs exactly one of email or webhook "
                                f"(define two receivers and route with continue: true for both)")
    if channels[0] == "email":
        e = r["email"]
        if isinstance(e, (str, list)):          # store contacts: {email: addr} is enough
            return Receiver(name, email_to=_addresses(e, f"{path}.email"))
        e = _mapping(e, f"{path}.email")
        _no_unknown(e, {"to", "cc"}, f"{path}.email")
        to = _addresses(e.get("to"), f"{path}.email.to")
        if not to:
            raise AlertsConfigError(f"{path}.email.to: at least one address is needed")
        return Receiver(name, email_to=to, email_cc=_addresses(e.get("cc"), f"{path}.email.cc"))
    url, fmt = _webhook(r["webhook"], f"{path}.webhook")
    return Receiver(name, webhook_url=url, webhook_format=fmt)


def parse_alerts(raw: dict[str, Any] | None, departments: list[str] | None = None) -> AlertSettings:
    """Validate the ``alerts:`` mapping (as in config.yaml) into :class:`AlertSettings`."""
    from alerts.routing import parse_route

    a = _mapping(raw, "alerts")
    _no_unknown(a, _ALERTS_KEYS, "alerts")

    s = _mapping(a.get("smtp"), "alerts.smtp")
    _no_unknown(s, _SMTP_KEYS, "alerts.smtp")
    d = Smtp()
    host = s.get("host", d.host)
    if not isinstance(host, str) or not host:
        raise AlertsConfigError(f"alerts.smtp.host: expected a host name, got {host!r}")
    sender = s.get("from", d.sender)
    if not isinstance(sender, str) or "@" not in sender:
        raise AlertsConfigError(f"alerts.smtp.from: expected an e-mail address, got {sender!r}")
    for k in ("username", "password"):
        if s.get(k) is not None and not isinstance(s.get(k), str):
            raise AlertsConfigError(f"alerts.smtp.{k}: expected text or null")
    smtp = Smtp(host=host, port=_number(s.get("port", d.port), "alerts.smtp.port", integer=True, minimum=1),
                sender=sender, starttls=_bool(s.get("starttls", d.starttls), "alerts.smtp.starttls"),
                username=s.get("username"), password=s.get("password"),
                timeout_seconds=_number(s.get("timeout_seconds", d.timeout_seconds),
                                        "alerts.smtp.timeout_seconds", minimum=0, strict=True))

    receivers: dict[str, Receiver] = {}
    rlist = a.get("receivers") or []
    if not isinstance(rlist, list):
        raise AlertsConfigError("alerts.receivers: expected a list of receivers")
    for i, r in enumerate(rlist):
        path = f"alerts.receivers[{i}]"
        r = _mapping(r, path)
        _no_unknown(r, {"name", "email", "webhook"}, path)
        name = r.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AlertsConfigError(f"{path}.name: every receiver needs a name")
        if name in receivers:
            raise AlertsConfigError(f"{path}.name: duplicate receiver name {name!r}")
        if name.startswith(STORE_PREFIX):
            raise AlertsConfigError(f"{path}.name: names starting with {STORE_PREFIX!r} are reserved "
                                    f"for alerts.store_contacts")
        receivers[name] = _receiver(r, path, name)

    route = parse_route(a.get("route"), set(receivers), departments)

    esc = a.get("escalation_receiver")
    if esc is not None and esc not in receivers:
        raise AlertsConfigError(f"alerts.escalation_receiver: unknown receiver {esc!r} "
                                f"(known: {', '.join(sorted(receivers)) or 'none'})")

    contacts: dict[str, Receiver] = {}
    for sid, c in _mapping(a.get("store_contacts"), "alerts.store_contacts").items():
        path = f"alerts.store_contacts.{sid}"
        c = _mapping(c, path)
        _no_unknown(c, {"email", "webhook"}, path)
        contacts[str(sid)] = _receiver(c, path, f"{STORE_PREFIX}{sid}")

    rt = _mapping(a.get("retry"), "alerts.retry")
    _no_unknown(rt, _RETRY_KEYS, "alerts.retry")
    dr = Retry()
    retry = Retry(
        max_attempts=_number(rt.get("max_attempts", dr.max_attempts), "alerts.retry.max_attempts",
                             integer=True, minimum=1),
        backoff_seconds=_number(rt.get("backoff_seconds", dr.backoff_seconds), "alerts.retry.backoff_seconds"),
        backoff_max_seconds=_number(rt.get("backoff_max_seconds", dr.backoff_max_seconds),
                                    "alerts.retry.backoff_max_seconds"),
    )
    return AlertSettings(smtp=smtp, receivers=receivers, route=route, escalation_receiver=esc,
                         store_contacts=contacts, retry=retry)


def load_settings(config: Config) -> AlertSettings:
    """The validated ``alerts:`` section of a loaded config; store managers' contacts from the
    store master (``stores.file``) fill ``store_contacts`` where the config names none."""
    from ingest.store_master import master_contacts

    raw = dict(config.get("alerts") or {})
    from_file = master_contacts(config)
    if from_file:
        raw["store_contacts"] = {**from_file, **(raw.get("store_contacts") or {})}
    return parse_alerts(raw, list(config.departments))


#: the keys a site sets to turn alerts on (shown by the UI and the CLI while they are not set)
SETUP_KEYS: tuple[str, ...] = ("alerts.smtp.host", "alerts.smtp.from", "alerts.receivers",
                               "alerts.route.receiver", "alerts.escalation_receiver")


def is_configured(settings: AlertSettings) -> bool:
    """Alerts are set up once the routing tree sends to a receiver (store contacts alone are not)."""
    return settings.route.receiver is not None
