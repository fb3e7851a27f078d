"""Once voting has begun, officials cannot change what ballots were cast under."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from tests.builders import make_campaign, make_entry, make_municipality, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def official_client():
    town = make_municipality()
    official = make_user(role=User.Role.MUNICIPAL_OFFICIAL)
    official.scope_municipalities.add(town)
    client = Client()
    client.force_login(official)
    return client, town


def test_open_campaign_shows_method_budget_and_entries_read_only(official_client) -> None:
    client, town = official_client
    campaign = make_campaign(town)
    make_entry(campaign)
    page = client.get(f"/admin/votes/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    for name in ("method", "budget", "rule", "max_choices", "voting_opens_at", "municipality"):
        assert name not in form.fields, name
    assert "voting_closes_at" in form.fields  # an official may still extend an open vote
    entries = page.context["inline_admin_formsets"][0]
    assert not entries.has_add_permission
    assert not entries.has_change_permission
    assert not entries.has_delete_permission


def test_campaign_before_voting_stays_editable(official_client) -> None:
    client, town = official_client
    now = timezone.now()
    campaign = make_campaign(
        town, voting_opens_at=now + datetime.timedelta(days=5), voting_closes_at=now + datetime.timedelta(days=15)
    )
    form = client.get(f"/admin/votes/campaign/{campaign.pk}/change/").context["adminform"].form
    assert {"method", "budget", "rule"} <= set(form.fields)
