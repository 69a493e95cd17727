"""What was understood of one file: the field report the scan summary, ``inspect``, the API
and the upload page all show.

It is plain data (``FileReport.to_dict`` is JSON) so each front end renders it its own way:
the encoding and delimiter found, each used header and the canonical field it became (and
whether by config, alias, meaning or value), the date format of each time column, the headers
left unused and why, the canonical fields missing, the store and SKU fallbacks, the order
states found, the file's newest event and whether it is a backfill, and (filled in by the
layer that knows the detectors) which detectors cannot judge the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from contracts import schema

#: canonical fields worth naming when a file lacks them (the rest are rarely exported)
NOTABLE = (
    "store_id", "buyer_id", "sku", "product_name", "quantity", "unit_price", "line_amount",
    "order_amount", "paid_amount", "payment_method", "status", "paid_at", "confirmed_at",
    "picked_at", "shipped_at", "delivered_at", "ship_by", "deliver_by", "consignee", "phone",
    "province", "city", "district", "address",
)


@dataclass
class FieldUse:
    """One canonical field and where it came from."""

    field: str
    header: str | None       # None for a default or a derived field
    how: str                 # config | alias | meaning | value | default | derived
    detail: str = ""
    samples: list[str] = field(default_factory=list)


@dataclass
class FileReport:
    path: str
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    fields: list[FieldUse] = field(default_factory=list)
    unused: dict[str, str] = field(default_factory=dict)          # header -> why
    samples: dict[str, list[str]] = field(default_factory=dict)   # header -> a few values
    ambiguous: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)  # header -> other readings
    missing: list[str] = field(default_factory=list)
    missing_required: dict[str, list[str]] = field(default_factory=dict)  # field -> closest headers
    dates: dict[str, str] = field(default_factory=dict)           # field -> format found
    store_note: str | None = None
    sku_note: str | None = None
    one_line_per_order: bool = False
    states: dict[str, int] = field(default_factory=dict)          # canonical state -> lines
    unknown_statuses: dict[str, int] = field(default_factory=dict)  # raw status -> lines
    newest_event: datetime | None = None
    backfill: bool = False
    judged_as_of: datetime | None = None
    skipped_detectors: dict[str, str] = field(default_factory=dict)  # detector -> why
    skipped_needs: dict[str, list[list[str]]] = field(default_factory=dict)  # detector -> unmet needs
    notes: list[str] = field(default_factory=list)

    @property
    def used(self) -> dict[str, FieldUse]:
        return {u.field: u for u in self.fields}

    @property
    def present(self) -> set[str]:
        """Canonical fields this file carries (mapped, defaulted or derived)."""
        return {u.field for u in self.fields}

    def missing_line(self) -> str | None:
        """The one line a file lacking a required field gets (instead of one per row)."""
        if not self.missing_required:
            return None
        parts = []
        for f, near in self.missing_required.items():
            hint = f"; closest unused headers: {', '.join(near)}" if near else ""
            parts.append(f"no column for {f}{hint}")
        return f"{self.path}: " + " | ".join(parts) + " — every row quarantined; map it under sources[].columns"

    def summary(self) -> dict:
        """The compact shape a page shows: ``mapping`` (header, field, how), ``unused`` headers,
        ``missing`` fields, ``skipped`` detectors (with why), plus the notes and the clock."""
        return {
            "mapping": [{"header": u.header or "—", "field": u.field, "how": u.how, "detail": self.dates.get(u.field)
                         or u.detail} for u in self.fields],
            "unused": list(self.unused),
            "missing": list(self.missing),
            "skipped": [{"detector": d.split(" (")[0], "name": d, "why": why,
                         "needs": self.skipped_needs.get(d, [])}
                        for d, why in self.skipped_detectors.items()],
            "missing_line": self.missing_line(),
            "notes": [n for n in (self.store_note, self.sku_note, *self.notes) if n],
            "states": dict(self.states),
            "backfill": self.backfill,
            "judged_as_of": self.judged_as_of.isoformat(sep=" ") if self.judged_as_of else None,
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("newest_event", "judged_as_of"):
            d[k] = d[k].isoformat(sep=" ") if d[k] else None
        return d


def missing_fields(present: set[str]) -> list[str]:
    return [f for f in NOTABLE if f not in present]


def is_backfill(newest: datetime | None, now: datetime, days: float) -> bool:
    """A file whose newest event is more than ``days`` before now is history, not live."""
    return newest is not None and now - newest > timedelta(days=days)


def set_clock(report: FileReport, now: datetime, days: float, as_of: datetime | None) -> datetime:
    """Decide the moment time-based rules judge this file at; recorded on the report."""
    report.backfill = as_of is None and is_backfill(report.newest_event, now, days)
    report.judged_as_of = report.newest_event if report.backfill else (as_of or now)
    return report.judged_as_of


EVENTS = schema.EVENT_FIELDS
