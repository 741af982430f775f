"""The fast table filters agree with the Django filters they stand in for."""

from datetime import UTC, datetime

import pytest

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date
from django.utils import timezone

from core.templatetags.cohort_format import count, day


@pytest.mark.parametrize("value", [0, 7, 999, 1000, 12345, 1_000_000, -4200])
def test_count_matches_intcomma(value):
    assert count(value) == intcomma(value)


def test_count_shows_other_values_as_they_are():
    assert (count(None), count("n/a")) == ("", "n/a")


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_day_matches_the_date_filter_in_the_current_zone(settings, zone):
    settings.TIME_ZONE = zone
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    with timezone.override(zone):
        # In templates the date filter gets local time (expects_localtime); so does day.
        assert day(moment) == date(timezone.localtime(moment), "j M Y")
    assert day(None) == ""
