"""Charts rendered on the server as SVG: pygal for the dashboard, a small hand-drawn line for a
store's recent days on the flag page.  Nothing is fetched from elsewhere (no CDN), and every
word on them is translated: pygal's inline script (its tooltips' config) is dropped, because
the page's Content-Security-Policy allows no inline script and nothing here needs it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import escape

import polars as pl
import pygal
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from contracts.config import Config, history_dir_for
from i18n import formats as fmt
from i18n.vocabulary import label
from store import History

PALETTE = ("#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b", "#a3e635",
           "#0ea5e9", "#f97316")
FONT = 'system-ui, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif'
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1f2937", foreground_strong="#111827",
              foreground_subtle="#6b7280", colors=PALETTE, font_family=FONT, label_font_family=FONT,
              major_label_font_family=FONT, legend_font_family=FONT, title_font_family=FONT,
              value_font_family=FONT, tooltip_font_family=FONT, no_data_font_family=FONT,
              label_font_size=12, major_label_font_size=12, legend_font_size=13, no_data_font_size=16)
_SCRIPT = re.compile(r"<script\b.*?</script>|<title>Pygal</title>", re.S)


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _base(kind: type, lang: str, **kw: object) -> pygal.graph.graph.Graph:
    return kind(js=[], disable_xml_declaration=True, style=STYLE, explicit_size=False, legend_at_bottom=True,
                no_data_text=_("No flags in this period"), value_formatter=lambda v: fmt.number(v, lang),
                truncate_legend=-1, truncate_label=-1, **kw)


def flags_per_day(rows: list[tuple[date, str, int]], start: date, end: date, lang: str) -> Markup:
    """Flags per day of occurrence over [start, end], stacked by kind, every day on the axis."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    chart = _base(pygal.StackedBar, lang, width=900, height=340, x_label_rotation=0 if len(days) <= 16 else 45,
                  show_minor_x_labels=len(days) <= 31, x_labels_major_every=max(1, len(days) // 12),
                  y_title=_("Flags"), x_title=_("Day the problem occurred"))
    chart.x_labels = [fmt.short_day(d, lang) for d in days]
    counts: dict[tuple[date, str], int] = {(d, k): n for d, k, n in rows}
    for kind in sorted({k for _, k, _ in rows}, key=lambda k: label("kind", k, _)):
        chart.add(label("kind", kind, _), [counts.get((d, kind)) for d in days])
    return _svg(chart)


def backlog(rows: list[dict], names: dict[str, str], lang: str) -> Markup:
    """Per department: open within the SLA, open past it (overdue), acknowledged."""
    chart = _base(pygal.HorizontalStackedBar, lang, width=900, height=120 + 44 * max(1, len(rows)),
                  x_title=_("Flags waiting"))
    chart.x_labels = [names.get(r["department"], r["department"]) for r in rows]
    chart.add(_("Open, within the SLA"), [r["open"] - r["overdue"] or None for r in rows])
    chart.add(_("Open, past the SLA"), [r["overdue"] or None for r in rows])
    chart.add(_("Acknowledged"), [r["acknowledged"] or None for r in rows])
    return _svg(chart)


def fp_rates(stats: dict[str, dict], titles: dict[str, str], lang: str) -> Markup | None:
    """False-positive rate per rule with its 95 % interval; only rules with enough resolutions."""
    judged = [(rid, s) for rid, s in stats.items() if not s["too_few"]]
    if not judged:
        return None
    judged.sort(key=lambda x: titles.get(x[0], x[0]))
    chart = _base(pygal.HorizontalBar, lang, width=900, height=120 + 40 * len(judged), range=(0, 1),
                  show_legend=False, x_title=_("False-positive rate (bars: 95% interval)"),
                  value_formatter=lambda v: fmt.percent(v, lang, 0, fraction=True))
    chart.x_labels = [titles.get(rid, rid) for rid, _s in judged]
    chart.add(_("False-positive rate"), [{"value": s["fp_rate"], "ci": {"low": s["ci"][0], "high": s["ci"][1]}}
                                         for _rid, s in judged])
    return _svg(chart)


def now_vs_change(rows: list[tuple[date, int, int]], start: date, end: date, lang: str,
                  labels: tuple[str, str] | None = None) -> Markup:
    """Flags per day of occurrence, side by side: the live rules and the change (a dry run), or
    any two series named by ``labels``."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    chart = _base(pygal.Bar, lang, width=900, height=300, x_label_rotation=0 if len(days) <= 16 else 45,
                  show_minor_x_labels=len(days) <= 31, x_labels_major_every=max(1, len(days) // 12),
                  y_title=_("Flags"), x_title=_("Day the problem occurred"))
    chart.x_labels = [fmt.short_day(d, lang) for d in days]
    counts = {d: (a, b) for d, a, b in rows}
    first, second = labels or (_("Now"), _("With the change"))
    chart.add(first, [counts.get(d, (0, 0))[0] or None for d in days])
    chart.add(second, [counts.get(d, (0, 0))[1] or None for d in days])
    return _svg(chart)


# -- the store's recent days (flag page) ----------------------------------------------------
def store_daily(config: Config, url: str, store_id: str, days: int = 60, window: int = 28) -> pl.DataFrame:
    """The store's daily quantity over its last ``days`` ordering days, with the trailing median
    and a ±1.4826·MAD band (the volume_surge baseline)."""
    lf = History(history_dir_for(url, config)).scan()
    daily = (
        lf.filter((pl.col("store_id") == store_id) & (pl.col("quantity") > 0))
        .group_by(pl.col("created_at").dt.date().alias("day")).agg(pl.col("quantity").sum().alias("qty"))
        .sort("day").collect()
    )
    if daily.height == 0:
        return daily
    prev = daily["qty"].shift(1)
    med = prev.rolling_median(window, min_samples=3)
    mad = (prev - med).abs().rolling_median(window, min_samples=3) * 1.4826
    return daily.with_columns(med.alias("baseline"), (med + mad).alias("upper"),
                              (med - mad).clip(lower_bound=0).alias("lower")).tail(days)


def line_chart(df: pl.DataFrame, mark: date | None, lang: str, width: int = 640, height: int = 200) -> Markup:
    if df.height == 0:
        return Markup("")
    pad = 30
    n = df.height
    top = max(float(df["qty"].max() or 1), float(df["upper"].max() or 0), 1.0)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(1, n - 1))

    def y(v: float | None) -> float:
        return height - pad - (height - 2 * pad) * ((v or 0) / top)

    band_up = [(x(i), y(v)) for i, v in enumerate(df["upper"]) if v is not None]
    band_lo = [(x(i), y(v)) for i, v in enumerate(df["lower"]) if v is not None]
    name, band, highest = _("Store daily quantity"), _("Usual range"), _("highest: %(n)s", n=fmt.number(top, lang))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(name)}">']
    if band_up:
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in band_up + band_lo[::-1])
        parts.append(f'<polygon points="{pts}" fill="#dbeafe" stroke="none"><title>{escape(band)}</title></polygon>')
    base = [(x(i), y(v)) for i, v in enumerate(df["baseline"]) if v is not None]
    if base:
        parts.append('<polyline fill="none" stroke="#60a5fa" stroke-dasharray="4 3" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in base) + '"/>')
    parts.append('<polyline fill="none" stroke="#1e3a8a" stroke-width="2" points="'
                 + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(df["qty"])) + '"/>')
    for i, (d, q) in enumerate(zip(df["day"], df["qty"])):
        hit = mark is not None and d == mark
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(q):.1f}" r="{5 if hit else 2.5}" '
                     f'fill="{"#dc2626" if hit else "#1e3a8a"}"><title>{escape(fmt.day(d, lang))}: '
                     f'{escape(fmt.number(q, lang))}</title></circle>')
    parts.append(f'<text x="{pad}" y="{pad - 10}" font-size="11">{escape(highest)}</text>')
    parts.append(f'<text x="{pad}" y="{height - 8}" font-size="11">{escape(fmt.day(df["day"][0], lang))}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">'
                 f'{escape(fmt.day(df["day"][-1], lang))}</text></svg>')
    return Markup("".join(parts))
