"""Hypothesis on `ballot_cast` inputs: any choices list either raises a BallotError and
writes nothing, or writes exactly one ballot whose choices are the validated input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from votes.models import Ballot, BallotChoice, Channel
from votes.services import BallotError, ballot_cast, ballot_validate

pytestmark = pytest.mark.django_db

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.binary(max_size=3),
)


def choice_items(entry_ids: list[int]):
    entry = st.one_of(st.sampled_from(entry_ids), st.integers(min_value=-5, max_value=2**64), ANY_VALUE)
    points = st.one_of(st.none(), st.integers(min_value=-3, max_value=40000), ANY_VALUE)
    return st.one_of(
        entry,
        st.tuples(entry),
        st.tuples(entry, points),
        st.lists(st.one_of(entry, points), max_size=3),
        ANY_VALUE,
        st.dictionaries(st.text(max_size=3), ANY_VALUE, max_size=2),
    )


@pytest.mark.parametrize("method", ["approval", "cumulative", "ordinal", "knapsack", "choose-1"])
def test_any_choices_give_an_error_and_no_row_or_exactly_the_validated_ballot(make_campaign, make_user, method):
    campaign = make_campaign(method=method, n_entries=4, max_choices=1 if method == "choose-1" else 3)
    entry_ids = list(campaign.entries.order_by("position").values_list("pk", flat=True))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(choices=st.one_of(st.lists(choice_items(entry_ids), max_size=6), ANY_VALUE, st.text(max_size=4)))
    def cast(choices):
        voter = make_user()
        before = (Ballot.objects.count(), BallotChoice.objects.count())
        try:
            expected = ballot_validate(campaign=campaign, choices=choices)
        except BallotError:
            expected = None
        try:
            cast = ballot_cast(campaign=campaign, voter=voter, choices=choices, channel=Channel.WEB)
        except BallotError:
            assert expected is None
            assert (Ballot.objects.count(), BallotChoice.objects.count()) == before
            return
        assert expected is not None
        assert Ballot.objects.count() == before[0] + 1
        stored = sorted(cast.ballot.choices.values_list("entry_id", "points"))
        assert stored == sorted((entry.pk, points) for entry, points in expected)
        assert len(stored) >= campaign.min_choices

    cast()
