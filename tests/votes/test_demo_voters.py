"""Demo voters: verified residents of the open demo campaign's town, with working tokens."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.accounts.models import User
from votes.demo import demo_voters_create
from votes.permissions import can_vote

pytestmark = pytest.mark.django_db


def test_demo_voters_can_vote_with_their_tokens(make_campaign, town, tmp_path, api_client, ids):
    make_campaign(phase="upcoming")
    campaign = make_campaign(method="approval")
    tokens = tmp_path / "tokens.csv"
    assert demo_voters_create(count=30, tokens_path=str(tokens)) == 30
    lines = tokens.read_text().splitlines()
    assert len(lines) == 30
    assert lines[0].startswith("voter000001@demo.local,")
    voters = User.objects.filter(email__endswith="@demo.local")
    assert voters.count() == 30
    today = timezone.localdate()
    for voter in voters:
        assert voter.is_verified
        assert voter.municipality == town
        assert 20 <= voter.age_on(today) <= 80
        assert can_vote(voter, campaign)
    email, key = lines[7].split(",")
    assert Token.objects.get(key=key).user.email == email
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api_client.post(
        f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": ids(campaign)[0]}]}, format="json"
    )
    assert response.status_code == 201


def test_demo_voters_are_deterministic_and_not_doubled(make_campaign, tmp_path):
    make_campaign()
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    demo_voters_create(count=12, tokens_path=str(first))
    births = dict(User.objects.values_list("email", "birth_date"))
    assert demo_voters_create(count=12, tokens_path=str(second)) == 0
    assert first.read_text() == second.read_text()
    assert demo_voters_create(count=15, tokens_path=None) == 3
    assert User.objects.count() == 15
    assert Token.objects.count() == 15
    assert {email: day for email, day in User.objects.values_list("email", "birth_date") if email in births} == births


def test_demo_voters_can_log_in_on_the_web(make_campaign, client):
    from votes.demo import DEMO_PASSWORD

    make_campaign()
    demo_voters_create(count=1, tokens_path=None)
    response = client.post("/accounts/login/", {"login": "voter000001@demo.local", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_demo_voters_need_an_open_campaign(make_campaign, tmp_path):
    make_campaign(phase="closed")
    with pytest.raises(ValueError, match="open"):
        demo_voters_create(count=5, tokens_path=str(tmp_path / "t.csv"))
    assert User.objects.count() == 0
