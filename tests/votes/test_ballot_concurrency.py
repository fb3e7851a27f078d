"""Real concurrency on PostgreSQL: one ballot per voter, none after the close.

Threads each use their own database connection (Django opens one per thread) and close
it at the end, so the transactions really race in the server.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from votes.models import Ballot, BallotChoice, Channel, Participation
from votes.services import AlreadyVoted, BallotError, CampaignNotOpen, CastBallot, ballot_cast, campaign_close

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


def wait_for_ballots(campaign, count: int) -> None:
    """Let the casting get going before closing (bounded: the casters may also finish first)."""
    for _ in range(200):
        if Ballot.objects.filter(campaign=campaign).count() >= count:
            return
        time.sleep(0.01)


def test_many_threads_casting_for_one_voter_give_one_ballot(make_campaign, voter, ids):
    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)

    def cast(i: int):
        return ballot_cast(campaign=campaign, voter=voter, choices=[(e[i % len(e)], None)], channel=Channel.WEB)

    results = run_threads(THREADS, cast)
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"CastBallot": 1, "AlreadyVoted": THREADS - 1}, results
    assert Participation.objects.filter(voter=voter).count() == 1
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
            wait_for_ballots(campaign, len(voters) // 4)
            return campaign_close(campaign=campaign)
        answers: list[tuple[int, CastBallot | BallotError]] = []
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
    assert set(Participation.objects.values_list("voter_id", flat=True)) == accepted
    assert not Participation.objects.filter(voted_at__gte=campaign.closed_at).exists()
    assert len(accepted) + len(refused) == len(voters)
    assert len(accepted) >= len(voters) // 4


# --- The same races through the HTTP channels -------------------------------------------


@override_settings(THROTTLE=False)
def test_one_voter_racing_through_web_api_and_volunteer_gets_one_ballot(make_campaign, make_user, volunteer, ids):
    import datetime
    import re

    from django.test import Client
    from rest_framework.test import APIClient

    from portal.accounts.services import api_token_issue

    campaign = make_campaign(method="approval", max_choices=3)
    e = ids(campaign)
    voter = make_user(phone="+79125550011", full_name="Сидорова Ольга")
    voter.birth_date = datetime.date(1970, 3, 8)
    voter.phone_verified_at = timezone.now()  # the desk finds the resident by a verified phone
    voter.save()
    voter_token = api_token_issue(user=voter)
    volunteer_token = api_token_issue(user=volunteer)

    # The web ballots are reviewed beforehand; only the confirmations race.
    web_clients = []
    for i in range(5):
        client = Client()
        client.force_login(voter)
        review = client.post(f"/campaigns/{campaign.pk}/ballot/", {"step": "review", "entries": [e[i % 4]]})
        token = re.search(r'name="token" value="([^"]+)"', review.content.decode()).group(1)
        web_clients.append((client, token))

    def cast(i: int):
        if i < 5:
            client, token = web_clients[i]
            response = client.post(f"/campaigns/{campaign.pk}/ballot/", {"step": "confirm", "token": token})
            return ("web", response.status_code, response.content.decode())
        api = APIClient()
        if i < 10:
            api.credentials(HTTP_AUTHORIZATION=f"Token {voter_token}")
            api_response = api.post(
                f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": e[i % 4]}]}, format="json"
            )
            return ("api", api_response.status_code, api_response.json())
        api.credentials(HTTP_AUTHORIZATION=f"Token {volunteer_token}")
        body = {
            "campaign": campaign.pk,
            "phone": "8 912 555-00-11",
            "full_name": "Сидорова Ольга",
            "birth_date": "1970-03-08",
            "municipality": campaign.municipality.slug,
            "document_type": "passport",
            "document_number": "6512 345678",
            "choices": [{"entry": e[i % 4]}],
        }
        desk_response = api.post("/api/v1/volunteer/ballots/", body, format="json")
        return ("volunteer", desk_response.status_code, desk_response.json())

    results = run_threads(THREADS, cast)
    assert not any(isinstance(result, Exception) for result in results), results
    statuses = Counter(status for _channel, status, _body in results)
    assert statuses[201] + statuses[302] == 1, statuses
    assert statuses[409] == THREADS - 1, statuses
    for channel, status, body in results:
        if status == 409:
            if channel == "web":
                assert 'data-refusal="already_voted"' in body
            else:
                assert body["code"] == "already_voted"
    assert Ballot.objects.filter(campaign=campaign).count() == 1
    assert Participation.objects.get().voter_id == voter.pk


@override_settings(THROTTLE=False)
def test_api_ballots_answered_201_are_all_stored_when_the_campaign_closes(make_campaign, make_user, ids):
    from rest_framework.test import APIClient

    from portal.accounts.services import api_token_issue

    campaign = make_campaign()
    e = ids(campaign)
    tokens = [api_token_issue(user=make_user()) for _ in range(30)]
    per_thread = 5
    casters = len(tokens) // per_thread

    def work(i: int):
        if i == casters:
            wait_for_ballots(campaign, len(tokens) // 4)
            return campaign_close(campaign=campaign)
        answers = []
        for token in tokens[i * per_thread : (i + 1) * per_thread]:
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            response = api.post(
                f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": e[0]}]}, format="json"
            )
            answers.append((response.status_code, response.json()))
        return answers

    results = run_threads(casters + 1, work)
    assert not isinstance(results[casters], Exception)
    answers = [answer for chunk in results[:casters] for answer in chunk]
    assert {status for status, _body in answers} <= {201, 403}
    assert all(body["code"] == "campaign_closed" for status, body in answers if status == 403)
    assert sum(status == 201 for status, _body in answers) >= len(tokens) // 4
    stored = set(Ballot.objects.values_list("receipt_hash", flat=True))
    assert {body["receipt_hash"] for status, body in answers if status == 201} == stored
    campaign.refresh_from_db()
    assert not Participation.objects.filter(voted_at__gte=campaign.closed_at).exists()
