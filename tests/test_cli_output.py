"""What ``orderwatch scan`` prints when its output is not a terminal (a pipe, a log): titles on
their own line, no empty flag table, "raised" explained, option errors said once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orderwatch.cli import main


def test_scan_summary_in_a_pipe(tmp_path, site_config, capsys):
    orders = tmp_path / "o.csv"
    orders.write_text("order_id,store_id,created_at,sku,quantity\nA,S,2026-09-01 10:00,K,1\n", encoding="utf-8")
    assert main(["scan", str(orders)]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("扫描 scan #") and "as of" in first          # the title is one line
    assert "none — nothing abnormal" in out and "┃ by" not in out       # no empty flag table


def test_raised_is_explained(tmp_path, site_config, capsys):
    from orderwatch.demo import generate

    demo = generate(tmp_path / "d", stores=10, days=15, seed=2)
    assert main(["scan", *map(str, demo.order_files), "--catalog", str(demo.catalog), "--as-of",
                 demo.as_of.strftime("%Y-%m-%d %H:%M:%S")]) == 0
    out = capsys.readouterr().out
    assert "raised 升级 (already flagged by an earlier scan, now at a higher level" in out
    assert "┃ by" in out


def test_as_of_error_names_the_option_once(site_config):
    r = subprocess.run([sys.executable, "-m", "orderwatch.cli", "scan", "x.csv", "--as-of", "yesterday"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    error = r.stderr.strip().splitlines()[-1]
    assert error.count("--as-of") == 1 and "got 'yesterday'" in error


@pytest.mark.parametrize("text", ["2026-09-01", "2026-09-01 13:00", "2026-09-01 13:00:05"])
def test_as_of_forms(text):
    from orderwatch.cli import _as_of
    assert _as_of(text).year == 2026
