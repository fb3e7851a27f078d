"""The campaign admin's counting side: tally state, recount, publish, stale warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from portal.accounts.models import User
from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import services, tasks
from votes.admin import tally_state_text
from votes.models import Campaign, Tally

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("root@example.org", "pw")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _action(client: Client, action: str, obj: Campaign):
    return client.post(
        reverse("admin:votes_campaign_changelist"),
        {"action": action, "_selected_action": [obj.pk]},
        follow=True,
    )


@translation.override("en")  # the admin column is checked in English (the msgids)
def test_tally_state_reads_never_run_done_and_failed() -> None:
    obj = campaign(costs={"a": 10})
    assert tally_state_text(obj) == "live: never run; final: never run"
    services.tally_compute(campaign_id=obj.pk, final=True)
    assert "final: done at" in tally_state_text(Campaign.objects.get(pk=obj.pk))
    assert tally_state_text(Campaign.objects.get(pk=obj.pk)).endswith(", ledger not sealed yet")
    services.ledger_seal(campaign_id=obj.pk)
    assert tally_state_text(Campaign.objects.get(pk=obj.pk)).endswith(", ledger sealed")
    Tally.objects.filter(campaign=obj, kind="final").update(status="failed", error="ValueError: boom")
    assert "final: failed: ValueError: boom" in tally_state_text(Campaign.objects.get(pk=obj.pk))


def test_tally_state_reads_in_russian_by_default() -> None:
    obj = campaign(costs={"a": 10})
    assert tally_state_text(obj) == "текущий: не выполнялся; окончательный: не выполнялся"


def test_publish_action_refuses_before_the_final_tally_then_publishes(admin_client) -> None:
    obj = campaign(costs={"a": 10})
    cast(obj, "v1", {"a": 1})
    page = _action(admin_client, "publish_results", obj).content.decode()
    assert "final tally is not done" in page
    assert Campaign.objects.get(pk=obj.pk).results_published_at is None
    services.tally_compute(campaign_id=obj.pk, final=True)
    page = _action(admin_client, "publish_results", obj).content.decode()
    assert "ledger is not sealed yet" in page
    assert Campaign.objects.get(pk=obj.pk).results_published_at is None
    services.ledger_seal(campaign_id=obj.pk)
    page = _action(admin_client, "publish_results", obj).content.decode()
    assert "has not approved the verification" in page
    assert Campaign.objects.get(pk=obj.pk).results_published_at is None
    approve_verification(obj)
    page = _action(admin_client, "publish_results", obj).content.decode()
    assert "results published" in page
    assert Campaign.objects.get(pk=obj.pk).results_published_at is not None


def test_recount_action_enqueues_the_final_tally_of_a_closed_campaign(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    enqueued = []
    monkeypatch.setattr(tasks.tally_final, "delay", lambda pk: enqueued.append(("final", pk)))
    monkeypatch.setattr(tasks.tally_live, "delay", lambda pk: enqueued.append(("live", pk)))
    obj = campaign(costs={"a": 10})
    with django_capture_on_commit_callbacks(execute=True):
        _action(admin_client, "recount_now", obj)
    assert enqueued == [("final", obj.pk)]


def test_change_page_shows_state_and_warns_when_live_tallies_are_stale(admin_client, settings) -> None:
    settings.LIVE_TALLY_INTERVAL = 60
    settings.LIVE_TALLY_STALE_INTERVALS = 3
    obj = campaign(costs={"a": 10}, closed=False)
    services.tally_compute(campaign_id=obj.pk, final=False)
    url = reverse("admin:votes_campaign_change", args=[obj.pk])
    page = admin_client.get(url).content.decode()
    assert "done at" in page.split('id="counting-title"', 1)[1]
    assert "worker or beat may be down" not in page
    Tally.objects.filter(campaign=obj, kind="live").update(computed_at=timezone.now() - timedelta(minutes=4))
    page = admin_client.get(url).content.decode()
    assert "worker or beat may be down" in page


def _step(client: Client, obj: Campaign, step: str):
    return client.post(reverse("admin:votes_campaign_counting", args=[obj.pk, step]), follow=True)


def test_change_page_offers_each_step_when_it_applies_and_takes_it_through_the_service(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    sent = []
    monkeypatch.setattr(tasks.ledger_seal, "delay", lambda pk: sent.append(("seal", pk)))
    monkeypatch.setattr(tasks.tally_final, "delay", lambda pk: sent.append(("final", pk)))
    obj = campaign(costs={"a": 10})
    cast(obj, "v1", {"a": 1})
    url = reverse("admin:votes_campaign_change", args=[obj.pk])
    panel = admin_client.get(url).content.decode().split('id="counting-title"', 1)[1]
    assert "Recount now" in panel
    assert "Seal the ballot ledger" not in panel
    assert "Publish results" not in panel
    # The tasks go (and the answer is told) once the step's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        assert _step(admin_client, obj, "recount").status_code == 200
    services.tally_compute(campaign_id=obj.pk, final=True)
    panel = admin_client.get(url).content.decode().split('id="counting-title"', 1)[1]
    assert "Seal the ballot ledger" in panel
    assert "Publish results" not in panel
    with django_capture_on_commit_callbacks(execute=True):
        assert "the seal was queued" in _step(admin_client, obj, "seal").content.decode()
    assert sent == [("final", obj.pk), ("seal", obj.pk)]
    services.ledger_seal(campaign_id=obj.pk)
    panel = admin_client.get(url).content.decode().split('id="counting-title"', 1)[1]
    assert "Publish results" in panel
    approve_verification(obj)
    assert "results published" in _step(admin_client, obj, "publish").content.decode()
    assert Campaign.objects.get(pk=obj.pk).results_published_at is not None
    panel = admin_client.get(url).content.decode().split('id="counting-title"', 1)[1]
    assert "published and stand" in panel
    assert "Recount now" not in panel


def test_counting_steps_are_posts_of_writers_in_scope(official, auditor, other_official, town) -> None:
    from tests.builders import make_campaign

    obj = make_campaign(town, phase="closed")
    url = reverse("admin:votes_campaign_counting", args=[obj.pk, "recount"])
    for user, status in ((other_official, 404), (auditor, 403)):
        client = Client()
        client.force_login(user)
        assert client.post(url).status_code == status
    client = Client()
    client.force_login(official)
    assert client.get(url).status_code == 404
    assert client.post(reverse("admin:votes_campaign_counting", args=[obj.pk, "delete"])).status_code == 404
    auditor_client = Client()
    auditor_client.force_login(auditor)
    page = auditor_client.get(reverse("admin:votes_campaign_change", args=[obj.pk])).content.decode()
    assert 'id="counting-title"' in page
    assert "/counting/" not in page
