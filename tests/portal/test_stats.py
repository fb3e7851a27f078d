import datetime
import hashlib
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.stats import campaign_turnout, improved_spaces_by_year_and_municipality
from projects.models import Municipality, Proposal
from tests.builders import make_ballot, make_campaign, make_proposal, make_space, make_user
from votes.models import Campaign, Channel
from votes.services import tally_compute

pytestmark = pytest.mark.django_db


def completed(space, year, title):
    moment = timezone.make_aware(datetime.datetime(year, 6, 15, 12, 0))
    return make_proposal(space, status=Proposal.Status.COMPLETED, title=title, completed_at=moment)


def test_stats_numbers_equal_hand_computed_values(client, town, region):
    small = Municipality.objects.create(
        region=region, name="Берёзовский", slug="ber", population=1000, oktmo="65732000"
    )
    a, b = make_space(town, name="A"), make_space(town, name="B")
    c = make_space(small, name="C")
    completed(a, 2023, "a1")
    completed(a, 2023, "a2")  # the same space twice in a year counts once
    completed(b, 2023, "b1")
    completed(b, 2024, "b2")
    completed(c, 2024, "c1")
    make_proposal(c, status=Proposal.Status.UNDER_CONSTRUCTION, title="not yet")

    improved = improved_spaces_by_year_and_municipality()
    assert improved["years"] == [2023, 2024]
    rows = {row["name"]: row["counts"] for row in improved["rows"]}
    assert rows == {"Екатеринбург": [2, 1], "Берёзовский": [0, 1]}
    assert improved["totals"] == [2, 2]

    campaign = make_campaign(small, phase="ideas_closed", title="Берёзовский 2027")
    for n in range(3):
        make_ballot(
            campaign,
            make_user(f"v{n}@example.org", verified=True, municipality=small),
            channel=Channel.IMPORT,
            receipt_hash=hashlib.sha256(str(n).encode()).hexdigest(),
        )
    # Before the count is public, the page publishes no turnout for the campaign.
    assert "Берёзовский 2027" not in {row["title"] for row in campaign_turnout()}
    Campaign.objects.filter(pk=campaign.pk).update(closed_at=timezone.now())
    tally_compute(campaign_id=campaign.pk, final=True)
    assert "Берёзовский 2027" not in {row["title"] for row in campaign_turnout()}  # counted, not yet published
    Campaign.objects.filter(pk=campaign.pk).update(results_published_at=timezone.now())
    turnout = {row["title"]: row for row in campaign_turnout()}
    assert turnout["Берёзовский 2027"]["ballots"] == 3
    assert turnout["Берёзовский 2027"]["turnout_percent"] == Decimal("0.30")  # 3 / 1000

    page = client.get(reverse("stats")).content.decode()
    assert "0,30&nbsp;%" in page  # Russian decimal comma; the sign never wraps away from its number
    assert "Берёзовский" in page


def test_stats_page_uses_one_query_per_table(client, django_assert_max_num_queries, town):
    completed(make_space(town, name="A"), 2023, "a1")
    make_campaign(town, phase="ideas")
    with django_assert_max_num_queries(3):  # the session may add none: anonymous
        assert client.get(reverse("stats")).status_code == 200


def test_live_turnout_is_public_on_the_stats_page_exactly_when_the_results_page_shows_it(town):
    from votes.models import Tally
    from votes.results import public_tally, withheld_live_tally

    now = timezone.now()
    campaign = make_campaign(town, phase="ideas_closed", show_live_standings=True)
    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=now - datetime.timedelta(days=2))
    Tally.objects.create(campaign=campaign, kind=Tally.Kind.LIVE, status=Tally.Status.DONE, computed_at=now)

    # No ballot yet: the standings wait for enough ballots, the count of ballots does not.
    assert public_tally(campaign) is None
    assert withheld_live_tally(campaign) is not None
    assert campaign.title in {row["title"] for row in campaign_turnout()}

    # The window has ended but the clock has not stamped the close yet: standings are
    # no longer public on either page.
    Campaign.objects.filter(pk=campaign.pk).update(voting_closes_at=now - datetime.timedelta(minutes=1))
    campaign.refresh_from_db()
    assert withheld_live_tally(campaign) is None
    assert campaign.title not in {row["title"] for row in campaign_turnout()}
