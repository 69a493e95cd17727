"""People and their credentials: users, API tokens, login attempts.

Passwords are stored as werkzeug's salted hashes; API tokens only as SHA-256 digests, so a
leaked database leaks neither.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from store.models import ROLES, ApiToken, User, utcnow


class UserError(ValueError):
    """A user can't be created or changed as asked (message says why)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: what the authorisation checks read."""

    id: int
    name: str
    role: str
    departments: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    language: str = "zh"
    session_version: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _principal(row: Any) -> Principal:
    return Principal(id=row.id, name=row.name, role=row.role, departments=tuple(row.departments or ()),
                     stores=tuple(row.stores or ()), language=row.language or "zh",
                     session_version=int(getattr(row, "session_version", 1) or 1))


#: hashed once: an unknown name costs one hash check like a known one (no timing oracle)
_DUMMY_HASH = generate_password_hash("orderwatch: not a password of anyone")


def validate(role: str, departments: list[str], stores: list[str], known_departments: list[str]) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    bad = [d for d in departments if d not in known_departments]
    if bad:
        raise UserError(f"unknown department(s) {', '.join(bad)} (known: {', '.join(known_departments)})")
    if role == "reviewer" and not departments:
        raise UserError("a reviewer needs at least one --department")
    if role == "store_manager" and not stores:
        raise UserError("a store manager needs at least one --store")


def add_user(engine: Engine, name: str, password: str, role: str, *, departments: list[str] | None = None,
             stores: list[str] | None = None, language: str = "zh",
             known_departments: list[str] | None = None) -> Principal:
    departments, stores = list(departments or []), list(stores or [])
    validate(role, departments, stores, known_departments if known_departments is not None else departments)
    if not name or not name.strip():
        raise UserError("a user needs a name")
    if len(name) > 128 or "\x00" in name:
        raise UserError("name: at most 128 characters, no NUL bytes")
    if len(password or "") < 8:
        raise UserError("a password needs at least 8 characters")
    if language not in ("zh", "en"):
        raise UserError("language must be zh or en")
    t = User.__table__
    with engine.begin() as conn:
        if conn.execute(select(t.c.id).where(t.c.name == name)).first():
            raise UserError(f"user {name!r} already exists")
        conn.execute(insert(t), {"name": name, "password_hash": generate_password_hash(password), "role": role,
                                 "departments": departments, "stores": stores, "language": language,
                                 "active": True, "created_at": utcnow()})
    p = get_user(engine, name=name)
    assert p is not None
    return p


def update_user(engine: Engine, user_id: int, **values: Any) -> None:
    allowed = {"role", "departments", "stores", "language", "active"}
    bad = set(values) - allowed - {"password"}
    if bad:
        raise UserError(f"can't change {', '.join(sorted(bad))}")
    if "password" in values:
        pw = values.pop("password")
        if len(pw or "") < 8:
            raise UserError("a password needs at least 8 characters")
        values["password_hash"] = generate_password_hash(pw)
        values["session_version"] = User.__table__.c.session_version + 1  # ends every session
    if values:
        with engine.begin() as conn:
            conn.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(**values))


def end_sessions(engine: Engine, user_id: int) -> None:
    """Invalidate every session of the user (logout): their cookies carry the old version."""
    t = User.__table__
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == user_id).values(session_version=t.c.session_version + 1))


def get_user(engine: Engine, *, user_id: int | None = None, name: str | None = None) -> Principal | None:
    t = User.__table__
    cond = (t.c.id == user_id) if user_id is not None else (t.c.name == name)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(cond, t.c.active.is_(True))).first()
    return _principal(row) if row else None


def list_users(engine: Engine) -> list[dict[str, Any]]:
    t = User.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(t.c.id, t.c.name, t.c.role, t.c.departments, t.c.stores, t.c.language, t.c.active)
            .order_by(t.c.name)).mappings()]


def authenticate(engine: Engine, name: str, password: str) -> Principal | None:
    t = User.__table__
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.name == name, t.c.active.is_(True))).first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")  # same work as for a real name
        return None
    if not check_password_hash(row.password_hash, password or ""):
        return None
    return _principal(row)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, user_id: int, label: str | None = None) -> str:
    """A new API token for the user; returned once, only its digest is kept."""
    token = "ow_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(insert(ApiToken.__table__), {"user_id": user_id, "token_hash": _digest(token),
                                                  "label": label, "created_at": utcnow()})
    return token


def user_for_token(engine: Engine, token: str) -> Principal | None:
    tk, u = ApiToken.__table__, User.__table__
    with engine.begin() as conn:
        row = conn.execute(select(u).join(tk, tk.c.user_id == u.c.id)
                           .where(tk.c.token_hash == _digest(token), u.c.active.is_(True))).first()
        if row is not None:
            conn.execute(update(tk).where(tk.c.token_hash == _digest(token)).values(last_used_at=utcnow()))
    return _principal(row) if row else None
