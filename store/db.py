"""Engines and migrations: one place that knows how to connect and bring a schema to head.

Why here and not in an ``alembic.ini``: the application is installed as a package and opened
by URL, so the Alembic configuration is built in code with ``script_location`` pointing at
the migrations shipped beside this file.  ``python -m store.migrate`` gives developers the
usual Alembic commands on top of the same configuration.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: arbitrary constant: serialises concurrent ``upgrade head`` runs on one PostgreSQL database
_PG_MIGRATION_LOCK = 0x0D_E7_C4_01
SQLITE_BUSY_TIMEOUT_MS = 30_000


#: the page cache of each SQLite connection, KiB (a limit, taken only as pages are used)
SQLITE_CACHE_KIB = 65_536


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory / URI forms."""
    u = make_url(url)
    db = u.database
    if not u.drivername.startswith("sqlite") or not db or db == ":memory:":
        return None
    if db.startswith("file:") or u.query.get("uri"):
        return None
    return Path(db)


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    """WAL lets the web app read while a scan writes; FKs are off by default in SQLite."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")  # answers 'memory' for in-memory dbs: fine
        cur.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster commits
        # a scan storing 300 k flags updates ten indexes at once: with the default 2 MiB page
        # cache their pages are evicted and re-read all the time (the write's CPU 1.5x)
        cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    finally:
        cur.close()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets its directory created and its pragmas set."""
    path = _sqlite_file(url)
    if path is not None:
        path.expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config without any ini file: script location is this package's migrations."""
    cfg = Config(stdout=sys.stdout)  # the current stdout, not the one at import time
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax for configparser: escape it (passwords may contain it)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run migrations to ``revision`` in one transaction (serialised on PostgreSQL)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(connection=conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an unmigrated database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
