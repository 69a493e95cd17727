"""Jobs ``weekly_report`` (Mondays) and ``monthly_report`` (by the 5th): the summary workbook
of the last week or month, written under ``jobs.reports.dir`` and mailed to
``jobs.reports.receivers`` (attached; a webhook receiver gets the file's path)."""

from __future__ import annotations

from alerts.notify import enqueue
from orderwatch.summaries import last_month, last_week, write_summary


def run(ctx) -> str:  # type: ignore[no-untyped-def]
    period = last_month(ctx.now.date()) if ctx.name == "monthly_report" else last_week(ctx.now.date())
    path = write_summary(ctx.config, period, db_url=ctx.engine.url.render_as_string(hide_password=False))
    title = "月度异常分析" if period.kind == "monthly" else "周订单与异常汇总"
    queued = 0
    for receiver in ctx.config.get("jobs.reports.receivers") or []:
        if enqueue(ctx.engine, receiver=receiver, kind="report", group_key=period.label,
                   dedupe_key=f"report:{period.kind}:{period.label}:{receiver}",
                   subject=f"[orderwatch] {title} {period.label}",
                   body=f"{title}（{period.start} 至 {period.end}，不含）见附件：{path.name}\n文件：{path}",
                   payload={"attachments": [str(path)], "period": period.label}, now=ctx.utcnow):
            queued += 1
    return f"wrote {path.name}; {queued} messages queued"
