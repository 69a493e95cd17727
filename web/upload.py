"""Upload an export in the browser: the same scan as the command line, then its summary and
its quarantined rows as a CSV download."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from ingest import IngestError
from orderwatch.scan import run_scan
from rules.loader import RulesInvalid
from web import access, context
from web.i18n import data, said
from web.review import lang
from web.scan_report import context as report
from web.scan_report import translate_reason
from web.security import require

bp = Blueprint("upload", __name__)
ALLOWED = {".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl", ".ndjson", ".parquet"}


def _save(field: str, folder: Path) -> Path | None:
    f = request.files.get(field)
    if f is None or not f.filename:
        return None
    name = Path(f.filename).name
    ext = Path(name).suffix.lower()
    if ext not in ALLOWED:
        abort(400, description=said("%(name)s: orderwatch reads CSV, Excel (.xlsx), JSON, JSON lines and Parquet, "
                                    "not %(ext)s files.", name=data(name), ext=data(ext) if ext else _("extension-less")))
    # keep a readable (possibly Chinese) name: only path separators are dangerous here
    safe = name.replace("/", "_").replace("\\", "_") or secure_filename(name) or f"upload{ext}"
    path = folder / safe
    f.save(path)
    return path


@bp.route("/upload", methods=["GET", "POST"])
@require(access.can_upload)
def index():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return render_template("upload.html")
    folder = Path(current_app.instance_path) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    orders = _save("file", folder)
    if orders is None:
        abort(400, description=_("Choose an orders file first."))
    catalog = _save("catalog", folder)
    try:
        result = run_scan([orders], context.config(), catalog=catalog, db_url=current_app.config["DATABASE_URL"])
    except (IngestError, RulesInvalid) as exc:
        return render_template("upload.html", error=translate_reason(str(exc), lang())), 400
    return render_template("scan_result.html", **report(result, orders.name))


@bp.get("/scans/<int:scan_id>/quarantine.csv")
@require(access.can_upload)
def quarantine(scan_id: int):  # type: ignore[no-untyped-def]
    df = context.store().quarantine_frame(scan_id)
    buf = io.BytesIO()
    df.select("source_file", "line", "reason", "raw").write_csv(buf, include_bom=True)
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=quarantine_scan_{scan_id}.csv"})
