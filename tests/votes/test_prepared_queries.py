"""portal/prepared.py: the casting path's reads compiled once give what the ORM gives."""

from __future__ import annotations

import pytest

from portal.prepared import Prepared
from votes.models import Campaign, Entry

pytestmark = pytest.mark.django_db


def test_a_prepared_query_builds_the_same_instances_with_their_related_rows(make_campaign):
    campaign = make_campaign()
    prepared = Prepared(Campaign, lambda pk: Campaign.objects.select_related("municipality__region").filter(pk=pk))
    for _ in range(2):  # the second call runs the kept SQL
        found = prepared.first(campaign.pk)
        assert found == campaign
        assert found.municipality == campaign.municipality
        assert "municipality" in found._state.fields_cache
        assert found.municipality.region_id == campaign.municipality.region_id
    assert prepared.first(-1) is None


def test_a_list_argument_gets_a_plan_per_length(make_campaign, ids):
    campaign, other = make_campaign(), make_campaign()
    prepared = Prepared(Entry, lambda c, pks: Entry.objects.filter(campaign_id=c, pk__in=pks))
    mine = ids(campaign)
    assert {e.pk for e in prepared.all(campaign.pk, mine[:1])} == set(mine[:1])
    assert {e.pk for e in prepared.all(campaign.pk, mine[:3])} == set(mine[:3])
    assert prepared.all(campaign.pk, ids(other)[:2]) == []


def test_an_argument_that_the_orm_would_convert_is_refused():
    prepared = Prepared(Campaign, lambda pk: Campaign.objects.filter(pk=pk))
    with pytest.raises(TypeError, match="ints and strings"):
        prepared.first(1.5)
