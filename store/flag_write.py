"""Writing flags in linear time: a few set-based statements, whatever the number of flags.

Why this shape: a scan of a backlog, a loose rule or a re-evaluation can raise hundreds of
thousands of flags, and the old path (lookups in ``IN (...)`` chunks, one UPDATE per raised
flag, then a second lookup for the ids) grew quadratically on SQLite.  Now:

1. the input is validated and reduced to one row per ``(rule_id, subject)`` (the most severe)
   in polars;
2. its keys are staged (``store.staging``) and one join to the unique index gives every
   stored key its id and level;
3. the keys not stored yet are loaded in one bulk insert with ids given up front
   (``store.flag_insert``); when a concurrent scan stored one of them in between, that load
   rolls back and one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` from the staged
   rows adds the rest (the keys the other scan stored are looked up again);
4. the raises (a more severe level than stored) are staged and applied by one ``UPDATE …
   FROM``, guarded by the level read in 2 (a flag changed meanwhile is left alone), returning
   what it changed;
5. the events of 3 and 4 go in in bulk (on SQLite the created ones as one ``INSERT … SELECT``
   from the flags just inserted: ``store.flag_insert.created_events``).

A flag never goes down by itself, so writing the same flags twice changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.bulk import insert_rows
from store.frames import FLAG_INPUT, FLAG_REQUIRED, select_as
from store.models import LEVEL_RANK, Flag, FlagEvent
from store.flag_insert import created_events, insert_new, stored_keys
from store.staging import staged

KEY = ["rule_id", "subject"]
_RAISED = ["level", "severity", "title", "reason", "reason_id", "reason_args", "evidence"]
IDS_SCHEMA = {"rule_id": pl.String, "subject": pl.String, "flag_id": pl.Int64}
OLD_SCHEMA = {**IDS_SCHEMA, "old_level": pl.String}   # a key, its id and its stored level


@dataclass
class FlagWrite:
    """What writing a set of flags did: counts, and the stored id of every input key."""

    created: int
    raised: int
    ids: pl.DataFrame   # rule_id, subject, flag_id — one row per distinct input key
    #: rule_id, subject of the keys this write created or raised (they have an event of this scan)
    changed: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={k: pl.String for k in KEY}))


def _json_text(flags: pl.DataFrame, name: str, check: bool = True) -> pl.Series:
    """The column as JSON text (validated when it arrives as text unless ``check`` is False;
    encoded when structured)."""
    if name not in flags.columns or flags.schema[name] == pl.Null:
        return pl.Series(name, [None] * flags.height, dtype=pl.String)
    col = flags.get_column(name)
    if isinstance(col.dtype, pl.Struct):
        return col.struct.json_encode().alias(name)
    if col.dtype != pl.String:
        return pl.Series(name, [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                for v in col.to_list()], dtype=pl.String)
    if not check:
        return col
    # polars' JSON path reader gives null for text that isn't JSON (and for a literal null):
    # only those few rows go through json.loads, for the error message
    suspect = (col.is_not_null() & col.str.json_path_match("$").is_null()).arg_true()
    for i in suspect.to_list():
        try:
            json.loads(col[i])
        except json.JSONDecodeError as exc:
            raise ValueError(f"flag {flags['subject'][i]!r}: {name} is not valid JSON: {exc}") from None
    return col


def flag_rows(flags: pl.DataFrame, json_encoded: bool = False) -> pl.DataFrame:
    """Validated input, one row per (rule_id, subject): the most severe, first seen among equals.

    ``json_encoded``: the JSON text columns were written by an encoder (``rules.flags``: polars'
    ``json_encode`` and ``json.JSONEncoder``), so they are not parsed again — for a loose scan's
    378 k flags that parse was ~2 s of CPU (the evidence alone is ~200 MB of text)."""
    missing = [c for c in FLAG_REQUIRED if c not in flags.columns]
    if missing:
        raise ValueError(f"upsert_flags: missing column(s) {', '.join(missing)}")
    bad = set(flags.get_column("level").unique().to_list()) - set(LEVEL_RANK)
    if bad:
        raise ValueError(f"upsert_flags: unknown level(s) {sorted(map(str, bad))}")
    if flags.select(pl.any_horizontal(pl.col(FLAG_REQUIRED).is_null()).any()).item():
        raise ValueError(f"upsert_flags: {', '.join(FLAG_REQUIRED)} must not be null")
    evidence = _json_text(flags, "evidence", check=not json_encoded)
    args = _json_text(flags, "reason_args", check=not json_encoded)
    df = select_as(flags.drop("reason_args", strict=False), FLAG_INPUT).with_columns(
        reason_args=args, evidence=evidence,
        severity=pl.col("level").replace_strict(LEVEL_RANK, return_dtype=pl.Int64) + 1)
    return (df.with_row_index("_i").sort(["severity", "_i"], descending=[True, False])
            .unique(KEY, keep="first").sort("_i").drop("_i"))


def _insert_ignore(conn: Connection):  # noqa: ANN202 - a dialect Insert
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(Flag.__table__)


def write_flags(conn: Connection, scan_id: int | None, flags: pl.DataFrame, *, actor: str,
                now: datetime, json_encoded: bool = False) -> FlagWrite:
    """Insert new flags, raise known ones, write their events; inside the caller's transaction.

    ``json_encoded``: see :func:`flag_rows` (the scan's own flags; text from elsewhere is parsed)."""
    if flags.is_empty():
        return FlagWrite(0, 0, pl.DataFrame(schema=IDS_SCHEMA))
    rows = flag_rows(flags, json_encoded)
    new = rows.with_columns(status=pl.lit("open"), version=pl.lit(1, dtype=pl.Int64),
                            created_at=pl.lit(now), updated_at=pl.lit(now),
                            scan_id=pl.lit(scan_id, dtype=pl.Int64))
    existing = stored_keys(conn, rows)
    created = insert_new(conn, new.join(existing.select(KEY), on=KEY, how="anti", maintain_order="left"))
    if created is None:       # a concurrent scan stored some of the keys meanwhile: skip those
        existing, created = _insert_skipping(conn, rows, new)
    raises = existing.join(rows, on=KEY).filter(
        pl.col("severity") > pl.col("old_level").replace_strict(LEVEL_RANK, return_dtype=pl.Int64) + 1)
    raised = _raise(conn, raises, now)
    # the created events made by the database from the flags themselves (store.flag_insert),
    # then the raises' (a few, each with its reason): the same rows in the same order as before
    made = created_events(conn, created.get_column("flag_id"), scan_id, actor, now)
    events = _events((created.head(0) if made else created).rename({"old_level": "level"}),
                     raises.filter(pl.col("flag_id").is_in(raised)), scan_id, actor, now)
    insert_rows(conn, FlagEvent.__table__, events, ignore_conflicts=False)
    changed = pl.concat([created.select(KEY), raises.filter(pl.col("flag_id").is_in(raised)).select(KEY)])
    return FlagWrite(created.height, len(raised), pl.concat([existing, created]).select(list(IDS_SCHEMA)), changed)


def _insert_skipping(conn: Connection, rows: pl.DataFrame, new: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored keys and the created ones when other writers race this one: the new rows
    staged whole, inserted with ``ON CONFLICT DO NOTHING … RETURNING``, the keys another
    writer stored looked up again."""
    f = Flag.__table__
    with staged(conn, new, like=f) as s:
        on = and_(f.c.rule_id == s.c.rule_id, f.c.subject == s.c.subject)
        existing = _frame(conn.execute(select(s.c.rule_id, s.c.subject, f.c.id, f.c.level)
                                       .select_from(s.join(f, on))).all(), OLD_SCHEMA)
        cols = list(new.columns)
        ins = (_insert_ignore(conn).from_select(cols, select(*(s.c[c] for c in cols)).where(~select(f.c.id).where(on).exists()))
               .on_conflict_do_nothing().returning(f.c.rule_id, f.c.subject, f.c.id, f.c.level))
        created = _frame(conn.execute(ins).all(), OLD_SCHEMA)
    if existing.height + created.height < rows.height:    # stored by another writer in between
        late = rows.select(KEY).join(pl.concat([existing, created]).select(KEY), on=KEY, how="anti")
        existing = pl.concat([existing, stored_keys(conn, late)])
    return existing, created


def _frame(rows: list, schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


def _raise(conn: Connection, raises: pl.DataFrame, now: datetime) -> list[int]:
    """Apply the level raises in one UPDATE … FROM; returns the ids it changed."""
    if raises.is_empty():
        return []
    f = Flag.__table__
    with staged(conn, raises.select("flag_id", "old_level", *_RAISED), like=f) as r:
        stmt = (update(f).where(f.c.id == r.c.flag_id, f.c.level == r.c.old_level)   # 0 rows: changed meanwhile
                .values(**{c: r.c[c] for c in _RAISED}, version=f.c.version + 1, updated_at=now)
                .returning(f.c.id))
        return [int(i) for i in conn.execute(stmt).scalars()]


def _events(created: pl.DataFrame, raised: pl.DataFrame, scan_id: int | None, actor: str,
            now: datetime) -> pl.DataFrame:
    """The audit rows: ``created`` for new flags, ``level_raised`` (with the reason) for raises."""
    common: dict[str, Any] = {"at": pl.lit(now), "actor": pl.lit(actor),
                              "scan_id": pl.lit(scan_id, dtype=pl.Int64),
                              "from_status": pl.lit(None, dtype=pl.String)}
    made = created.select(pl.col("flag_id"), **common, action=pl.lit("created"), to_status=pl.lit("open"),
                          from_level=pl.lit(None, dtype=pl.String), to_level=pl.col("level"),
                          note=pl.lit(None, dtype=pl.String))
    up = raised.select(pl.col("flag_id"), **common, action=pl.lit("level_raised"),
                       to_status=pl.lit(None, dtype=pl.String), from_level=pl.col("old_level"),
                       to_level=pl.col("level"), note=pl.col("reason"))
    return pl.concat([made, up])


__all__ = ["FlagWrite", "flag_rows", "write_flags"]
