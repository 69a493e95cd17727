"""The words of a notification: subjects and bodies (Chinese) for firing, resolved and store
notices, and each flag's payload for webhooks.  Kept apart from planning and delivery so the
wording can change without touching either."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from contracts.config import Config

LEVEL_ZH = {"info": "提示", "warn": "警告", "critical": "严重"}
STATUS_ZH = {"resolved": "已解决", "dismissed": "已驳回", "open": "待处理", "acknowledged": "已确认"}
RESOLUTION_ZH = {"confirmed": "确认异常", "false_positive": "误报", "corrected": "已更正"}
LABEL_ZH = {"department": "部门", "store_id": "门店", "level": "级别", "kind": "类型", "rule_id": "规则"}
MAX_LINES = 50                     # flags listed in one message; the rest as a count


def _local(dt: datetime | None, tz: str, utc: bool = False) -> str:
    if dt is None:
        return "—"
    if utc:
        dt = dt.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return f"{dt:%Y-%m-%d %H:%M}"


def _flag_line(f: Mapping[str, Any], config: Config, closed: bool = False) -> str:
    store = " ".join(x for x in (f.get("store_id"), f.get("store_name")) if x) or "—"
    parts = [f"[{LEVEL_ZH.get(f['level'], f['level'])}] {f.get('title') or f['rule_id']}",
             f"门店 {store}", f"订单 {f.get('order_id') or '—'}"]
    if f.get("occurred_at"):
        parts.append(f"发生 {_local(f['occurred_at'], config.timezone)}")
    if closed:
        st = STATUS_ZH.get(f["status"], f["status"])
        res = RESOLUTION_ZH.get(f.get("resolution") or "", "")
        parts.append(f"{st}{'（' + res + '）' if res else ''}")
    parts.append(f"原因：{f.get('reason') or '—'}")
    return "- " + " ｜ ".join(parts) + f" （#{f['id']}）"


def _lines(flags: Sequence[Mapping[str, Any]], config: Config, closed: bool = False) -> list[str]:
    out = [_flag_line(f, config, closed) for f in flags[:MAX_LINES]]
    if len(flags) > MAX_LINES:
        out.append(f"- ……另有 {len(flags) - MAX_LINES} 条，请在系统中查看")
    return out


def _head(labels: Mapping[str, str], flags: Sequence[Mapping[str, Any]], config: Config) -> str:
    parts = []
    for k, v in labels.items():
        if k == "department":
            parts.append(config.department_name(v, "zh"))
        elif k == "store_id":
            name = next((f.get("store_name") for f in flags if f.get("store_name")), None)
            parts.append(f"门店 {v or '—'}" + (f" {name}" if name else ""))
        elif k == "level":
            parts.append(f"{LEVEL_ZH.get(v, v)}级")
        else:
            parts.append(f"{LABEL_ZH[k]} {v}")
    return " · ".join(parts) or "全部"


def _sort(flags: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rank = {"critical": 0, "warn": 1, "info": 2}
    return sorted(flags, key=lambda f: (rank.get(f["level"], 3), f["id"]))


def _flag_payload(f: Mapping[str, Any], config: Config) -> dict[str, Any]:
    return {"id": f["id"], "rule_id": f["rule_id"], "title": f.get("title"), "kind": f["kind"],
            "level": f["level"], "department": f["department"],
            "department_name": config.department_name(f["department"], "zh"),
            "store_id": f.get("store_id"), "store_name": f.get("store_name"), "order_id": f.get("order_id"),
            "subject": f["subject"], "reason": f.get("reason"), "status": f["status"],
            "resolution": f.get("resolution"),
            "occurred_at": f["occurred_at"].isoformat(sep=" ") if f.get("occurred_at") else None}


def _footer(now: datetime, config: Config) -> list[str]:
    return ["", f"—— orderwatch · {_local(now, config.timezone, utc=True)}"]


def firing_message(labels: Mapping[str, str], new: Sequence[Mapping], others: Sequence[Mapping],
                   config: Config, now: datetime, repeat: bool) -> tuple[str, str]:
    """Subject and body (Chinese) of a firing group: its new/raised flags, then those still open."""
    allf = [*new, *others]
    head = _head(labels, allf, config)
    crit = sum(1 for f in allf if f["level"] == "critical")
    tag = "【重复提醒】" if repeat else "【异常订单】"
    count = (f"{len(allf)} 条异常未处理" if repeat or not others
             else f"新增 {len(new)} 条，共 {len(allf)} 条未处理")
    subject = f"{tag}{head}：{count}" + (f"（严重 {crit}）" if crit else "")
    body = [head, ""]
    if new:
        body += [f"新增或升级 {len(new)} 条：", *_lines(_sort(new), config)]
    if others:
        if new:
            body.append("")
        body += [f"{'仍未处理' if new else '未处理'} {len(others)} 条：", *_lines(_sort(others), config)]
    return subject, "\n".join(body + _footer(now, config))


def resolved_message(labels: Mapping[str, str], flags: Sequence[Mapping], config: Config,
                     now: datetime) -> tuple[str, str]:
    head = _head(labels, flags, config)
    subject = f"【已处理】{head}：{len(flags)} 条异常已关闭"
    body = [head, "", f"已关闭 {len(flags)} 条：", *_lines(_sort(flags), config, closed=True)]
    return subject, "\n".join(body + _footer(now, config))


def store_message(store_id: str, flags: Sequence[Mapping], config: Config, now: datetime) -> tuple[str, str]:
    name = next((f.get("store_name") for f in flags if f.get("store_name")), "") or ""
    head = f"门店 {store_id}" + (f" {name}" if name else "")
    subject = f"【严重异常】{head}：{len(flags)} 条严重异常，请立即处理"
    body = [f"{head} 店长您好：", "", f"贵店有 {len(flags)} 条严重异常订单，请立即核查：",
            *_lines(_sort(flags), config)]
    return subject, "\n".join(body + _footer(now, config))
