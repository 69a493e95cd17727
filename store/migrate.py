"""``python -m store.migrate [--url URL] <alembic command>``: Alembic without an alembic.ini.

Why: developers still want ``history``, ``current``, ``downgrade`` and ``revision
--autogenerate``; this reuses Alembic's own command line with the in-code configuration.
The URL defaults to $ORDERWATCH_DATABASE_URL, else the configured database.
"""

from __future__ import annotations

import os
import sys

from alembic.config import CommandLine

from store.db import alembic_config


def _default_url() -> str:
    env = os.environ.get("ORDERWATCH_DATABASE_URL")
    if env:
        return env
    from contracts.config import load_config

    return load_config().database_url


def main(argv: list[str] | None = None) -> int:
    """Parse ``--url`` then hand the rest to Alembic's command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    url = None
    if args[:1] == ["--url"] and len(args) >= 2:
        url, args = args[1], args[2:]
    elif args and args[0].startswith("--url="):
        url, args = args[0].split("=", 1)[1], args[1:]
    cli = CommandLine(prog="python -m store.migrate")
    options = cli.parser.parse_args(args)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(url or _default_url()), options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
