"""The verification after the close: the screening's findings, the commission's decisions
(clear, annul with the key, approve), the recount, and the published numbers, ledger and
recount of the ledger agreeing."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests import builders
from votes import ledger, sealing
from votes.models import Annulment, Ballot, BallotChoice, Campaign, Channel, Finding, Participation, Tally
from votes.results import ledger_lines, results_dict
from votes.services import (
    ResultsError,
    VerificationError,
    ballot_cast,
    campaign_close,
    finding_clear,
    ledger_seal,
    participation_annul,
    results_publish,
    screening_data_erase,
    screening_run,
    tally_compute,
    verification_approve,
)
from votes.services.commission import commission_key_create
from votes.services.errors import CommissionKeyError

pytestmark = pytest.mark.django_db


@pytest.fixture
def screening_settings(settings):
    settings.SCREENING_BURST_THRESHOLD = 5
    settings.SCREENING_OUTLIER_K = 3.0
    settings.SCREENING_BULK_ACCOUNTS = 1000  # the test's accounts are all made now
    return settings


@pytest.fixture
def member(town) -> User:
    return builders.make_user(
        "commission@example.org", User.Role.COMMISSION_MEMBER, full_name="Ольга Членова", scope_municipalities=[town]
    )


@pytest.fixture
def keyed(make_campaign):
    """An open campaign whose key was made before it opened, and the key's text."""
    campaign = make_campaign(phase="upcoming")
    pair = commission_key_create(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(voting_opens_at=timezone.now() - datetime.timedelta(days=1))
    campaign.refresh_from_db()
    return campaign, sealing.key_text(campaign.pk, pair.private)


def _vote(campaign, voter, ids, **extra):
    return ballot_cast(campaign=campaign, voter=voter, choices=[ids(campaign)[0]], channel=Channel.WEB, **extra)


def _close_and_count(campaign) -> Tally:
    campaign_close(campaign=campaign)
    tally = tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)
    screening_run(campaign_id=campaign.pk)
    tally.refresh_from_db()
    return tally


def _scenario(campaign, make_user, ids, volunteer_role_users):
    """A duplicated person, a burst from one network, a volunteer far above the others."""
    born = builders.years_ago(40)
    twins = [make_user(full_name="Иван Петрович Сидоров", birth_date=born) for _ in range(2)]
    for twin in twins:
        _vote(campaign, twin, ids)
    burst = [make_user() for _ in range(6)]
    for voter in burst:
        _vote(campaign, voter, ids, client=("203.0.113.7", "Робот/1.0"))
    bucket = Participation.objects.filter(voter__in=burst).values_list("time_bucket", flat=True).first()
    Participation.objects.filter(voter__in=burst).update(time_bucket=bucket)  # one bucket, whatever the clock
    normal, outlier = volunteer_role_users[:3], volunteer_role_users[3]
    for helper in normal:
        for _ in range(2):
            ballot_cast(
                campaign=campaign, voter=make_user(), choices=[ids(campaign)[1]], channel="volunteer", volunteer=helper
            )
    for _ in range(12):
        ballot_cast(
            campaign=campaign, voter=make_user(), choices=[ids(campaign)[1]], channel="volunteer", volunteer=outlier
        )
    return twins, burst, outlier


@pytest.fixture
def helpers(db) -> list[User]:
    return [builders.make_user(f"helper{n}@example.org", User.Role.VOLUNTEER) for n in range(4)]


@pytest.mark.postgres
def test_findings_one_annulment_recount_and_the_published_numbers_agree(
    keyed, make_user, ids, helpers, member, official, screening_settings, django_capture_on_commit_callbacks
):
    assert connection.vendor == "postgresql"
    campaign, key_text = keyed
    twins, burst, outlier = _scenario(campaign, make_user, ids, helpers)
    total = Participation.objects.filter(campaign=campaign).count()
    assert total == 2 + 6 + 6 + 12

    _close_and_count(campaign)
    findings = {kind: list(campaign.findings.filter(kind=kind)) for kind in Finding.Kind.values}
    [duplicate] = findings["duplicate_person"]
    assert set(duplicate.participations.values_list("voter", flat=True)) == {t.pk for t in twins}
    [burst_finding] = findings["burst"]
    assert set(burst_finding.participations.values_list("voter", flat=True)) == {v.pk for v in burst}
    outliers = findings["volunteer_outlier"]
    assert outliers
    assert {f.evidence["volunteer"] for f in outliers} == {outlier.pk}
    for finding in campaign.findings.all():  # the evidence never carries a choice
        assert "choice" not in json.dumps(finding.evidence)
        assert "entry" not in json.dumps(finding.evidence)

    with pytest.raises(ResultsError) as pending:
        results_publish(campaign=campaign, actor=official)
    assert pending.value.code == "verification_pending"
    with pytest.raises(VerificationError) as open_left:
        verification_approve(campaign=campaign, actor=member)
    assert open_left.value.code == "findings_open"

    second = duplicate.participations.order_by("pk").last()
    with django_capture_on_commit_callbacks() as callbacks:
        participation_annul(
            participation=second,
            actor=member,
            reason="duplicate_person",
            note="Один человек, два аккаунта",
            key_texts=[key_text],
            finding=duplicate,
        )
    assert callbacks  # the recount is asked for after the commit
    annulled = Ballot.objects.get(campaign=campaign, annulled_reason="duplicate_person")
    assert not BallotChoice.objects.filter(ballot=annulled).exists()
    assert Annulment.objects.get().participation == second
    tally_compute(campaign_id=campaign.pk, final=True)  # what the enqueued recount does
    ledger_seal(campaign_id=campaign.pk)
    screening_run(campaign_id=campaign.pk)
    duplicate.refresh_from_db()
    assert duplicate.status == Finding.Status.ANNULLED
    assert not campaign.findings.filter(kind="duplicate_person", status="open").exists()

    for finding in campaign.findings.open():
        finding_clear(finding=finding, actor=member, note="Проверено: общежитие и выездной пункт")
    verification_approve(campaign=campaign, actor=member)
    results_publish(campaign=campaign, actor=official)

    campaign.refresh_from_db()
    final = Tally.objects.get(campaign=campaign, kind="final")
    assert final.ballots_counted == total - 1
    published = results_dict(campaign, final)
    assert published["ballots"] == total - 1
    assert published["annulled"] == {"duplicate_person": 1}
    assert sum(row["votes"] for row in published["entries"]) == total - 1
    lines = list(ledger_lines(campaign, final))
    assert ledger.verify(lines) == []
    records = [json.loads(line) for line in lines[1:]]
    marked = [r for r in records if r.get("annulled")]
    assert [(r["receipt_hash"], r["annulled"], r["choices"]) for r in marked] == [
        (annulled.receipt_hash, "duplicate_person", [])
    ]
    # A tampered mark (an annulled ballot shown as counted) breaks the chain and the counts.
    tampered = [lines[0], *(line.replace('"annulled": "duplicate_person"', '"x": 1') for line in lines[1:])]
    assert ledger.verify(tampered)
    results_page = Client().get(reverse("votes:campaign_results", args=[campaign.pk])).content.decode()
    assert "Аннулировано комиссией" in results_page
    assert "один человек, несколько аккаунтов: 1" in results_page
    for name in ("participation_annul", "finding_clear", "verification_approve", "participation_link_open"):
        assert AuditEvent.objects.filter(action=f"action:{name}").exists(), name


def test_the_key_is_used_and_never_stored(keyed, make_user, ids, member, screening_settings):
    campaign, key_text = keyed
    twins = [make_user(full_name="Анна Иванова", birth_date=builders.years_ago(30)) for _ in range(2)]
    for twin in twins:
        _vote(campaign, twin, ids)
    _close_and_count(campaign)
    participation = Participation.objects.filter(voter=twins[1]).get()
    participation_annul(participation=participation, actor=member, reason="other", note="", key_texts=[key_text])
    private_hex = key_text.strip().split(":")[-1]
    with connection.cursor() as cursor:
        for table in ("audit_auditevent", "votes_annulment", "votes_finding", "votes_campaign", "votes_participation"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 -- fixed table names
            assert private_hex not in repr(cursor.fetchall()), table
    assert "ballot" not in {f.name for f in Annulment._meta.get_fields()}


def test_a_wrong_key_annuls_nothing(keyed, make_user, ids, member, screening_settings):
    campaign, _key_text = keyed
    _vote(campaign, make_user(), ids)
    _close_and_count(campaign)
    other = builders.make_campaign(phase="upcoming")
    wrong = sealing.key_text(campaign.pk, commission_key_create(campaign=other).private)
    with pytest.raises(CommissionKeyError) as refused:
        participation_annul(
            participation=Participation.objects.get(campaign=campaign),
            actor=member,
            reason="other",
            note="",
            key_texts=[wrong],
        )
    assert refused.value.code == "wrong_key"
    assert not Ballot.objects.annulled().exists()
    assert not Annulment.objects.exists()


def test_only_the_campaigns_commission_decides(keyed, make_user, ids, member, official, superuser, far_town):
    campaign, key_text = keyed
    for _ in range(2):
        _vote(campaign, make_user(full_name="Пётр Смирнов", birth_date=builders.years_ago(50)), ids)
    _close_and_count(campaign)
    finding = campaign.findings.get()
    elsewhere = builders.make_user(
        "commission-far@example.org", User.Role.COMMISSION_MEMBER, scope_municipalities=[far_town]
    )
    for actor in (official, superuser, elsewhere):
        with pytest.raises(VerificationError) as refused:
            finding_clear(finding=finding, actor=actor, note="")
        assert refused.value.code == "not_commission"
        with pytest.raises(VerificationError) as not_approved:
            verification_approve(campaign=campaign, actor=actor)
        assert not_approved.value.code == "not_commission"
        with pytest.raises(VerificationError) as not_annulled:
            participation_annul(
                participation=finding.participations.first(), actor=actor, reason="other", note="", key_texts=[key_text]
            )
        assert not_annulled.value.code == "not_commission"
    finding_clear(finding=finding, actor=member, note="")
    with pytest.raises(VerificationError) as twice:
        finding_clear(finding=finding, actor=member, note="")
    assert twice.value.code == "finding_decided"


def test_screening_again_keeps_decided_findings_and_drops_open_ones_no_longer_found(keyed, make_user, ids, member):
    campaign, _key = keyed
    for _ in range(2):
        _vote(campaign, make_user(full_name="Мария Кузнецова", birth_date=builders.years_ago(25)), ids)
    stray = make_user(phone="+79001234567", phone_verified_at=timezone.now())
    _vote(campaign, stray, ids)
    _vote(campaign, make_user(phone="+79001234567"), ids)
    _close_and_count(campaign)
    by_name = campaign.findings.get(evidence__signal="name_birth_date")
    by_phone = campaign.findings.get(evidence__signal="phone")
    screening_run(campaign_id=campaign.pk)
    assert set(campaign.findings.values_list("pk", flat=True)) == {by_name.pk, by_phone.pk}
    finding_clear(finding=by_name, actor=member, note="Однофамильцы")
    Participation.objects.filter(voter=stray).update(voter=make_user(), client_hash=None)  # the phone is gone
    screening_run(campaign_id=campaign.pk)
    assert list(campaign.findings.values_list("pk", "status")) == [(by_name.pk, "cleared")]


def test_eligibility_corrected_during_the_vote_is_a_finding(keyed, make_user, ids, official, town):
    campaign, _key = keyed
    voter = make_user()
    _vote(campaign, voter, ids)
    AuditEvent.objects.create(
        actor=official,
        actor_role=official.role,
        action="action:eligibility_correct",
        content_type_id=builders_content_type(User),
        object_id=str(voter.pk),
        object_repr=str(voter),
        municipality=town,
        at=timezone.now(),
    )
    _close_and_count(campaign)
    finding = campaign.findings.get()
    assert finding.kind == "eligibility_changed"
    assert list(finding.participations.values_list("voter", flat=True)) == [voter.pk]


def builders_content_type(model) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_the_register_keeps_hashes_of_the_network_and_agent_never_the_address(make_campaign, make_user, ids):
    campaign = make_campaign()
    _vote(campaign, make_user(), ids, client=("198.51.100.23", "Firefox/140"))
    _vote(campaign, make_user(), ids, client=("198.51.100.99", "Chrome/141"))
    first, second = Participation.objects.order_by("pk")
    assert first.client_hash == second.client_hash  # one /24
    assert first.agent_hash != second.agent_hash
    assert first.time_bucket is not None
    assert first.time_bucket.minute % 10 == 0
    assert "198.51.100" not in f"{first.client_hash}{first.agent_hash}"


def test_screening_data_is_erased_after_publication_and_retention(make_campaign, make_user, ids, settings):
    settings.SCREENING_RETENTION_DAYS = 30
    campaign = make_campaign()
    _vote(campaign, make_user(), ids, client=("198.51.100.23", "Firefox/140"))
    long_ago = timezone.now() - datetime.timedelta(days=40)
    Campaign.objects.filter(pk=campaign.pk).update(
        voting_opens_at=long_ago - datetime.timedelta(days=2), voting_closes_at=long_ago, closed_at=long_ago
    )
    Campaign.objects.filter(pk=campaign.pk).update(results_published_at=timezone.now() - datetime.timedelta(days=10))
    assert screening_data_erase() == 0
    Campaign.objects.filter(pk=campaign.pk).update(results_published_at=timezone.now() - datetime.timedelta(days=31))
    assert screening_data_erase() == 1
    kept = Participation.objects.get()
    assert (kept.client_hash, kept.agent_hash, kept.time_bucket) == (None, None, None)


def test_the_verification_page_is_the_campaigns_and_404_elsewhere(
    client, keyed, make_user, ids, member, official, other_official
):
    campaign, _key = keyed
    for _ in range(2):
        _vote(campaign, make_user(full_name="Сергей Орлов", birth_date=builders.years_ago(33)), ids)
    _close_and_count(campaign)
    url = reverse("votes:verification", args=[campaign.pk])
    client.force_login(other_official)
    assert client.get(url).status_code == 404
    client.force_login(official)
    page = client.get(url)
    assert page.status_code == 200
    assert "Сергей Орлов" in page.content.decode()
    assert "Аннулировать" not in page.content.decode()  # officials see, the commission decides
    finding = campaign.findings.get()
    assert client.post(url, {"action": "clear", "finding": finding.pk, "note": "x"}).status_code == 404
    client.force_login(member)
    page = client.get(url)
    assert "Аннулировать" in page.content.decode()
    answer = client.post(url, {"action": "clear", "finding": finding.pk, "note": "Однофамильцы"})
    assert answer.status_code == 302
    finding.refresh_from_db()
    assert finding.status == "cleared"


def test_accounts_made_in_bulk_with_one_e_mail_pattern_are_a_finding(keyed, make_user, ids, settings):
    settings.SCREENING_BULK_ACCOUNTS = 3
    campaign, _key = keyed
    bulk = [make_user(email=f"golos.{n}@example.net") for n in range(1, 5)]
    for voter in bulk:
        _vote(campaign, voter, ids)
    _close_and_count(campaign)
    [finding] = campaign.findings.filter(kind="bulk_accounts", evidence__signal="email_pattern")
    assert finding.evidence["pattern"] == "golos#@example.net"
    assert set(finding.participations.values_list("voter", flat=True)) == {v.pk for v in bulk}


def test_one_document_on_two_accounts_is_one_person(keyed, make_user, ids, official):
    from portal.accounts.models import InPersonVerification

    campaign, _key = keyed
    pair = [make_user(), make_user()]
    for voter in pair:
        InPersonVerification.objects.create(
            user=voter, verified_by=official, document_type="passport", document_hmac="ab" * 32
        )
        _vote(campaign, voter, ids)
    _close_and_count(campaign)
    [finding] = campaign.findings.filter(kind="duplicate_person", evidence__signal="document")
    assert set(finding.participations.values_list("voter", flat=True)) == {v.pk for v in pair}


def test_the_commission_list_shows_its_closed_votes_and_is_404_for_residents(client, keyed, member, resident):
    campaign, _key = keyed
    _close_and_count(campaign)
    client.force_login(member)
    page = client.get(reverse("votes:commission")).content.decode()
    assert reverse("votes:verification", args=[campaign.pk]) in page
    client.force_login(resident)
    assert client.get(reverse("votes:commission")).status_code == 404
