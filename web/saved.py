"""Saved queue filters: a user names the filter of the queue they are looking at and finds it
again in the filter bar (their own only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, g, redirect, request
from sqlalchemy import delete, insert, select

from store.models import SavedFilter, utcnow
from web import context
from web.security import login_required

bp = Blueprint("saved", __name__)
T = SavedFilter.__table__
KEEP = ("status", "kind", "rule_id", "level", "store_id", "assignee", "order_id", "date_from", "date_to", "sort")


def for_user(user_id: int) -> list[dict[str, Any]]:
    with context.engine().connect() as conn:
        rows = conn.execute(select(T.c.id, T.c.name, T.c.path, T.c.query).where(T.c.user_id == user_id)
                            .order_by(T.c.name)).mappings()
        return [dict(r, url=r["path"] + ("?" + r["query"] if r["query"] else "")) for r in rows]


@bp.post("/filters")
@login_required
def save():  # type: ignore[no-untyped-def]
    name = (request.form.get("name") or "").strip()[:80]
    back = urlsplit(request.form.get("back") or "/")
    path = back.path if back.path.startswith(("/queue/", "/stores")) else "/"
    query = urlencode([(k, v) for k, v in request.form.items() if k in KEEP and v.strip()])
    if name:
        with context.engine().begin() as conn:   # the same name again: the newer filter replaces it
            conn.execute(delete(T).where(T.c.user_id == g.user.id, T.c.name == name))
            conn.execute(insert(T), {"user_id": g.user.id, "name": name, "path": path, "query": query,
                                     "created_at": utcnow()})
    return redirect(path + ("?" + query if query else ""))


@bp.post("/filters/<int:filter_id>/delete")
@login_required
def remove(filter_id: int):  # type: ignore[no-untyped-def]
    with context.engine().begin() as conn:
        n = conn.execute(delete(T).where(T.c.id == filter_id, T.c.user_id == g.user.id)).rowcount
    if not n:
        abort(404)
    back = request.form.get("back") or "/"
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/")
