"""Senders: e-mail over SMTP and HTTP webhooks (our JSON, DingTalk and WeCom robots).

A sender either returns (delivered; optionally a note such as refused Cc addresses) or raises
:class:`DeliveryError` with the status or error text, which the notification log keeps.
"""

from __future__ import annotations

import json
import mimetypes
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from alerts.settings import AlertSettings, Receiver, Smtp

WEBHOOK_TIMEOUT_SECONDS = 10.0
#: robots reject longer messages: DingTalk ~20 000 bytes, WeCom markdown 4 096 bytes
MARKDOWN_LIMIT_BYTES = {"dingtalk": 18_000, "wecom": 4_000}


class DeliveryError(Exception):
    """Sending failed; the message is what the notification log shows."""


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    tail = "\n\n……（内容过长，已截断）"
    return data[: limit - len(tail.encode("utf-8"))].decode("utf-8", "ignore") + tail


# -- e-mail ----------------------------------------------------------------------------------
def build_email(smtp: Smtp, receiver: Receiver, subject: str, body: str,
                attachments: Sequence[str] = ()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(receiver.email_to)
    if receiver.email_cc:
        msg["Cc"] = ", ".join(receiver.email_cc)
    msg["Subject"] = subject            # non-ASCII: RFC 2047 encoded-words, UTF-8
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=smtp.sender.rsplit("@", 1)[-1] or "orderwatch")
    msg.set_content(body, charset="utf-8")
    for name in attachments:            # reports: the workbook itself
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"attachment {path}: {exc.strerror or exc}") from None
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def send_email(smtp: Smtp, receiver: Receiver, subject: str, body: str,
               attachments: Sequence[str] = ()) -> str | None:
    """Send one mail to the receiver's to + cc; returns a note of refused addresses, if any."""
    msg = build_email(smtp, receiver, subject, body, attachments)
    rcpts = [*receiver.email_to, *receiver.email_cc]
    where = f"SMTP {smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as s:
            if smtp.starttls:
                s.starttls(context=ssl.create_default_context())
            if smtp.username:
                s.login(smtp.username, smtp.password or "")
            refused = s.send_message(msg, from_addr=smtp.sender, to_addrs=rcpts)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"{where}: all recipients refused: "
                            + "; ".join(f"{a} {c} {m!r}" for a, (c, m) in exc.recipients.items())) from None
    except smtplib.SMTPResponseException as exc:
        err = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"{where}: {exc.smtp_code} {err}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
    if refused:
        return "refused: " + "; ".join(f"{a} {c}" for a, (c, _m) in refused.items())
    return None


# -- webhooks --------------------------------------------------------------------------------
def webhook_body(receiver: Receiver, message: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for the receiver's format (``json``, ``dingtalk`` or ``wecom``)."""
    subject = message.get("subject") or ""
    body = message.get("body") or ""
    fmt = receiver.webhook_format
    if fmt == "dingtalk":
        text = _clip_bytes(f"### {subject}\n\n{body}", MARKDOWN_LIMIT_BYTES["dingtalk"])
        return {"msgtype": "markdown", "markdown": {"title": subject, "text": text}}
    if fmt == "wecom":
        return {"msgtype": "markdown",
                "markdown": {"content": _clip_bytes(f"### {subject}\n{body}", MARKDOWN_LIMIT_BYTES["wecom"])}}
    payload = message.get("payload") or {}
    return {"receiver": message.get("receiver") or receiver.name, "kind": message.get("kind"),
            "group_key": message.get("group_key"), "subject": subject, "body": body,
            "flags": list(payload.get("flags") or [])}


def send_webhook(receiver: Receiver, message: Mapping[str, Any],
                 timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> str | None:
    """POST the JSON body; a non-2xx status, a connection error or a robot's errcode fails."""
    data = json.dumps(webhook_body(receiver, message), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(receiver.webhook_url or "", data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8",
                                          "User-Agent": "orderwatch-alerts"})
    host = urllib.parse.urlsplit(receiver.webhook_url or "").netloc   # never log the token in the query
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text = resp.status, resp.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").strip() if exc.fp else ""
        raise DeliveryError(f"webhook {host}: HTTP {exc.code} {exc.reason}"
                            + (f": {detail}" if detail else "")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook {host}: {type(exc).__name__}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {host}: HTTP {status}: {text[:500]}")
    if receiver.webhook_format in ("dingtalk", "wecom"):
        try:           # the robots answer 200 with {"errcode": N, "errmsg": ...} when they refuse
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
            raise DeliveryError(f"webhook {host}: errcode {answer.get('errcode')}: {answer.get('errmsg')}")
    return None


# -- dispatch --------------------------------------------------------------------------------
def send(settings: AlertSettings, receiver: Receiver, message: Mapping[str, Any]) -> str | None:
    """Send a notification row (receiver, kind, group_key, subject, body, payload) to a receiver."""
    if receiver.webhook_url:
        return send_webhook(receiver, message)
    attachments = (message.get("payload") or {}).get("attachments") or ()
    return send_email(settings.smtp, receiver, message.get("subject") or "", message.get("body") or "",
                      attachments)
