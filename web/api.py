"""The JSON API (bearer-token auth): push orders, read flags, move flags through their lifecycle.

Errors are ``{"error": code, "message": text}`` with a 4xx status; the OpenAPI document at
``/api/v1/openapi.json`` (web/openapi.py) describes exactly these routes.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from contracts.config import ConfigError
from ingest import IngestError, TooLarge
from orderwatch.scan import ScanTimeout, run_scan
from rules.loader import RulesInvalid
from store import lifecycle
from web import access, context, queries
from web.openapi import document
from web.upload import discard, scan_limits

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 500
FLAG_FIELDS = ("id", "rule_id", "kind", "level", "department", "status", "resolution", "order_id", "store_id",
               "store_name", "occurred_at", "title", "reason", "assignee", "version", "created_at")


def error(status: int, code: str, message: str, **extra: Any):  # type: ignore[no-untyped-def]
    return jsonify({"error": code, "message": message, **extra}), status


def _json_value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (datetime, date)) else v


def flag_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(row.get(k)) for k in FLAG_FIELDS}


@bp.before_request
def authenticate():  # type: ignore[no-untyped-def]
    if request.endpoint == "api.openapi":
        return None
    if g.user is None:
        return error(401, "unauthorized", "send 'Authorization: Bearer <token>' (orderwatch users token NAME)")
    return None


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(document())


def _parse_orders(body: bytes) -> tuple[list[Any] | None, str | None, str]:
    """(records, error message, format) from a JSON array or JSON lines body."""
    text = body.decode("utf-8-sig", errors="strict").strip()
    if not text:
        return None, "the body is empty: send a JSON array of order lines or JSON lines", ""
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", ""
        except RecursionError:
            return None, "not valid JSON: nested too deeply", ""
        bad = [i for i, x in enumerate(data) if not isinstance(x, dict)]
        if bad:
            return None, f"element {bad[0]} of the array is not an object", ""
        return data, None, "json"
    lines = text.splitlines()
    for i, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("{"):
            return None, f"line {i}: expected a JSON object (or send a JSON array)", ""
    return lines, None, "jsonl"


@bp.post("/orders")
def push_orders():  # type: ignore[no-untyped-def]
    if not access.can_upload(g.user):
        return error(403, "forbidden", "this token's user may not push orders")
    source = request.args.get("source") or None
    if source is not None:
        try:
            context.config().source_for("body", source)
        except ConfigError:
            known = ", ".join(s.name for s in context.config().sources) or "none"
            return error(400, "invalid_parameter", f"source: no configured source named {source!r} (known: {known})")
    try:
        records, problem, fmt = _parse_orders(request.get_data(cache=False))
    except UnicodeDecodeError:
        return error(400, "invalid_body", "the body must be UTF-8 JSON")
    if problem:
        return error(400, "invalid_body", problem)
    folder = Path(current_app.instance_path) / "api" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / f"orders.{fmt}"
    try:
        if fmt == "json":
            path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        else:
            path.write_text("\n".join(records) + "\n", encoding="utf-8")  # type: ignore[arg-type]
        limits, deadline = scan_limits()
        try:
            r = run_scan([path], context.config(), db_url=current_app.config["DATABASE_URL"], source=source,
                         limits=limits, deadline=deadline, created_by=g.user.name)
        except TooLarge as exc:
            return error(413, "too_large", str(exc).replace(str(path), "body"), field=exc.field)
        except ScanTimeout as exc:
            return error(422, "timeout", str(exc))
        except IngestError as exc:
            return error(400, "invalid_body", str(exc).replace(str(path), "body"))
        except RulesInvalid as exc:
            return error(422, "rules_invalid", "the rule files are broken: scans are refused until they are fixed",
                         problems=[str(p) for p in exc.problems])
    finally:
        discard(folder)
    quarantine = [{"line": q["line"], "reason": q["reason"]} for q in r.quarantine.iter_rows(named=True)]
    flags = [{k: _json_value(v) for k, v in row.items() if k != "evidence"} for row in r.flags.iter_rows(named=True)]
    files = [{**rep.to_dict(), "path": "body"} for rep in r.reports]
    return jsonify({"scan_id": r.scan_id, "read": r.read, "accepted": r.accepted, "quarantined": r.quarantined,
                    "reconciled": r.reconciled, "mismatches": r.mismatches, "new_lines": r.new_lines, "flags_created": r.flags_created, "late_done": r.late_done.height, "flags": flags,
                    "quarantine": quarantine, "files": files})


@bp.get("/flags")
def list_flags():  # type: ignore[no-untyped-def]
    try:
        f = queries.Filters.from_args(request.args)
        limit = int(request.args.get("limit", 50))
    except queries.BadFilter as exc:
        return error(400, "invalid_filter", str(exc))
    except ValueError:
        return error(400, "invalid_filter", "limit: expected a whole number")
    if not 1 <= limit <= MAX_LIMIT:
        return error(400, "invalid_filter", f"limit: between 1 and {MAX_LIMIT}")
    try:
        rows, nxt = queries.list_flags(context.engine(), g.user, f, limit)
    except queries.BadFilter as exc:
        return error(400, "invalid_filter", str(exc))
    return jsonify({"flags": [flag_json(r) for r in rows], "next": nxt})


@bp.get("/flags/<int:flag_id>")
def get_flag(flag_id: int):  # type: ignore[no-untyped-def]
    row = queries.get_flag(context.engine(), flag_id)
    if row is None or not access.can_see(g.user, row):
        return error(404, "not_found", f"flag {flag_id} not found")
    out = flag_json(row)
    out["evidence"] = row["evidence"] if isinstance(row["evidence"], dict) else json.loads(row["evidence"] or "{}")
    out["events"] = [{k: _json_value(v) for k, v in e.items()} for e in queries.flag_events(context.engine(), flag_id)]
    return jsonify(out)


@bp.post("/flags/<int:flag_id>/transition")
def transition(flag_id: int):  # type: ignore[no-untyped-def]
    row = queries.get_flag(context.engine(), flag_id)
    if row is None or not access.can_see(g.user, row):
        return error(404, "not_found", f"flag {flag_id} not found")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_body", "send a JSON object: {to_status, version, resolution?, note?}")
    to_status, version = body.get("to_status"), body.get("version")
    if not isinstance(to_status, str):
        return error(400, "invalid_body", "to_status: required, one of " + ", ".join(lifecycle.STATUSES))
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= 2**31 - 1:
        return error(400, "invalid_body", "version: required, the flag's version you read (an integer)")
    resolution, note = body.get("resolution"), body.get("note")
    if resolution is not None and not isinstance(resolution, str) or note is not None and not isinstance(note, str):
        return error(400, "invalid_body", "resolution and note must be strings")
    for field, value in (("to_status", to_status), ("resolution", resolution), ("note", note)):
        if value is not None and "\x00" in value:
            return error(400, "invalid_body", f"{field}: contains a NUL byte")
    if not access.allowed_transition(g.user, row, to_status, resolution):
        return error(403, "forbidden", "this user may not make that change to this flag")
    try:
        ch = lifecycle.transition(context.engine(), flag_id, actor=g.user.name, to_status=to_status,
                                  expected_version=version, resolution=resolution, note=note)
    except lifecycle.Conflict as exc:
        return error(409, "conflict", str(exc), current={"version": exc.current["version"],
                                                         "status": exc.current["status"]})
    except lifecycle.LifecycleError as exc:
        return error(400, exc.code, str(exc))
    return jsonify({"id": ch.flag_id, "status": ch.status, "version": ch.version})
