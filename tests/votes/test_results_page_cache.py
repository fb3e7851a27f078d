"""The results page for anonymous visitors comes whole from the cache: no query on a hit,
a new page after a recount, a seal or a publication, the normal page with the cache down."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import results, services
from votes.models import Tally

pytestmark = pytest.mark.django_db


def _published():
    obj = campaign(costs={"a": 60, "b": 50}, budget=100)
    cast(obj, "v1", {"a": 1})
    cast(obj, "v2", {"a": 1})
    cast(obj, "v3", {"b": 1})
    return obj


def _count_and_publish(obj, captured) -> None:
    with captured(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=True)
    with captured(execute=True):
        services.ledger_seal(campaign_id=obj.pk)
    with captured(execute=True):
        approve_verification(obj)
        services.results_publish(campaign=obj)


def _get(client: Client, obj) -> str:
    response = client.get(reverse("votes:campaign_results", args=[obj.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_hit_makes_no_query_and_serves_the_same_page(django_assert_num_queries, django_capture_on_commit_callbacks):
    obj = _published()
    _count_and_publish(obj, django_capture_on_commit_callbacks)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = _get(client, obj)
    assert "Results" in first
    assert "csrfmiddlewaretoken" not in first
    with django_assert_num_queries(0):
        second = _get(Client(HTTP_ACCEPT_LANGUAGE="en"), obj)
    assert second == first
    # Another language is another page.
    russian = _get(Client(HTTP_ACCEPT_LANGUAGE="ru"), obj)
    assert '<html lang="ru">' in russian
    assert '<html lang="en">' in second


def test_a_new_live_count_replaces_the_cached_page(django_capture_on_commit_callbacks, settings):
    settings.LIVE_STANDINGS_MIN_BALLOTS = 1
    obj = campaign(costs={"a": 60, "b": 50}, budget=100, closed=False, show_live_standings=True)
    cast(obj, "v1", {"a": 1})
    with django_capture_on_commit_callbacks(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=False)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    before = _get(client, obj)
    assert before == _get(client, obj)  # served from the cache
    cast(obj, "v2", {"b": 1})
    cast(obj, "v3", {"b": 1})
    with django_capture_on_commit_callbacks(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=False)
    after = _get(client, obj)
    assert after != before


def test_a_seal_replaces_the_cached_page_and_published_results_are_not_recounted(
    django_capture_on_commit_callbacks,
):
    obj = _published()
    with django_capture_on_commit_callbacks(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with django_capture_on_commit_callbacks(execute=True):
        head = services.ledger_seal(campaign_id=obj.pk)
    with django_capture_on_commit_callbacks(execute=True):
        approve_verification(obj)
        services.results_publish(campaign=obj)
    published = _get(client, obj)
    assert head in published
    cast(obj, "v4", {"b": 1})
    with pytest.raises(services.TallyError, match="published results"):
        services.tally_compute(campaign_id=obj.pk, final=True)
    assert _get(client, obj) == published


def test_publication_replaces_the_cached_not_yet_page(django_capture_on_commit_callbacks):
    obj = _published()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=True)
        services.ledger_seal(campaign_id=obj.pk)
    unpublished = _get(client, obj)
    with django_capture_on_commit_callbacks(execute=True):
        approve_verification(obj)
        services.results_publish(campaign=obj)
    published = _get(client, obj)
    assert published != unpublished
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head in published


def test_logged_in_visitors_get_their_own_header(django_capture_on_commit_callbacks):
    obj = _published()
    _count_and_publish(obj, django_capture_on_commit_callbacks)
    anonymous = _get(Client(HTTP_ACCEPT_LANGUAGE="en"), obj)
    user = get_user_model().objects.create_user(email="reader@example.org", password="x" * 12)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    mine = _get(client, obj)
    assert "My account" in mine
    assert "My account" not in anonymous
    assert "My account" not in _get(Client(HTTP_ACCEPT_LANGUAGE="en"), obj)  # never stored for others


def test_the_page_fails_open_when_the_cache_is_down(monkeypatch, django_capture_on_commit_callbacks):
    obj = _published()
    _count_and_publish(obj, django_capture_on_commit_callbacks)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "add", "set", "delete"):
        monkeypatch.setattr(cache, method, down)
    page = _get(Client(HTTP_ACCEPT_LANGUAGE="en"), obj)
    assert "Results" in page
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head in page
    results.results_page_invalidate(obj.pk)  # logs, does not raise
