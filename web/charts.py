"""Small server-rendered SVG charts (no JavaScript, nothing fetched from elsewhere)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

import polars as pl

from contracts.config import Config, history_dir_for
from store import History

PALETTE = ["#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b", "#a3e635"]


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


def line_chart(df: pl.DataFrame, mark: date | None = None, width: int = 640, height: int = 200) -> str:
    if df.height == 0:
        return ""
    pad = 30
    xs = list(range(df.height))
    top = max(float(df["qty"].max() or 1), float(df["upper"].max() or 0), 1.0)
    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(1, len(xs) - 1))
    def y(v: float | None) -> float:
        return height - pad - (height - 2 * pad) * ((v or 0) / top)
    band_up = [(x(i), y(v)) for i, v in enumerate(df["upper"]) if v is not None]
    band_lo = [(x(i), y(v)) for i, v in enumerate(df["lower"]) if v is not None]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img">']
    if band_up:
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in band_up + band_lo[::-1])
        parts.append(f'<polygon points="{pts}" fill="#dbeafe" stroke="none"><title>baseline ±MAD</title></polygon>')
    base = [(x(i), y(v)) for i, v in enumerate(df["baseline"]) if v is not None]
    if base:
        parts.append('<polyline fill="none" stroke="#60a5fa" stroke-dasharray="4 3" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in base) + '"/>')
    parts.append('<polyline fill="none" stroke="#1e3a8a" stroke-width="2" points="'
                 + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(df["qty"])) + '"/>')
    for i, (d, q) in enumerate(zip(df["day"], df["qty"])):
        hit = mark is not None and d == mark
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(q):.1f}" r="{5 if hit else 2.5}" '
                     f'fill="{"#dc2626" if hit else "#1e3a8a"}"><title>{escape(str(d))}: {q:g}</title></circle>')
    parts.append(f'<text x="{pad}" y="{pad - 10}" font-size="11">max {top:g}</text>')
    parts.append(f'<text x="{pad}" y="{height - 8}" font-size="11">{escape(str(df["day"][0]))}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">'
                 f'{escape(str(df["day"][-1]))}</text></svg>')
    return "".join(parts)


def stacked_bars(rows: list[tuple[date, str, int]], days: int = 30, width: int = 720, height: int = 220) -> str:
    """Flags per day, stacked by kind, with a legend."""
    if not rows:
        return ""
    end = max(d for d, _, _ in rows)
    dates = [end - timedelta(days=i) for i in range(days - 1, -1, -1)]
    kinds = sorted({k for _, k, _ in rows})
    counts = {(d, k): n for d, k, n in rows}
    totals = [sum(counts.get((d, k), 0) for k in kinds) for d in dates]
    top = max(max(totals), 1)
    pad, bw = 30, (width - 60) / len(dates)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height + 20 * len(kinds)}">']
    for i, d in enumerate(dates):
        y0 = height - pad
        for j, k in enumerate(kinds):
            n = counts.get((d, k), 0)
            if not n:
                continue
            h = (height - 2 * pad) * n / top
            y0 -= h
            parts.append(f'<rect x="{pad + i * bw:.1f}" y="{y0:.1f}" width="{bw * 0.8:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{d} {escape(k)}: {n}</title></rect>')
    parts.append(f'<text x="{pad}" y="{pad - 10}" font-size="11">max {top}</text>')
    for j, k in enumerate(kinds):
        yy = height + 14 + 20 * j
        parts.append(f'<rect x="{pad}" y="{yy - 10}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{pad + 18}" y="{yy}" font-size="12">{escape(k)}</text>')
    parts.append("</svg>")
    return "".join(parts)
