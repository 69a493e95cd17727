"""The current queue filter as the department's daily confirmation sheet (确认表): one row per
flag with its figures and a column for the decision, and the flagged orders' lines.

Written safely: every text cell is written as a string (never a formula or a link), so an order
id such as ``=HYPERLINK(...)`` stays text in Excel and in anything that reads the file.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, g, request
from flask_babel import gettext as _

from contracts.workbook import safe_workbook
from i18n import gettext_for
from i18n.vocabulary import label
from store.models import utcnow
from web import access, context, queries, review
from web.security import login_required

bp = Blueprint("export", __name__)
CAP = 5000


def _text(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, _("yes") if value else _("no"), fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _figures(flag: dict[str, Any], gt: Any) -> str:
    ev = flag.get("evidence")
    ev = json.loads(ev) if isinstance(ev, str) else (ev or {})
    parts = []
    for k, v in ev.items():
        if k in ("conditions", "level_condition", "comparison", "explains") or v is None:
            continue
        from i18n.vocabulary import feature_value
        shown = feature_value(k, v, review.lang())
        parts.append(f"{label('feature', k, gt)}: {shown:g}" if isinstance(shown, float) else
                     f"{label('feature', k, gt)}: {shown}")
    return "; ".join(parts)


def workbook(rows: list[dict[str, Any]], lines: dict[tuple[str | None, str | None], list[dict]], title: str) -> bytes:
    gt = gettext_for(review.lang())
    buf = io.BytesIO()
    wb = safe_workbook(buf, in_memory=True, default_date_format="yyyy-mm-dd hh:mm")
    head = wb.add_format({"bold": True, "bg_color": "#E2E8F0", "border": 1, "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    ws = wb.add_worksheet(_("Review sheet")[:31])
    ws.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
    ws.write_string(1, 0, _("Exported %(when)s, %(n)s flags", when=review.local_now(), n=len(rows)))
    cols = [(_("No."), 5), (_("Flag"), 8), (_("Level"), 8), (_("Rule"), 26), (_("Kind"), 14), (_("Store"), 10),
            (_("Store name"), 16), (_("Order"), 16), (_("Occurred"), 17), (_("Reason"), 60), (_("Figures"), 50),
            (_("Status"), 14), (_("Assignee"), 10), (_("SLA"), 14), (_("Decision"), 16), (_("Note"), 30)]
    for c, (name, width) in enumerate(cols):
        ws.write_string(3, c, name, head)
        ws.set_column(c, c, width)
    for i, r in enumerate(rows, start=1):
        values = [i, r["id"], r["level_label"], r["title_label"], r["kind_label"], r["store_id"], r["store_name"],
                  r["order_id"], r["occurred_at"], r["reason_text"].striptags(), _figures(r, gt), r["status_label"],
                  r["assignee"], r["sla"]["text"], None, None]
        for c, v in enumerate(values):
            _text(ws, 3 + i, c, v, wrap if c in (9, 10) else None)
    ws.freeze_panes(4, 2)
    ws.autofilter(3, 0, 3 + len(rows), len(cols) - 1)

    wl = wb.add_worksheet(_("Order lines")[:31])
    lcols = [(_("Flag"), 8), (_("Order"), 16), (_("Store"), 10), (_("Line"), 6), (_("Product code"), 14),
             (_("Product"), 24), (_("Quantity"), 9), (_("Unit price"), 10), (_("Amount"), 11), (_("Consignee"), 10),
             (_("Phone"), 14), (_("Address"), 36), (_("Order time"), 17)]
    for c, (name, width) in enumerate(lcols):
        wl.write_string(0, c, name, head)
        wl.set_column(c, c, width)
    n = 0
    for r in rows:
        for ln in lines.get((r["store_id"], r["order_id"]), []):
            n += 1
            address = " ".join(x for x in (ln.get("province"), ln.get("city"), ln.get("district"), ln.get("address")) if x)
            for c, v in enumerate([r["id"], ln["order_id"], ln["store_id"], ln["line_no"], ln["sku"],
                                   ln.get("product_name"), ln["quantity"], ln.get("unit_price"), ln.get("line_amount"),
                                   ln.get("consignee"), ln.get("phone"), address, ln.get("created_at")]):
                _text(wl, n, c, v)
    wl.freeze_panes(1, 0)
    wb.close()
    return buf.getvalue()


@bp.get("/export/queue.xlsx")
@login_required
def queue():  # type: ignore[no-untyped-def]
    if g.user.role not in ("admin", "reviewer", "store_manager"):
        abort(403)
    f = review.filters_from(request.args)
    mine = access.visible_departments(g.user, list(context.config().departments))
    if f.department and f.department not in mine:
        abort(404)
    if g.user.role == "store_manager" and f.store_id and f.store_id not in g.user.stores:
        abort(404)
    f.after = None
    rows, _next = queries.list_flags(context.engine(), g.user, f, CAP)
    review.decorate(rows, review.rules_by_id())
    engine = context.engine()
    lines = queries.orders_lines(engine, [(r["store_id"], r["order_id"]) for r in rows if r.get("order_id")],
                                 context.flagged_lines())
    name = context.config().department_name(f.department, review.lang()) if f.department else _("All stores")
    title = _("%(queue)s — review sheet of %(day)s", queue=name, day=review.local_day())
    data = workbook(rows, lines, title)
    stamp = utcnow().strftime("%Y%m%d")
    filename = f"orderwatch_{f.department or 'stores'}_{stamp}.xlsx"
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
