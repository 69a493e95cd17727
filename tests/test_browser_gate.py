"""The browser tests skip where Chromium is absent (a user's fresh clone) and fail instead where
they are required (.ci/run sets ORDERWATCH_BROWSER_TESTS=required after installing Chromium)."""

import pytest

from tests import browser_support


def test_missing_chromium_skips_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_support, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv("ORDERWATCH_BROWSER_TESTS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is absent"):
        browser_support.require_browser()


def test_missing_chromium_fails_where_required(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_support, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("ORDERWATCH_BROWSER_TESTS", "required")
    with pytest.raises(pytest.fail.Exception, match="required"):
        browser_support.require_browser()


def test_screenshots_only_when_asked(monkeypatch, tmp_path):
    shots = []

    class Page:
        def screenshot(self, path, full_page):  # noqa: ANN001
            shots.append(path)

    monkeypatch.setattr(browser_support, "SCREENSHOTS", tmp_path)
    monkeypatch.delenv("ORDERWATCH_SCREENSHOTS", raising=False)
    browser_support.screenshot(Page(), "queue")
    assert shots == []
    monkeypatch.setenv("ORDERWATCH_SCREENSHOTS", "1")
    browser_support.screenshot(Page(), "queue")
    assert shots == [str(tmp_path / "queue.png")]
