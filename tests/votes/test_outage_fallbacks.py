"""In-process checks of the fallbacks the fault tests rely on: a cache outage lets
ballots through (throttles fail open), a broker outage does not undo a commit."""

from __future__ import annotations

from unittest import mock

import pytest
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from votes.models import Campaign, Participation
from votes.services import campaign_close
from votes.throttles import PortalThrottle

pytestmark = pytest.mark.django_db


class DownCache:
    def get(self, *args, **kwargs):
        raise RedisConnectionError("Connection refused")

    set = get


def test_ballot_is_cast_when_the_throttle_cache_is_down(token_client, make_campaign, voter, ids, settings):
    settings.THROTTLE = True
    campaign = make_campaign()
    with mock.patch.object(PortalThrottle, "cache", DownCache()):
        response = token_client(voter).post(
            f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": ids(campaign)[0]}]}, format="json"
        )
    assert response.status_code == 201
    assert Participation.objects.filter(campaign=campaign, voter=voter).count() == 1


def test_close_commits_when_the_broker_is_down(make_campaign, django_capture_on_commit_callbacks, caplog):
    campaign = make_campaign()
    with (
        mock.patch("votes.tasks.tally_final.delay", side_effect=OperationalError("Connection refused")) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        campaign_close(campaign=campaign)
    assert delay.call_count == 1
    assert Campaign.objects.get(pk=campaign.pk).closed_at is not None
    assert "broker unavailable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_admins_recount_says_when_the_broker_refused_it(make_campaign, superuser, client):
    from django.urls import reverse

    from votes.admin import recount_refused_text

    campaign = make_campaign()
    client.force_login(superuser)
    with mock.patch("votes.tasks.tally_live.delay", side_effect=OperationalError("Connection refused")) as delay:
        response = client.post(
            reverse("admin:votes_campaign_changelist"),
            {"action": "recount_now", "_selected_action": [campaign.pk], "index": "0"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert delay.call_count == 1
    shown = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert shown == [("error", f"{campaign}: {recount_refused_text(f'manage.py tally {campaign.pk}')}")]


@pytest.mark.django_db(transaction=True)
def test_the_admins_recount_is_queued_once_the_broker_took_it(make_campaign, superuser, client):
    from django.urls import reverse

    campaign = make_campaign()
    client.force_login(superuser)
    with mock.patch("votes.tasks.tally_live.delay") as delay:
        response = client.post(
            reverse("admin:votes_campaign_changelist"),
            {"action": "recount_now", "_selected_action": [campaign.pk], "index": "0"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )

    delay.assert_called_once_with(campaign.pk)
    shown = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert shown == [("info", "A recount was queued for 1 campaign.")]
