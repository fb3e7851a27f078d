"""The campaign list and a campaign's page: what each resident is offered in each phase."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tests.builders import approve_verification
from votes.models import Campaign
from votes.permissions import ballot_refusal
from votes.services import ballot_cast, campaign_close, ledger_seal, results_publish, tally_compute

from .conftest import entry_ids

pytestmark = pytest.mark.django_db


def page(client: Client, campaign: Campaign) -> str:
    response = client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitor_is_asked_to_log_in_while_voting_is_open(make_campaign) -> None:
    campaign = make_campaign()
    html = page(Client(), campaign)
    assert reverse("account_login") in html
    assert reverse("votes:ballot", args=[campaign.pk]) not in html
    for entry in campaign.entries.all():
        assert entry.proposal.title in html


def test_eligible_resident_gets_the_ballot_and_then_a_thank_you(make_campaign, voter) -> None:
    campaign = make_campaign()
    client = Client()
    client.force_login(voter)
    assert reverse("votes:ballot", args=[campaign.pk]) in page(client, campaign)
    ballot_cast(campaign=campaign, voter=voter, choices=[(entry_ids(campaign)[0], None)], channel="web")
    html = page(client, campaign)
    assert reverse("votes:ballot", args=[campaign.pk]) not in html
    assert reverse("accounts:my_votes") in html


def test_resident_of_another_town_sees_why_they_cannot_vote(make_campaign, make_user, far_town) -> None:
    campaign = make_campaign()
    client = Client()
    outsider = make_user(municipality=far_town)
    client.force_login(outsider)
    html = page(client, campaign)
    assert reverse("votes:ballot", args=[campaign.pk]) not in html
    refusal = ballot_refusal(outsider, campaign)
    assert refusal is not None
    assert refusal.code == "not_resident"
    assert escape(str(refusal.message)) in html


def test_idea_phase_offers_the_idea_form(make_campaign) -> None:
    campaign = make_campaign(phase="ideas")
    assert reverse("votes:idea_new", args=[campaign.pk]) in page(Client(), campaign)


def test_closed_campaign_links_results_only_once_published(make_campaign, voter) -> None:
    campaign = make_campaign()
    ballot_cast(campaign=campaign, voter=voter, choices=[(entry_ids(campaign)[0], None)], channel="web")
    campaign_close(campaign=campaign)
    results_url = reverse("votes:campaign_results", args=[campaign.pk])
    html = page(Client(), campaign)
    assert results_url not in html
    assert reverse("votes:ledger_lookup", args=[campaign.pk]) in html
    tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)
    approve_verification(campaign)
    results_publish(campaign=campaign)
    assert results_url in page(Client(), campaign)
    assert results_url in Client().get(reverse("votes:campaign_list")).content.decode()


def test_campaign_list_groups_campaigns_by_phase(make_campaign) -> None:
    open_campaign = make_campaign()
    coming = make_campaign(phase="upcoming")
    html = Client().get(reverse("votes:campaign_list")).content.decode()
    assert html.index(open_campaign.title) < html.index(coming.title)


def test_campaign_page_query_count_does_not_grow_with_entries(make_campaign, voter, django_assert_max_num_queries):
    small, large = make_campaign(n_entries=2), make_campaign(n_entries=12)
    client = Client()
    client.force_login(voter)
    page(client, small)  # warm caches (session, content types)
    with django_assert_max_num_queries(12) as small_queries:
        page(client, small)
    with django_assert_max_num_queries(12) as large_queries:
        page(client, large)
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)
