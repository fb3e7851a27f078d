"""Log-in never redirects to another site, whatever `next` says."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from tests.builders import make_user

PASSWORD = "correct horse battery staple"
HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "//evil.example/me/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "http://testserver@evil.example/",
    "javascript:alert(1)",
    " //evil.example",
]


@pytest.fixture
def verified_resident(db):
    user = make_user("voter@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def assert_local(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", "testserver"), location
    assert "evil.example" not in location
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_login_with_hostile_next_in_the_query_redirects_locally(client, verified_resident, hostile):
    url = reverse("account_login")

    response = client.post(url + "?" + _query(hostile), {"login": verified_resident.email, "password": PASSWORD})

    assert response.status_code == 302
    assert_local(response["Location"])
    assert client.session.get("_auth_user_id") == str(verified_resident.pk)  # the log-in itself worked


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_login_with_hostile_next_in_the_form_redirects_locally(client, verified_resident, hostile):
    response = client.post(
        reverse("account_login"), {"login": verified_resident.email, "password": PASSWORD, "next": hostile}
    )

    assert response.status_code == 302
    assert_local(response["Location"])


def test_a_local_next_is_still_followed(client, verified_resident):
    response = client.post(
        reverse("account_login") + "?next=/about/", {"login": verified_resident.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/about/"


def test_login_page_does_not_echo_a_hostile_next_into_links(client, db):
    response = client.get(reverse("account_login") + "?" + _query("https://evil.example/"))

    assert response.status_code == 200
    assert 'href="https://evil.example/' not in response.content.decode()


def _query(next_url: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_url})
