"""Alembic environment for orderwatch.

Why a passed-in connection: ``Store.open`` runs ``upgrade head`` inside its own transaction
(and, on PostgreSQL, under an advisory lock) so it hands its connection over through
``config.attributes["connection"]``.  Without one (the ``python -m store.migrate`` command
line), an engine is made from ``sqlalchemy.url`` with the same SQLite settings as the app.
"""

from __future__ import annotations

from alembic import context

from store.models import Base

config = context.config
target_metadata = Base.metadata


def _ours(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Autogenerate leaves alone the table APScheduler's job store keeps in the same database."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_ours,
        # SQLite cannot ALTER most things; batch mode copies the table instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``--sql``) instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from store.repository import (
        make_engine,  # late: avoid a cycle when imported by Store
    )

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
