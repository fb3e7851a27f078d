import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.accounts import unsubscribe
from portal.accounts.models import User
from portal.accounts.services import user_unsubscribe
from tests.builders import make_ballot, make_user
from votes import services, tasks
from votes.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def submit_idea(campaign, resident, space):
    return services.idea_submit(
        campaign=campaign,
        author=resident,
        space=space,
        title="Лавочки",
        description="Нужны",
        estimated_cost=Decimal("1000"),
    )


def test_rejection_mail_is_sent_only_after_commit(
    campaign, resident, space, official, django_capture_on_commit_callbacks
):
    idea = submit_idea(campaign, resident, space)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.idea_reject(idea=idea, official=official, reason="Уже в плане")
    assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [resident.email]
    assert "Уже в плане" in message.body
    assert "Уже в плане" in message.alternatives[0][0]  # type: ignore[attr-defined]  # an EmailMultiAlternatives
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")


def test_approval_mail_links_the_proposal(campaign, resident, space, official, django_capture_on_commit_callbacks):
    idea = submit_idea(campaign, resident, space)
    with django_capture_on_commit_callbacks(execute=True):
        services.idea_approve(idea=idea, official=official)
    assert len(mail.outbox) == 1
    assert idea.proposal.get_absolute_url() in mail.outbox[0].body


def test_no_mail_for_residents_who_opted_out(campaign, resident, space, official, django_capture_on_commit_callbacks):
    resident.notify_by_email = False
    resident.save()
    idea = submit_idea(campaign, resident, space)
    with django_capture_on_commit_callbacks(execute=True):
        services.idea_approve(idea=idea, official=official)
    assert mail.outbox == []


def test_campaign_opened_goes_to_eligible_residents_in_batches(
    campaign, town, other_town, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_BATCH_SIZE = 2
    eligible = [make_user(f"r{n}@example.org", verified=True, municipality=town) for n in range(5)]
    make_user(
        "young@example.org",
        verified=True,
        municipality=town,
        birth_date=timezone.localdate() - datetime.timedelta(days=365),
    )
    make_user("quiet@example.org", verified=True, municipality=town, notify_by_email=False)
    make_user("unverified@example.org", municipality=town, verified=False)
    make_user("away@example.org", verified=True, municipality=other_town)
    make_user("79120000000@phone.invalid", verified=True, municipality=town)  # met by a volunteer: no mailbox
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_campaign_opened_enqueue(campaign=campaign)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in eligible)


def test_results_published_goes_to_voters(campaign, resident, town, django_capture_on_commit_callbacks):
    make_user("nonvoter@example.org", verified=True, municipality=town)
    make_ballot(campaign, resident, channel=Channel.IMPORT, receipt_hash=hashlib.sha256(b"r").hexdigest())
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_results_published_enqueue(campaign=campaign)
    assert [m.to[0] for m in mail.outbox] == [resident.email]


def test_unsubscribe_link_works_without_login(client, resident):
    tasks.notify_campaign_opened  # noqa: B018 - the task module imports cleanly
    url = unsubscribe.unsubscribe_url(resident)
    path = url.removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200
    resident.refresh_from_db()
    assert resident.notify_by_email is True  # a GET (link scanners) changes nothing
    assert client.post(path).status_code == 200
    resident.refresh_from_db()
    assert resident.notify_by_email is False


def test_tampered_token_is_refused(client, resident, town):
    token = unsubscribe.unsubscribe_token(resident)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.post(reverse("accounts:unsubscribe", args=[tampered]))
    assert response.status_code == 400
    other = make_user("other@example.org", verified=True, municipality=town)
    # Someone else's id with the resident's signature.
    from django.core import signing

    _payload, _, signature = token.partition(":")
    forged_payload = signing.b64_encode(f'{{"u":{other.pk},"e":"{other.email}"}}'.encode()).decode()
    forged = f"{forged_payload}:{signature}"
    assert forged != token
    assert client.post(reverse("accounts:unsubscribe", args=[forged])).status_code == 400
    assert User.objects.filter(notify_by_email=False).count() == 0


def test_unsubscribe_checks_the_address_in_the_same_write(resident):
    """The link was checked against the account; the address changed before the write."""
    found = unsubscribe.unsubscribe_user_from_token(unsubscribe.unsubscribe_token(resident))
    assert found is not None
    User.objects.filter(pk=resident.pk).update(email="new.owner@example.org")

    assert user_unsubscribe(user=found) is False
    assert User.objects.get(pk=resident.pk).notify_by_email is True
