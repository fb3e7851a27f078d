"""API tokens: none for unverified accounts, they expire (API_TOKEN_TTL_DAYS), and a
resident revokes theirs from the API or the profile page.

The outside review: an unverified account got a token, and tokens never expired.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def token_for(api_client, user, password):
    return api_client.post(TOKEN_URL, {"email": user.email, "password": password}, format="json")


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def age(key: str, days: float) -> None:
    Token.objects.filter(key=key).update(created=timezone.now() - datetime.timedelta(days=days))


def test_an_unverified_account_gets_no_token(api_client, make_user, password):
    unverified = make_user(verified=False)
    response = token_for(api_client, unverified, password)
    assert response.status_code == 403
    assert response.json()["code"] == "not_verified"
    assert response.json()["detail"]
    assert not Token.objects.exists()


def test_a_token_an_unverified_account_already_holds_is_refused(make_user):
    unverified = make_user(verified=False)
    legacy = Token.objects.create(user=unverified)  # issued before this rule
    response = with_token(legacy.key).get("/api/v1/ballots/mine/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_verified"


@override_settings(API_TOKEN_TTL_DAYS=14)
def test_a_token_expires_and_logging_in_again_gives_a_new_one(api_client, voter, password):
    key = token_for(api_client, voter, password).json()["token"]
    age(key, 13.9)
    assert with_token(key).get("/api/v1/ballots/mine/").status_code == 200
    age(key, 14)
    expired = with_token(key).get("/api/v1/ballots/mine/")
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"

    # The app sends its old header along: asking for a new token still works.
    fresh = with_token(key).post(TOKEN_URL, {"email": voter.email, "password": password}, format="json")
    assert fresh.status_code == 200
    assert fresh.json()["token"] != key
    assert with_token(fresh.json()["token"]).get("/api/v1/ballots/mine/").status_code == 200
    assert Token.objects.filter(user=voter).count() == 1


def test_a_resident_revokes_their_token_through_the_api(api_client, voter, password):
    key = token_for(api_client, voter, password).json()["token"]
    response = with_token(key).delete(TOKEN_URL)
    assert response.status_code == 204
    assert not Token.objects.filter(user=voter).exists()
    gone = with_token(key).get("/api/v1/ballots/mine/")
    assert gone.status_code == 401
    assert gone.json()["code"] == "authentication_failed"
    assert APIClient().delete(TOKEN_URL).status_code == 401


def test_a_resident_revokes_their_token_on_the_profile_page(api_client, voter, password):
    key = token_for(api_client, voter, password).json()["token"]
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(voter)

    page = browser.get("/me/").content.decode()
    assert "API token" in page
    assert "is valid until" in page
    assert key not in page
    response = browser.post("/me/token/revoke/")
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    assert not Token.objects.filter(user=voter).exists()
    after = browser.get("/me/").content.decode()
    assert "Your API token is revoked" in after
    assert "You have no API token" in after
    assert with_token(key).get("/api/v1/ballots/mine/").status_code == 401


def test_revoking_without_a_token_changes_nothing(voter):
    browser = Client()
    browser.force_login(voter)
    assert browser.post("/me/token/revoke/").status_code == 302
    assert browser.get("/me/token/revoke/").status_code == 405
