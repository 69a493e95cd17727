"""Upload an export in the browser: the same scan as the command line, then its summary and
its quarantined rows as a CSV download.

Uploads are capped (``web.upload_max_rows``, ``_columns``, ``_decompressed_mb``,
``_seconds``; ``web.upload_max_mb`` for the body) and deleted after their scan unless
``web.keep_uploads``.  A scan's quarantine download holds raw rows (consignees, phones): the
uploader, admins and reviewers whose remit covers the whole scan get every row, anyone else
only the rows of stores they may see.
"""

from __future__ import annotations

import io
import re
import shutil
import time
import uuid
from pathlib import Path

import polars as pl
from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from ingest import IngestError, ReadLimits, TooLarge
from orderwatch.scan import ScanTimeout, run_scan
from orderwatch.spreadsheet import write_csv
from rules.loader import RulesInvalid
from store.models import Flag, FlagEvent
from store.users import Principal
from web import access, context
from web.i18n import data, said
from web.review import lang
from web.scan_report import context as report
from web.scan_report import translate_reason
from web.security import login_required, require

bp = Blueprint("upload", __name__)
ALLOWED = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".json", ".jsonl", ".ndjson", ".parquet"}
MAX_NAME_BYTES = 150   # file systems allow 255 bytes; Chinese takes 3 per character
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")


def safe_name(filename: str) -> str:
    """A short file name without path parts or controls; the extension is kept."""
    name = _UNSAFE.sub("_", Path(filename.replace("\\", "/")).name).strip(" .") or "upload"
    ext = Path(name).suffix.lower()[:16]
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem = name[: len(name) - len(Path(name).suffix)]
        while stem and len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES:
            stem = stem[:-1]
        name = (stem or "upload") + ext
    return name


def _save(field: str, folder: Path) -> Path | None:
    f = request.files.get(field)
    if f is None or not f.filename:
        return None
    name = safe_name(f.filename)
    ext = Path(name).suffix.lower()
    if ext not in ALLOWED:
        abort(400, description=said("%(name)s: orderwatch reads CSV, Excel (.xlsx), JSON, JSON lines and Parquet, "
                                    "not %(ext)s files.", name=data(name), ext=data(ext) if ext else _("extension-less")))
    path = folder / name
    f.save(path)
    return path


def scan_limits() -> tuple[ReadLimits, float | None]:
    """The caps for files from outside, and the deadline of their scan."""
    cfg = context.config()
    seconds = cfg.get("web.upload_max_seconds")
    return ReadLimits.from_config(cfg.get), (time.monotonic() + float(seconds) if seconds else None)


def recent_scans(n: int = 10) -> list[dict]:
    """The latest scans for the upload page (file names only, never server paths)."""
    return [dict(s, names=", ".join(Path(f).name for f in s["files"] or [])) for s in context.store().recent_scans(n)]


def discard(folder: Path) -> None:
    if not context.config().get("web.keep_uploads", False):
        shutil.rmtree(folder, ignore_errors=True)


@bp.route("/upload", methods=["GET", "POST"])
@require(access.can_upload)
def index():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return render_template("upload.html", scans=recent_scans())
    folder = Path(current_app.instance_path) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        orders = _save("file", folder)
        if orders is None:
            abort(400, description=_("Choose an orders file first."))
        catalog = _save("catalog", folder)
        limits, deadline = scan_limits()
        try:
            result = run_scan([orders], context.config(), catalog=catalog, limits=limits, deadline=deadline,
                              db_url=current_app.config["DATABASE_URL"], created_by=g.user.name)
        except TooLarge as exc:
            return _again(exc, folder, 413)
        except (ScanTimeout, RulesInvalid) as exc:
            return _again(exc, folder, 422)
        except IngestError as exc:
            return _again(exc, folder, 400)
    finally:
        discard(folder)
    return render_template("scan_result.html", **report(result, orders.name))


def _again(exc: Exception, folder: Path, status: int):  # type: ignore[no-untyped-def]
    """The upload page with why the file was refused (server paths left out), and the recent scans."""
    text = str(exc).replace(str(folder) + "/", "")
    return render_template("upload.html", error=translate_reason(text, lang()), scans=recent_scans()), status


def _scan_departments(scan_id: int) -> set[str]:
    f, e = Flag.__table__, FlagEvent.__table__
    with context.engine().connect() as conn:
        return set(conn.execute(select(f.c.department).distinct().join(e, e.c.flag_id == f.c.id)
                                .where(e.c.scan_id == scan_id)).scalars())


def _visible_stores(p: Principal, stores: list[str]) -> set[str]:
    """Of ``stores``, those ``p`` may see rows of."""
    if p.role == "store_manager":
        return set(stores) & set(p.stores)
    if p.role != "reviewer" or not stores:
        return set()
    f = Flag.__table__
    with context.engine().connect() as conn:
        return set(conn.execute(select(f.c.store_id).distinct().where(
            f.c.department.in_(list(p.departments)), f.c.store_id.in_(stores[:5000]))).scalars())


def _sees_all(p: Principal, scan: dict) -> bool:
    if p.role == "admin" or (scan.get("created_by") and scan["created_by"] == p.name):
        return True
    if p.role != "reviewer":
        return False
    mine = set(p.departments)
    depts = _scan_departments(int(scan["id"]))
    return set(context.config().departments) <= mine or bool(depts) and depts <= mine


@bp.get("/scans/<int:scan_id>/quarantine.csv")
@login_required
def quarantine(scan_id: int):  # type: ignore[no-untyped-def]
    scan = context.store().get_scan(scan_id)
    if scan is None or g.user.role == "rule_author":
        abort(404)
    df = context.store().quarantine_frame(scan_id, with_store=True)
    if not _sees_all(g.user, scan):
        stores = _visible_stores(g.user, df["store_id"].drop_nulls().unique().to_list())
        if not stores:
            abort(404)  # nothing of theirs in it: the scan is not theirs to know about
        df = df.filter(pl.col("store_id").is_in(list(stores)))
    buf = io.BytesIO()
    write_csv(df.select("source_file", "line", "reason", "raw").with_columns(
        pl.col("source_file").map_elements(lambda s: Path(s).name if s else s, return_dtype=pl.String)), buf)
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=quarantine_scan_{scan_id}.csv"})
