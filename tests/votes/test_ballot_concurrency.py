"""Real concurrency on PostgreSQL: one ballot per voter, none after the close.

Threads each use their own database connection (Django opens one per thread) and close
it at the end, so the transactions really race in the server.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from votes.models import Ballot, BallotChoice, Channel
from votes.services import AlreadyVoted, BallotError, CampaignNotOpen, ballot_cast, campaign_close

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def run_threads(count: int, target) -> list:
    """Run target(i) in `count` threads started together; return their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as error:  # the test inspects every outcome
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_many_threads_casting_for_one_voter_give_one_ballot(make_campaign, voter, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)

    def cast(i: int):
        return ballot_cast(campaign=campaign, voter=voter, choices=[(e[i % len(e)], None)], channel=Channel.WEB)

    results = run_threads(THREADS, cast)
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"CastBallot": 1, "AlreadyVoted": THREADS - 1}, results
    assert Ballot.objects.filter(voter=voter).count() == 1
    winner = next(result for result in results if not isinstance(result, AlreadyVoted))
    assert list(BallotChoice.objects.values_list("ballot_id", flat=True)) == [winner.ballot.pk]


def test_close_while_casting_loses_no_ballot_and_admits_none_after(make_campaign, make_user, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)
    voters = [make_user() for _ in range(40)]
    per_thread = 5
    casters = len(voters) // per_thread

    def work(i: int):
        if i == casters:  # one thread closes the campaign in the middle of the casting
            return campaign_close(campaign=campaign)
        answers = []
        for voter in voters[i * per_thread : (i + 1) * per_thread]:
            try:
                answers.append(
                    (voter.pk, ballot_cast(campaign=campaign, voter=voter, choices=[(e[0], None)], channel="web"))
                )
            except BallotError as error:
                answers.append((voter.pk, error))
        return answers

    results = run_threads(casters + 1, work)
    closed = results[casters]
    assert not isinstance(closed, Exception), closed
    campaign.refresh_from_db()
    assert campaign.closed_at is not None

    accepted = {pk for answers in results[:casters] for pk, answer in answers if not isinstance(answer, Exception)}
    refused = [answer for answers in results[:casters] for _pk, answer in answers if isinstance(answer, Exception)]
    assert all(isinstance(answer, CampaignNotOpen) for answer in refused), refused
    # Every ballot answered with a receipt is stored, and nothing else is.
    assert set(Ballot.objects.values_list("voter_id", flat=True)) == accepted
    assert not Ballot.objects.filter(cast_at__gte=campaign.closed_at).exists()
    assert len(accepted) + len(refused) == len(voters)
