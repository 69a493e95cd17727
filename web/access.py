"""Who may see and do what.  One place, so every page and the API ask the same questions.

admin         everything
reviewer      the flags of their departments: see and act
store_manager the flags of their stores: see, comment, confirm a correction; nothing else
rule_author   the rules pages (no flags)

A flag outside someone's remit is answered as "not found", never "forbidden", so ids can't be
probed to learn what exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, false, true

from store.models import Flag
from store.users import Principal

FLAGS = Flag.__table__


def flag_scope(p: Principal, table: Table | None = None) -> ColumnElement[bool]:
    """SQL condition selecting the flags ``p`` may see (or the rows of another table with a
    department and a store, such as the SLA reports)."""
    t = FLAGS if table is None else table
    if p.role == "admin":
        return true()
    if p.role == "reviewer":
        return t.c.department.in_(list(p.departments)) if p.departments else false()
    if p.role == "store_manager":
        return t.c.store_id.in_(list(p.stores)) if p.stores else false()
    return false()


def can_see(p: Principal, flag: dict[str, Any]) -> bool:
    if p.role == "admin":
        return True
    if p.role == "reviewer":
        return flag["department"] in p.departments
    if p.role == "store_manager":
        return flag["store_id"] in p.stores
    return False


def can_act(p: Principal, flag: dict[str, Any]) -> bool:
    """Acknowledge, resolve, dismiss, reopen, assign."""
    return p.role == "admin" or (p.role == "reviewer" and flag["department"] in p.departments)


def can_comment(p: Principal, flag: dict[str, Any]) -> bool:
    return can_act(p, flag) or (p.role == "store_manager" and flag["store_id"] in p.stores)


def can_confirm_correction(p: Principal, flag: dict[str, Any]) -> bool:
    """A store manager closes their own store's flag as corrected (and nothing else)."""
    return p.role == "store_manager" and flag["store_id"] in p.stores and flag["status"] in ("open", "acknowledged")


def allowed_transition(p: Principal, flag: dict[str, Any], to_status: str, resolution: str | None) -> bool:
    if can_act(p, flag):
        return True
    return can_confirm_correction(p, flag) and to_status == "resolved" and resolution == "corrected"


def can_see_rules(p: Principal) -> bool:
    return p.role in ("admin", "rule_author")


def can_edit_rules(p: Principal) -> bool:
    return p.role in ("admin", "rule_author")


def can_upload(p: Principal) -> bool:
    return p.role in ("admin", "reviewer")


def can_admin(p: Principal) -> bool:
    return p.role == "admin"


def visible_departments(p: Principal, all_departments: list[str]) -> list[str]:
    if p.role == "admin":
        return list(all_departments)
    if p.role == "reviewer":
        return [d for d in all_departments if d in p.departments]
    return []
