"""Reading flags for people: filtered queues with keyset pagination, detail, dashboard figures.

Keyset (seek) pagination: the next page starts after the last row's sort key, so page 1,000
costs what page 1 costs — an OFFSET would scan every skipped row.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dc_fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from store import flagged_lines
from store.flagged_lines import FlaggedLines
from store.models import Flag, FlagEvent
from store.users import Principal
from web.access import flag_scope
from web.i18n import date_from_input

F = Flag.__table__
LIST_COLUMNS = [F.c.id, F.c.rule_id, F.c.kind, F.c.level, F.c.severity, F.c.department, F.c.status,
                F.c.resolution, F.c.order_id, F.c.store_id, F.c.store_name, F.c.occurred_at, F.c.title,
                F.c.reason, F.c.reason_id, F.c.reason_args, F.c.assignee, F.c.version, F.c.created_at]
#: "severity" first: the triage order (most severe level, and within it the oldest flag first)
SORTS = ("severity", "new", "old", "occurred")
SEVERITIES = (3, 2, 1)
#: dates a filter may name (the store keeps no others; 9999-12-31 + 1 day overflows)
YEARS = (1900, 2100)
INT64_MAX = 2**63 - 1


class BadFilter(ValueError):
    """A filter value that can't be understood: ``(parameter, value)``."""

    def __init__(self, name: str, value: str, message: str | None = None) -> None:
        messages = {"sort": f"sort: use one of {', '.join(SORTS)}",
                    "after": f"after: not a cursor of this sort ({value!r})"}
        super().__init__(message or messages.get(name, f"{name}: expected YYYY-MM-DD, got {value[:40]!r}"))  # the API's wording
        self.name, self.value = name, value


@dataclass
class Filters:
    department: str | None = None
    kind: str | None = None
    rule_id: str | None = None
    level: str | None = None
    store_id: str | None = None
    status: str | None = None       # a status, "active" (open + acknowledged) or "all"
    assignee: str | None = None
    order_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "severity"
    after: str | None = None        # the cursor: sort key of the last row seen

    @classmethod
    def from_args(cls, args: Any) -> "Filters":
        """From request args (strings); empty values mean no filter."""
        def get(name: str) -> str | None:
            v = args.get(name)
            return v.strip() if isinstance(v, str) and v.strip() else None
        f = cls(**{k.name: get(k.name) for k in dc_fields(cls) if k.name not in ("date_from", "date_to", "sort")})
        for name in ("date_from", "date_to"):
            v = get(name)
            if v:
                try:
                    day = date_from_input(v)
                except ValueError:
                    raise BadFilter(name, v) from None
                if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
                    raise BadFilter(name, v, f"{name}: a date between {YEARS[0]} and {YEARS[1]}, got {v!r}")
                setattr(f, name, day)
        f.sort = get("sort") or "severity"
        if f.sort not in SORTS:
            raise BadFilter("sort", f.sort)
        if f.status is None:
            f.status = "active"
        return f

    def as_args(self) -> dict[str, str]:
        out = {}
        for k in dc_fields(self):
            v = getattr(self, k.name)
            if v not in (None, "") and k.name != "after":
                out[k.name] = v.isoformat() if isinstance(v, date) else str(v)
        return out


def _conditions(p: Principal, f: Filters) -> list[Any]:
    cond: list[Any] = [flag_scope(p)]
    for col in ("department", "kind", "rule_id", "level", "store_id", "assignee"):
        v = getattr(f, col)
        if v:
            cond.append(F.c[col] == v)
    if f.order_id:
        cond.append(F.c.order_id == f.order_id)
    if f.status == "active":
        cond.append(F.c.status.in_(("open", "acknowledged")))
    elif f.status and f.status != "all":
        cond.append(F.c.status == f.status)
    if f.date_from:
        cond.append(F.c.occurred_at >= datetime.combine(f.date_from, datetime.min.time()))
    if f.date_to:
        cond.append(F.c.occurred_at < datetime.combine(f.date_to + timedelta(days=1), datetime.min.time()))
    return cond


def _id(text: str) -> int:
    n = int(text)
    if not 0 <= n <= INT64_MAX:
        raise ValueError(text)
    return n


def _seek(f: Filters) -> tuple[list[Any], list[Any]]:
    """ORDER BY and the condition for rows after the cursor."""
    after: list[Any] = []
    try:
        if f.sort == "old":
            order = [F.c.id.asc()]
            if f.after:
                after.append(F.c.id > _id(f.after))
        elif f.sort == "severity":      # list_flags reads it one level at a time (index order)
            order = [F.c.severity.desc(), F.c.id.asc()]
            if f.after:
                sev, fid = (_id(x) for x in f.after.split(":"))
                after.append(or_(F.c.severity < sev, and_(F.c.severity == sev, F.c.id > fid)))
        elif f.sort == "occurred":
            order = [F.c.occurred_at.desc(), F.c.id.desc()]
            if f.after:
                at, fid = f.after.rsplit("|", 1)
                ts = datetime.fromisoformat(at)
                if not YEARS[0] <= ts.year <= YEARS[1]:
                    raise ValueError(at)
                after.append(or_(F.c.occurred_at < ts, and_(F.c.occurred_at == ts, F.c.id < _id(fid))))
        else:
            order = [F.c.id.desc()]
            if f.after:
                after.append(F.c.id < _id(f.after))
    except ValueError:
        raise BadFilter("after", (f.after or "")[:40]) from None
    return order, after


def _cursor(f: Filters, row: dict[str, Any]) -> str:
    if f.sort == "severity":
        return f"{row['severity']}:{row['id']}"
    if f.sort == "occurred":
        return f"{row['occurred_at'].isoformat() if row['occurred_at'] else ''}|{row['id']}"
    return str(row["id"])


def _by_severity(engine: Engine, p: Principal, f: Filters, limit: int) -> list[dict[str, Any]]:
    """The triage order one level at a time: each level's oldest first, read along the
    (department, severity, id) index instead of sorting every active flag."""
    start_sev, start_id = (_id(x) for x in f.after.split(":")) if f.after else (SEVERITIES[0], 0)
    if f.level:
        from store.models import LEVEL_RANK
        levels = [LEVEL_RANK.get(f.level, -9) + 1]
    else:
        levels = list(SEVERITIES)
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for sev in levels:
            if sev > start_sev or len(rows) >= limit + 1:
                continue
            cond = [*_conditions(p, f), F.c.severity == sev]
            if sev == start_sev and start_id:
                cond.append(F.c.id > start_id)
            stmt = select(*LIST_COLUMNS).where(*cond).order_by(F.c.id.asc()).limit(limit + 1 - len(rows))
            rows.extend(dict(r) for r in conn.execute(stmt).mappings())
    return rows


def list_flags(engine: Engine, p: Principal, f: Filters, limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """One page of flags and the cursor of the next page (None on the last page)."""
    try:
        if f.sort == "severity":
            rows = _by_severity(engine, p, f, limit)
        else:
            order, after = _seek(f)
            stmt = select(*LIST_COLUMNS).where(*_conditions(p, f), *after).order_by(*order).limit(limit + 1)
            with engine.connect() as conn:
                rows = [dict(r) for r in conn.execute(stmt).mappings()]
    except ValueError:
        raise BadFilter("after", f.after or "") from None
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(f, rows[-1]) if more and rows else None)


def similar_flags(engine: Engine, p: Principal, flag: dict[str, Any], cap: int = 500) -> list[dict[str, Any]]:
    """Active flags of the same rule and store as ``flag`` (itself included), oldest first."""
    if not flag.get("store_id"):
        return []
    stmt = (select(F.c.id, F.c.version, F.c.status, F.c.level, F.c.order_id, F.c.occurred_at)
            .where(flag_scope(p), F.c.rule_id == flag["rule_id"], F.c.store_id == flag["store_id"],
                   F.c.status.in_(("open", "acknowledged"))).order_by(F.c.id).limit(cap))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def next_unassigned(engine: Engine, p: Principal, departments: list[str], skip: set[int]) -> list[dict[str, Any]]:
    """Candidates for "take next": open, unassigned flags of ``departments``, highest level first,
    oldest first within it (a few, so a lost race can try the next)."""
    if not departments:
        return []
    stmt = (select(F.c.id, F.c.version).where(flag_scope(p), F.c.department.in_(departments),
                                               F.c.status == "open", F.c.assignee.is_(None),
                                               F.c.id.not_in(skip or {0}))
            .order_by(F.c.severity.desc(), F.c.id.asc()).limit(5))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def all_flag_ids(engine: Engine, p: Principal, f: Filters, cap: int = 5000) -> list[int]:
    """Ids of every flag the filter selects (for bulk actions), up to ``cap``."""
    stmt = select(F.c.id).where(*_conditions(p, f)).order_by(F.c.id).limit(cap)
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(stmt)]


def queue_counts(engine: Engine, p: Principal) -> dict[str, int]:
    """Active (open + acknowledged) flags per department within ``p``'s scope."""
    stmt = (select(F.c.department, func.count()).where(flag_scope(p), F.c.status.in_(("open", "acknowledged")))
            .group_by(F.c.department))
    with engine.connect() as conn:
        return {d: n for d, n in conn.execute(stmt)}


def get_flag(engine: Engine, flag_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(F).where(F.c.id == flag_id)).mappings().first()
    return dict(row) if row else None


def flag_events(engine: Engine, flag_id: int) -> list[dict[str, Any]]:
    e = FlagEvent.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(e).where(e.c.flag_id == flag_id).order_by(e.c.id)).mappings()]


def order_lines(engine: Engine, store_id: str | None, order_id: str | None,
                archive: FlaggedLines | None = None) -> list[dict[str, Any]]:
    """A flagged order's lines (``store.flagged_lines``: the scans' files, else the old table)."""
    if not order_id:
        return []
    return orders_lines(engine, [(store_id, order_id)], archive).get((store_id, order_id), [])


def orders_lines(engine: Engine, orders: list[tuple[str | None, str | None]], archive: FlaggedLines | None = None,
                 ) -> dict[tuple[str | None, str | None], list[dict[str, Any]]]:
    """Many orders' lines at once (an export), each scan's file read once."""
    return flagged_lines.order_lines(engine, archive, orders)


def related_flags(engine: Engine, p: Principal, flag: dict[str, Any], limit: int = 20) -> list[dict[str, Any]]:
    """Other flags on the same order, then the same store's most recent ones."""
    cond = [flag_scope(p), F.c.id != flag["id"]]
    same = []
    if flag.get("order_id"):
        same.append(and_(F.c.order_id == flag["order_id"], F.c.store_id == flag["store_id"]))
    if flag.get("store_id"):
        same.append(F.c.store_id == flag["store_id"])
    if not same:
        return []
    stmt = select(*LIST_COLUMNS).where(*cond, or_(*same)).order_by(F.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def assignees(engine: Engine, department: str) -> list[str]:
    """Who may take a flag of ``department``: active admins and the department's reviewers."""
    from store.models import User

    u = User.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(u.c.name, u.c.role, u.c.departments).where(u.c.active.is_(True))
                            .order_by(u.c.name)).all()
    return [name for name, role, depts in rows if role == "admin" or (role == "reviewer" and department in (depts or []))]
