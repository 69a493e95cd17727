"""The translation layer itself: the catalog is complete and compiled, every key the code shows
has a name in the vocabulary, numbers and dates follow the reader's locale."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.config import load_config
from contracts.schema import CANONICAL
from detectors import REGISTRY
from i18n import formats, gettext, normalise
from i18n.catalog import check
from i18n.vocabulary import (
    ACTIONS_TO,
    EVENTS,
    FEATURES,
    FIELDS,
    KINDS,
    LEVELS,
    NOTIFICATION_STATUSES,
    RESOLUTIONS,
    ROLES,
    STATUSES,
)
from rules.loader import load_rules
from store import lifecycle
from store.models import LEVELS as STORE_LEVELS
from store.models import ROLES as STORE_ROLES


def test_catalog_is_complete_and_compiled():
    assert check() == []


def test_every_key_the_code_shows_has_a_name():
    assert set(REGISTRY) <= set(KINDS)
    assert set(CANONICAL) <= set(FIELDS)
    assert set(STORE_LEVELS) <= set(LEVELS) and set(STORE_ROLES) <= set(ROLES)
    assert set(lifecycle.STATUSES) <= set(STATUSES) and set(lifecycle.RESOLUTIONS) <= set(RESOLUTIONS)
    assert set(lifecycle.STATUSES) <= set(ACTIONS_TO)
    assert {"created", "level_raised", "transition", "assign", "comment", "escalated"} <= set(EVENTS)
    from alerts.notify import NOTIFICATION_STATUSES as SENT_STATES
    assert set(SENT_STATES) <= set(NOTIFICATION_STATUSES)
    for rule in load_rules(load_config(), include_disabled=True):
        features = REGISTRY[rule.detector].features(rule.params)
        assert set(features) <= set(FEATURES), (rule.id, set(features) - set(FEATURES))


def test_chinese_and_english_words():
    assert gettext("zh", "Volume surge") == "订购量激增" and gettext("en", "Volume surge") == "Volume surge"
    assert normalise("zh-CN") == "zh" and normalise("en_US") == "en" and normalise(None) == "zh"
    assert normalise("fr") == "zh"


def test_numbers_dates_and_durations_follow_the_locale():
    assert formats.number(1234.5, "zh") == "1,234.5" and formats.number(1234.0, "en") == "1,234"
    assert formats.number(None, "en") == "—" and formats.number(float("nan"), "zh") == "—"
    assert formats.percent(0.256, "en", fraction=True) == "25.6%"
    assert formats.day(date(2026, 9, 1), "zh") == "2026年9月1日" and formats.day(date(2026, 9, 1), "en") == "Sep 1, 2026"
    assert formats.moment(datetime(2026, 9, 1, 13, 5), "zh") == "2026年9月1日 13:05"
    assert formats.short_day(date(2026, 9, 1), "zh") == "9月1日" and formats.short_day(date(2026, 9, 1), "en") == "Sep 1"
    assert formats.duration(timedelta(minutes=80), "zh") == "1小时20分钟"
    assert formats.duration(timedelta(minutes=80), "en") == "1 hr 20 min"
    assert formats.duration(timedelta(days=3, minutes=5), "en") == "3 days"
    assert formats.listing(["省", "市", "区县"], "zh") == "省、市和区县"
