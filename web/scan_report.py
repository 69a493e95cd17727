"""What a scan did, for the upload result page: per file, what was read, accepted and
quarantined and why (top reasons with counts and the first rows), the field report when the
scan offers one, and the flags raised (with links, by rule title and kind name).

The page renders it from one partial, ``_scan_report.html``, which the CLI's idea of a field
report (headers → canonical fields, unused headers, missing fields, skipped detectors) fills
in as soon as a file's count carries one (``FileCount.report``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
from flask_babel import gettext
from markupsafe import Markup

from i18n import gettext_for
from i18n.formats import listing
from i18n.vocabulary import label
from web import review

DATA_ARGS = {"seen", "value", "sku", "file"}
FIRST_ROWS = 3
TOP_REASONS = 5


def _data(text: str) -> Markup:
    """Text from the file itself (headers, values, names): shown as it is, never translated."""
    return Markup('<span translate="no">{}</span>').format(text)


def translate_reason(text: str | None, lang: str) -> Markup:
    """A quarantine or ingest reason (written in Chinese by ingest/) in the reader's language;
    the file's own words in it (headers, values, file names) are marked as data."""
    if not text:
        return Markup("")
    gt = gettext_for(lang)

    def _(msg: str, **kw: Any) -> Markup:   # the message translated, its figures escaped and marked
        return Markup(gettext(msg, **{k: _data(v) if k in DATA_ARGS else Markup.escape(v) for k, v in kw.items()}))

    out = []
    for part in re.split(r"(?<!文件表头: )；(?!文件表头)", text):
        if m := re.fullmatch(r"缺少必需列: (.+?)；文件表头: (.*)", part):
            cols = listing([label("field", k, gt) for k in re.findall(r"\((\w+)\)", m.group(1))], lang)
            out.append(_("required column(s) missing: %(cols)s; the file's headers: %(seen)s", cols=cols,
                         seen=m.group(2)))
        elif m := re.fullmatch(r"必填字段为空: .*?\((\w+)\)", part):
            out.append(_("required field empty: %(field)s", field=label("field", m.group(1), gt)))
        elif m := re.fullmatch(r".*?无法解析: '(.*)' \((\w+)\)", part):
            out.append(_("%(field)s could not be read: “%(value)s”", field=label("field", m.group(2), gt),
                         value=m.group(1)))
        elif m := re.fullmatch(r"列数不符: 期望 (\d+) 列，实际 (\d+) 列", part):
            out.append(_("wrong number of fields: %(expected)s expected, %(found)s found", expected=m.group(1),
                         found=m.group(2)))
        elif m := re.fullmatch(r"SKU 重复: '(.*)'，以第 (\d+) 行为准", part):
            out.append(_("product %(sku)s listed twice; line %(line)s is kept", sku=m.group(1), line=m.group(2)))
        elif m := re.fullmatch(r"(.*): 无法识别文件编码.*", part):
            out.append(_("%(file)s: the text encoding could not be recognised (tried UTF-8, GBK, GB18030)",
                         file=m.group(1)))
        elif m := re.fullmatch(r"(.*): 文件不存在", part):
            out.append(_("%(file)s: the file does not exist", file=m.group(1)))
        else:
            out.append(_data(part))
    return Markup("; ").join(out)


def _quarantine(q: pl.DataFrame, path: str, lang: str) -> list[dict[str, Any]]:
    mine = q.filter(pl.col("source_file") == path) if q.height else q
    if mine.height == 0:
        return []
    top = mine.group_by("reason").agg(pl.len().alias("n"), pl.col("line").head(FIRST_ROWS).alias("lines"),
                                      pl.col("raw").head(FIRST_ROWS).alias("raws")).sort("n", descending=True)
    out = []
    for r in top.head(TOP_REASONS).iter_rows(named=True):
        rows = []
        for line, raw in zip(r["lines"], r["raws"]):
            try:
                cells = json.loads(raw) if raw else {}
            except ValueError:
                cells = {"": raw}
            rows.append({"line": line, "cells": cells if isinstance(cells, dict) else {"": raw}})
        out.append({"reason": translate_reason(r["reason"], lang), "n": r["n"], "rows": rows})
    return out


def context(result: Any, filename: str) -> dict[str, Any]:
    lang = review.lang()
    gt = gettext_for(lang)
    rules = review.rules_by_id()
    files = []
    for fc in result.files:
        files.append({"name": fc.path.rsplit("/", 1)[-1], "read": fc.read, "accepted": fc.accepted,
                      "quarantined": fc.quarantined, "report": getattr(fc, "report", None),
                      "quarantine": _quarantine(result.quarantine, fc.path, lang)})
    flags = []
    if result.flags.height:
        ids = result.flags["flag_id"].to_list() if "flag_id" in result.flags.columns else [None] * result.flags.height
        for fid, r in zip(ids, result.flags.iter_rows(named=True)):
            rule = rules.get(r["rule_id"])
            flags.append({"id": fid, "level": r["level"], "order_id": r["order_id"], "store_id": r["store_id"],
                          "title": (rule.title.get(lang) or rule.title.get("zh")) if rule else r["title"],
                          "kind": label("kind", r["kind"], gt), **_reason(r, rule, lang)})
        flags.sort(key=lambda f: ({"critical": 0, "warn": 1}.get(f["level"], 2), f["id"] or 0))
    by_kind: dict[str, int] = {}
    for f in flags:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
    return {"r": result, "filename": filename, "files": files, "flags": flags,
            "by_kind": sorted(by_kind.items(), key=lambda kv: -kv[1]), "no_lines": result.accepted == 0}


def _reason(row: dict[str, Any], rule: Any, lang: str) -> dict[str, str]:
    from rules import reasons

    args = json.loads(row["reason_args"]) if row.get("reason_args") else None
    text = reasons.render(row.get("reason_id"), args, lang, rule.reason if rule else None, markup=True)
    return {"reason": text if text is not None else (row.get("reason") or "")}
