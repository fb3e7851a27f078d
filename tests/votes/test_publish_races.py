"""Publication and a recount at the same moment, on PostgreSQL: published results always
stand on a finished, sealed final tally."""

from __future__ import annotations

import pytest

from tests.builders import approve_verification
from tests.concurrency import race
from tests.votes.counting_fixtures import campaign, cast
from votes import services
from votes.models import Campaign, Tally

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def counted_and_sealed() -> Campaign:
    obj = campaign(costs={"a": 60, "b": 50, "c": 30}, budget=100)
    cast(obj, "v1", {"a": 1, "b": 1})
    cast(obj, "v2", {"c": 1})
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    return obj


def assert_published_on_a_sealed_tally(obj: Campaign) -> None:
    obj.refresh_from_db()
    assert obj.results_published_at is not None
    final = Tally.objects.get(campaign=obj, kind=Tally.Kind.FINAL)
    assert final.status == Tally.Status.DONE, final.error
    assert final.ledger_head


def test_a_recount_during_publication_waits_and_is_refused():
    obj = approve_verification(counted_and_sealed())

    outcome = race(
        lambda: services.results_publish(campaign=obj),
        lambda: services.tally_compute(campaign_id=obj.pk, final=True),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, services.TallyError), outcome.second
    assert "published" in str(outcome.second)
    assert_published_on_a_sealed_tally(obj)


def test_a_publication_during_a_recount_waits_and_is_refused():
    obj = approve_verification(counted_and_sealed())

    outcome = race(
        lambda: services.tally_compute(campaign_id=obj.pk, final=True),
        lambda: services.results_publish(campaign=obj),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, services.ResultsError), outcome.second
    obj.refresh_from_db()
    assert obj.results_published_at is None  # the recount needs a new seal first
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    assert_published_on_a_sealed_tally(obj)
