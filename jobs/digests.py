"""Job ``store_digest``: each store manager with a contact gets one digest of their store's open
flags per day (critical ones are also announced at once by the notify job)."""

from __future__ import annotations

from sqlalchemy import select

from alerts.notify import enqueue
from alerts.settings import load_settings
from store.models import Flag

F = Flag.__table__


def run(ctx) -> str:  # type: ignore[no-untyped-def]
    contacts = load_settings(ctx.config).store_contacts     # the config's, and the store master's
    if not contacts:
        return "no store contacts configured"
    queued = 0
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(F.c.id, F.c.store_id, F.c.store_name, F.c.level, F.c.title, F.c.order_id,
                                   F.c.reason, F.c.status)
                            .where(F.c.store_id.in_(list(contacts)), F.c.status.in_(("open", "acknowledged")))
                            .order_by(F.c.store_id, F.c.severity.desc(), F.c.id)).mappings().all()
    by_store: dict[str, list] = {}
    for r in rows:
        by_store.setdefault(r["store_id"], []).append(r)
    day = ctx.now.date().isoformat()
    for store_id, flags in by_store.items():
        name = flags[0]["store_name"] or store_id
        lines = [f"- #{f['id']} [{f['level']}] {f['title']} · 订单 {f['order_id'] or '—'}：{f['reason'] or ''}"
                 for f in flags]
        body = f"{name}（{store_id}）当前有 {len(flags)} 个待处理异常：\n" + "\n".join(lines)
        ids = [f["id"] for f in flags]
        if enqueue(ctx.engine, receiver=f"store:{store_id}", kind="digest", group_key=store_id,
                   dedupe_key=f"digest:{store_id}:{day}", subject=f"[orderwatch] {name} 每日异常汇总 {day}",
                   body=body, payload={"store_id": store_id, "flag_ids": ids}, flag_ids=ids, now=ctx.utcnow):
            queued += 1
    return f"{queued} store digests queued"
