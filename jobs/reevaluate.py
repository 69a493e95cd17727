"""Job ``reevaluate``: every stage's clock (the time-based rules: review, picking, hand-over,
shipment, delivery, refund) re-judged against "now", on the open set of the last week
(``orderwatch.open_orders``)."""

from __future__ import annotations

from orderwatch.reevaluate import reevaluate


def run(ctx) -> str:  # type: ignore[no-untyped-def]
    r = reevaluate(ctx.config, ctx.now, db_url=ctx.engine.url.render_as_string(hide_password=False))
    return (f"judged {r.orders_judged} open orders ({r.lines_read} lines from {r.partitions_read} history "
            f"partitions): {r.flags_found} flags, {r.flags_created} new, {r.flags_raised} raised")
