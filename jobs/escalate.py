"""Job ``escalate``: open flags past their department's ``ack_minutes`` rise a level, and the
escalation receiver hears about them — one message per department and run."""

from __future__ import annotations

from collections import defaultdict

from alerts.notify import enqueue
from store.escalation import escalate


def run(ctx) -> str:  # type: ignore[no-untyped-def]
    cfg = ctx.config
    ack = {k: int(v.get("ack_minutes", 240)) for k, v in cfg.departments.items()}
    done = escalate(ctx.engine, ack, ctx.utcnow)
    receiver = cfg.get("alerts.escalation_receiver")
    by_dept: dict[str, list[dict]] = defaultdict(list)
    for f in done:
        by_dept[f["department"]].append(f)
    queued = 0
    for dept, flags in sorted(by_dept.items()):
        if not receiver:
            break
        name = cfg.department_name(dept)
        lines = [f"- #{f['id']} [{f['from_level']} → {f['level']}] {f['title'] or f['rule_id']} · 门店 {f['store_id'] or '—'}"
                 f" · 订单 {f['order_id'] or '—'}：{f['reason'] or ''}" for f in flags]
        body = (f"{name}有 {len(flags)} 个异常在 {ack[dept]} 分钟内无人确认，已升级：\n" + "\n".join(lines))
        ids = sorted(f["id"] for f in flags)
        if enqueue(ctx.engine, receiver=receiver, kind="escalation", group_key=dept,
                   dedupe_key=f"escalation:{dept}:{','.join(map(str, ids))}",
                   subject=f"[orderwatch] 升级：{name} {len(flags)} 个异常超时未确认", body=body,
                   payload={"department": dept, "flag_ids": ids}, flag_ids=ids, now=ctx.utcnow):
            queued += 1
    return f"escalated {len(done)} flags; {queued} messages queued"
