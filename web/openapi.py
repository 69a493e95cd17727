"""The OpenAPI 3.1 document of /api/v1 — written by hand next to the routes it describes;
``tests/test_web_api.py`` checks that its paths and the app's routes are the same set."""

from __future__ import annotations

from typing import Any

from store.lifecycle import RESOLUTIONS, STATUSES

ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
FLAG = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "rule_id": {"type": "string"}, "kind": {"type": "string"},
        "level": {"type": "string", "enum": ["info", "warn", "critical"]}, "department": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "resolution": {"type": ["string", "null"], "enum": [*RESOLUTIONS, None]},
        "order_id": {"type": ["string", "null"]}, "store_id": {"type": ["string", "null"]},
        "store_name": {"type": ["string", "null"]}, "occurred_at": {"type": ["string", "null"]},
        "title": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]},
        "assignee": {"type": ["string", "null"]}, "version": {"type": "integer"},
        "created_at": {"type": "string"},
    },
}
ORDER_LINE = {
    "type": "object",
    "description": "One order line; keys are canonical field names (or any recognised header). "
                   "Required: order_id, store_id, created_at, sku, quantity.",
    "additionalProperties": True,
    "properties": {k: {} for k in ("order_id", "line_no", "store_id", "store_name", "created_at", "confirmed_at",
                                    "paid_at", "picked_at", "shipped_at", "delivered_at", "status", "sku",
                                    "product_name", "quantity", "unit_price", "line_amount", "order_amount",
                                    "paid_amount", "payment_method", "consignee", "phone", "province", "city",
                                    "district", "address", "postcode", "country")},
}


def _q(name: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": schema or {"type": "string"}}


def _err(desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


FILTERS = [
    _q("kind", "detector name"), _q("rule_id", "rule id"), _q("level", "info, warn or critical"),
    _q("store_id", "store"), _q("department", "department key"),
    _q("status", "open, acknowledged, resolved, dismissed, active (open+acknowledged, default) or all"),
    _q("assignee", "assigned person"), _q("order_id", "exact order id"),
    _q("date_from", "occurred on or after (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _q("date_to", "occurred on or before (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _q("sort", "new (default), old, severity, occurred", {"type": "string", "enum": ["new", "old", "severity", "occurred"]}),
    _q("after", "cursor: the `next` value of the previous page"),
    _q("limit", "page size, 1-500 (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}),
]


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "orderwatch API", "version": "1",
                 "description": "Push order lines, read flags, move flags through their lifecycle."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from `orderwatch users token NAME`"}},
            "schemas": {"Error": ERROR, "Flag": FLAG, "OrderLine": ORDER_LINE},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/orders": {"post": {
                "summary": "Push order lines (same validation and quarantine as files)",
                "parameters": [_q("source", "read the lines as this configured source")],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/OrderLine"}}},
                    "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}},
                }},
                "responses": {
                    "200": {"description": "scanned", "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["scan_id", "read", "accepted", "quarantined", "flags", "quarantine"],
                        "properties": {
                            "scan_id": {"type": "integer"}, "read": {"type": "integer"},
                            "accepted": {"type": "integer"}, "quarantined": {"type": "integer"},
                            "reconciled": {"type": "boolean", "description": "read = accepted + quarantined = "
                                           "the records counted without the parser"},
                            "mismatches": {"type": "array", "items": {"type": "string"}},
                            "new_lines": {"type": "integer"}, "flags_created": {"type": "integer"},
                            "late_done": {"type": "integer"},
                            "flags": {"type": "array", "items": {"type": "object"}},
                            "quarantine": {"type": "array", "items": {"type": "object", "properties": {
                                "line": {"type": "integer"}, "reason": {"type": "string"}}}},
                            "files": {"type": "array", "description": "what was understood of the body "
                                      "(ingest.report.FileReport): fields used and how, dates, unused "
                                      "headers, missing fields, states, detectors that could not judge it",
                                      "items": {"type": "object"}},
                        }}}}},
                    "400": _err("the body isn't a JSON array of objects or JSON lines, or `source` is unknown"),
                    "401": _err("no or unknown token"), "403": _err("this user may not push orders"),
                    "413": _err("the body is larger than web.upload_max_mb (whatever its transfer encoding), "
                                "or has more rows or columns than web.upload_max_rows / _columns"),
                    "422": _err("the rule files are broken (`problems` lists each mistake) or the scan ran past "
                                "web.upload_max_seconds; nothing was stored"),
                }}},
            "/api/v1/flags": {"get": {
                "summary": "Flags in the caller's remit, with the queue filters (keyset pagination)",
                "parameters": FILTERS,
                "responses": {
                    "200": {"description": "a page", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["flags", "next"],
                        "properties": {"flags": {"type": "array", "items": {"$ref": "#/components/schemas/Flag"}},
                                       "next": {"type": ["string", "null"]}}}}}},
                    "400": _err("a filter can't be understood"), "401": _err("no or unknown token"),
                }}},
            "/api/v1/flags/{flag_id}": {"get": {
                "summary": "One flag with its evidence and audit events",
                "parameters": [{"name": "flag_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {"description": "the flag", "content": {"application/json": {"schema": {
                        "allOf": [{"$ref": "#/components/schemas/Flag"}, {"type": "object", "properties": {
                            "evidence": {"type": "object"}, "events": {"type": "array", "items": {"type": "object"}}}}]}}}},
                    "401": _err("no or unknown token"), "404": _err("no such flag in the caller's remit"),
                }}},
            "/api/v1/flags/{flag_id}/transition": {"post": {
                "summary": "Change a flag's status (optimistic concurrency on `version`)",
                "parameters": [{"name": "flag_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["to_status", "version"],
                    "properties": {"to_status": {"type": "string", "enum": list(STATUSES)},
                                   "version": {"type": "integer"},
                                   "resolution": {"type": "string", "enum": list(RESOLUTIONS)},
                                   "note": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "changed", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"},
                                                         "version": {"type": "integer"}}}}}},
                    "400": _err("invalid body or transition"), "401": _err("no or unknown token"),
                    "403": _err("not allowed for this user"), "404": _err("no such flag in the caller's remit"),
                    "409": _err("the flag changed since `version` was read"),
                }}},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }
