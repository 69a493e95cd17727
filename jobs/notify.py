"""Job ``notify``: plan the messages flag changes call for (routing, grouping, silences), then
deliver what is due (retrying failures with backoff)."""

from __future__ import annotations

from alerts.notify import deliver, plan


def run(ctx) -> str:  # type: ignore[no-untyped-def]
    planned = plan(ctx.engine, ctx.config, ctx.utcnow)
    out = deliver(ctx.engine, ctx.config, ctx.utcnow)
    return f"planned {planned}; sent {out['sent']}, failed {out['failed']}, dead {out['dead']}"
