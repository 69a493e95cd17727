"""From a raw table to what it means: the field mapping, the constants, and the field report.

``plan`` runs before any value is parsed (``inspect`` stops there); ``complete`` fills in what
only the parsed lines can tell (date formats, states, newest event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contracts import schema
from contracts.config import Source

from .csv_reader import sniff_separator
from .dates import DateSpec
from .profile import Profile, profiles
from .readers import RawTable
from .recognise import Recognition, recognise
from .report import FieldUse, FileReport, missing_fields

DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass
class Plan:
    """How one file will be read."""

    recognition: Recognition
    mapping: dict[str, str]                       # canonical field -> header
    constants: dict[str, object]                  # canonical field -> value for every row
    report: FileReport
    profiles: dict[str, Profile] = field(default_factory=dict)

    @property
    def derived_order_id(self) -> bool:
        """No order number column, but a buyer and an order time to identify orders by."""
        return "order_id" not in self.mapping and "order_id" not in self.constants and \
            "buyer_id" in self.mapping and "created_at" in self.mapping

    @property
    def missing_required(self) -> list[str]:
        return [f for f in schema.REQUIRED if f not in self.mapping and f not in self.constants
                and not (f == "order_id" and self.derived_order_id)]


def _delimiter(path: str, table: RawTable) -> str | None:
    if table.format != "csv":
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024).decode(table.encoding or "utf-8", errors="replace")
    except OSError:
        return None
    return sniff_separator(head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r"))


def second_phone(rec: Recognition, mapping: dict[str, str]) -> str | None:
    """A phone column the phone field did not take (a landline 固话 / 座机 / ``Tel`` beside the
    mobile 手机): its values fit a phone, so an order with an empty or invalid mobile still has
    a contact.  The first such column in the file."""
    if "phone" not in mapping:
        return None
    for h, cands in rec.candidates.items():
        if h not in mapping.values() and any(m.field == "phone" for m in cands):
            return h
    return None


def plan(table: RawTable, path: str, source: Source) -> Plan:
    """Recognise the headers (config, aliases, meaning, values) and decide the constants."""
    headers = table.headers
    profs = profiles(table.frame, headers)
    rec = recognise(headers, profs, source.columns)
    mapping = {f: h for f, h in rec.mapping.items() if f != "source"}
    constants = {f: v for f, v in source.defaults.items()
                 if f in schema.CANONICAL and f not in mapping and f != "source" and v is not None}
    sep = _delimiter(path, table)
    report = FileReport(path=path, format=table.format, encoding=table.encoding,
                        delimiter=DELIMITER_NAMES.get(sep, sep) if sep else None, rows=table.records)
    for f in schema.CANONICAL:
        if f in mapping:
            m = rec.matches[f]
            report.fields.append(FieldUse(f, mapping[f], m.how, m.detail, list(profs[mapping[f]].samples[:3])
                                          if mapping[f] in profs else []))
        elif f in constants:
            report.fields.append(FieldUse(f, None, "default", f"sources[].defaults: {constants[f]!r}"))
    alt = second_phone(rec, mapping)
    if alt is not None:
        mapping["_phone_alt"] = alt
        report.fields.append(FieldUse("phone", alt, "derived", f"a second phone column beside '{mapping['phone']}' "
                                      "(固话 beside 手机): the contact is whichever holds a valid number"))
    if "_region" in mapping:
        report.fields.append(FieldUse("province", mapping["_region"], "derived",
                                      "province, city and district split from one column"))
    if "order_id" not in mapping and "order_id" not in constants and "buyer_id" in mapping \
            and "created_at" in mapping:
        # no order number: an order is one buyer's purchase at one moment
        report.fields.append(FieldUse("order_id", None, "derived",
                                      f"no order number column: one buyer's purchase at one time "
                                      f"({mapping['buyer_id']} + {mapping['created_at']})"))
        report.notes.append("no order number column: orders are identified by buyer and order time")
    if "store_id" not in mapping and "store_id" not in constants and "store_name" in mapping:
        # a store column of names only (店铺名称 of a multi-shop export): the name is the store's key
        report.fields.append(FieldUse("store_id", mapping["store_name"], "derived", "from the store name"))
        report.notes.append(f"no store code column: the store name ('{mapping['store_name']}') is the store's key")
    elif "store_id" not in mapping and "store_id" not in constants:
        constants["store_id"] = source.name
        report.store_note = (f"no store column: the whole file is one store, '{source.name}' "
                             "(the source's name; set sources[].defaults.store_id to name it)")
        report.fields.append(FieldUse("store_id", None, "default", "the whole file is one store"))
    if "sku" not in mapping and "product_name" in mapping:
        report.sku_note = f"no SKU column: the product name ('{mapping['product_name']}') is the SKU key"
        report.fields.append(FieldUse("sku", mapping["product_name"], "derived", "from the product name"))
    elif "sku" not in mapping and "sku" not in constants:
        report.one_line_per_order = True
        report.sku_note = "no SKU or product column: one line per order; line detectors do not judge this file"
    report.unused = {h: why for h, why in rec.unused.items() if h != alt}
    report.samples = {h: list(p.samples) for h, p in profs.items()}
    report.ambiguous = [h for h in rec.ambiguous() if h != alt]
    report.candidates = {h: [f"{m.field} ({m.how}, {m.score:.0f})" for m in sorted(ms, key=lambda m: -m.score)]
                         for h, ms in rec.candidates.items()}
    for h, rs in rec.rejected.items():
        report.candidates.setdefault(h, []).extend(f"{f} (refused: {why})" for f, why in rs)
    result = Plan(rec, mapping, constants, report, profs)
    report.missing = missing_fields(report.present)
    report.missing_required = {f: rec.closest(f) for f in result.missing_required}
    return result


def complete(report: FileReport, lines: pl.DataFrame, dates: dict[str, DateSpec],
             word_states: dict[str, dict[str, str | None]],
             state_counts: dict[str, int] | None = None) -> FileReport:
    """Add what the parsed lines tell: date formats, states, unknown status words, newest event."""
    report.accepted = lines.height
    report.quarantined = report.rows - lines.height
    report.dates = {f: spec.label for f, spec in dates.items()}
    if lines.height:
        if state_counts is None:
            state_counts = dict(lines.group_by("state").len().drop_nulls("state").iter_rows())
        report.states = dict(sorted(state_counts.items(), key=lambda r: -r[1]))
        for f, words in word_states.items():
            unknown = [w for w, s in words.items() if s is None]
            if unknown and f in lines.columns:
                vc = lines.filter(pl.col(f).is_in(unknown)).group_by(f).len().sort("len", descending=True)
                report.unknown_statuses.update({str(k): int(n) for k, n in vc.head(10).iter_rows()})
        events = [c for c in schema.EVENT_FIELDS if c in lines.columns]
        if events:
            report.newest_event = lines.select(pl.max_horizontal(pl.col(events).max())).item()
    if report.unknown_statuses:
        report.notes.append("status values not understood (add them under sources[].states): "
                            + ", ".join(f"{k} ({v})" for k, v in report.unknown_statuses.items()))
    return report


def display_name(path: str) -> str:
    return Path(path).name
