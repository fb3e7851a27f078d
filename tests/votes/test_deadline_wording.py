"""Pages say the last moment a resident can vote, as a resident reads it."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from portal.templatetags.portal_tags import last_moment
from tests.builders import make_campaign, make_entry

pytestmark = pytest.mark.django_db

LOCAL = zoneinfo.ZoneInfo("Asia/Yekaterinburg")


def ru() -> Client:
    client = Client()
    client.cookies["django_language"] = "ru"
    return client


def _closing_next_new_year() -> datetime.datetime:
    year = timezone.localtime().year + 1
    return datetime.datetime(year, 1, 1, 0, 0, tzinfo=LOCAL)


def test_a_close_at_midnight_is_the_end_of_the_day_before() -> None:
    assert last_moment(datetime.datetime(2027, 1, 1, 0, 0, tzinfo=LOCAL)) == datetime.datetime(
        2026, 12, 31, 23, 59, tzinfo=LOCAL
    )
    # Any other time is shown as it is: "until 20:00".
    assert last_moment(datetime.datetime(2026, 12, 31, 20, 0, tzinfo=LOCAL)).hour == 20


def test_home_and_ballot_say_the_last_day_and_minute(voter, town) -> None:
    closes = _closing_next_new_year()
    campaign = make_campaign(town, voting_closes_at=closes, title="Голосование за дворы")
    make_entry(campaign)
    last_day = f"31 декабря {closes.year - 1}"
    home = ru().get("/").content.decode()
    assert f"Проголосовать можно до 23:59, {last_day}" in home
    assert f"1 января {closes.year}" not in home
    client = ru()
    client.force_login(voter)
    ballot = client.get(f"/campaigns/{campaign.pk}/ballot/").content.decode()
    assert f"Проголосовать можно до 23:59, {last_day}" in ballot
