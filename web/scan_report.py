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
from web import review, skipped

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
        elif m := re.fullmatch(r"文件缺少必需列: (.+?)（见扫描摘要）", part):
            cols = listing([label("field", k, gt) for k in re.findall(r"\((\w+)\)", m.group(1))], lang)
            out.append(_("the file has no column for %(cols)s (see the file's report)", cols=cols))
        elif part.startswith("不是订单行: "):
            out.append(_("not an order line: no order time, state or quantity (a membership or service "
                         "record, say); not read as an order"))
        elif m := re.fullmatch(r"数量为空（订单未取消或退货）: .*?\((\w+)\)", part):
            out.append(_("quantity empty on a line that is not cancelled or returned"))
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
        elif (said_ := _reliability_reason(part, _, gt)) is not None:
            out.append(said_)
        else:
            out.append(_data(part))
    return Markup("; ").join(out)


def _reliability_reason(part: str, _: Any, gt: Any) -> Markup | None:
    """The reasons of issue 10's checks (reconciliation, decoding, ranges, caps), translated."""
    if m := re.fullmatch(r"引号没有闭合: 第 (\d+) 行起的字段一直延续到文件末尾", part):
        return _("a quote opened on line %(line)s never closes; the lines after it are quarantined one by one",
                 line=m.group(1))
    if m := re.fullmatch(r"位于第 (\d+) 行起没有闭合的引号内，未作为订单读取", part):
        return _("inside the quote opened on line %(line)s, which never closes; not read as an order",
                 line=m.group(1))
    if m := re.fullmatch(r"引号跨越第 (\d+)–(\d+) 行，其中的行本身就像完整的记录: 疑似多余的引号，这些行均未读取", part):
        return _("a quote runs over lines %(first)s–%(last)s, which look like whole records themselves: "
                 "probably a stray quote; none of them was read", first=m.group(1), last=m.group(2))
    if m := re.fullmatch(r"位于第 (\d+) 行起的跨行引号内，本身像一条完整的记录", part):
        return _("inside the quote opened on line %(line)s, though it looks like a whole record", line=m.group(1))
    if m := re.fullmatch(r"无法按 (\S+) 解码: 文件第 (\d+) 字节附近为 (.*)", part):
        return _("could not be decoded as %(encoding)s: the bytes near offset %(offset)s are %(bytes)s",
                 encoding=m.group(1), offset=m.group(2), bytes=m.group(3))
    if m := re.fullmatch(r".*?超出范围 \((\d+)–(\d+) 年\): (.*) \((\w+)\)", part):
        return _("%(field)s out of range (years %(lo)s–%(hi)s): %(value)s", field=label("field", m.group(4), gt),
                 lo=m.group(1), hi=m.group(2), value=m.group(3))
    if m := re.fullmatch(r".*?超出范围 \(绝对值不超过 (.*)\): (.*) \((\w+)\)", part):
        return _("%(field)s out of range (at most %(cap)s in size): %(value)s", field=label("field", m.group(3), gt),
                 cap=m.group(1), value=m.group(2))
    if m := re.fullmatch(r".*?含有 NUL 字节 \((\w+)\)", part):
        return _("%(field)s contains a NUL byte", field=label("field", m.group(1), gt))
    if m := re.fullmatch(r"公式没有缓存值: (.*)（请在 Excel 中重新计算并保存后再导出）", part):
        return _("formula without a stored value: %(cells)s (recalculate and save in Excel, then export again)",
                 cells=m.group(1))
    if m := re.fullmatch(r"JSON 嵌套超过 (\d+) 层|JSON 嵌套过深", part):
        return _("JSON nested too deeply")
    if m := re.fullmatch(r"JSON 格式错误: (.*)", part):
        return _("not valid JSON: %(detail)s", detail=m.group(1))
    if part == "JSON 记录不是对象 {...}":
        return _("the JSON record is not an object {…}")
    if m := re.fullmatch(r"(.*): 第 (\d+) 行表头的引号没有闭合，文件无法按 CSV 读取", part):
        return _("%(file)s: the quote opened in the header on line %(line)s never closes; the file cannot be "
                 "read as CSV", file=m.group(1), line=m.group(2))
    if m := re.fullmatch(r"(.*?): ?文件有 ([\d,]+) (行|列)，超过上限 ([\d,]+) (?:行|列) \((web\.\w+)\).*", part):
        return _("%(file)s: %(n)s %(what)s, more than the limit of %(cap)s (%(key)s)", file=m.group(1), n=m.group(2),
                 what=_("rows") if m.group(3) == "行" else _("columns"), cap=m.group(4), key=m.group(5))
    if m := re.fullmatch(r"(.*?): ?解压后 ([\d,]+) MB，超过上限 ([\d,]+) MB \((web\.\w+)\)", part):
        return _("%(file)s: %(n)s MB once unpacked, more than the limit of %(cap)s MB (%(key)s)", file=m.group(1),
                 n=m.group(2), cap=m.group(3), key=m.group(4))
    if m := re.fullmatch(r"扫描超过时间上限，已在「(.*)」阶段中止，未保存任何结果", part):
        return _("the scan ran past its time limit (web.upload_max_seconds) at “%(stage)s”; nothing was stored",
                 stage=m.group(1))
    return None


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
        report = fc.report.summary() if getattr(fc, "report", None) else None
        files.append({"name": fc.path.rsplit("/", 1)[-1], "read": fc.read, "accepted": fc.accepted,
                      "quarantined": fc.quarantined, "report": report,
                      "skipped": skipped.said(report.get("skipped", []), lang) if report else [],
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
