"""The verification after the close: the screening of the register, the commission's
decisions, its approval, and the erasure of what the screening kept.

`screening_run` reads only the register (participations, their accounts, the audit log)
and never the box: a finding names participations, its evidence counts, hashes and
times, never a choice. Idempotent: open findings are replaced by the new run's, decided
ones stay (and a finding the commission decided is not raised again); an open finding
found again keeps its id.

The commission of the campaign's municipality decides (votes.permissions): it clears a
finding, or annuls the ballot of a named participation, opening its sealed link with the
commission's key (votes.services.commission), which is used in memory and never stored.
The box keeps the reason's category only and loses the choices; the register keeps the
`Annulment` and no ballot id. A recount follows. Publication waits for the approval.
"""

from __future__ import annotations

import datetime
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lib.queue import task_send_on_commit
from portal.accounts.models import InPersonVerification, User
from portal.audit.models import AuditEvent
from portal.audit.services import audit_decision, audit_snapshot
from votes import tasks
from votes.models import Annulment, AnnulmentReason, Ballot, BallotChoice, Campaign, Finding, Participation
from votes.permissions import can_decide_verification
from votes.services.commission import participation_link_open
from votes.services.tallies import tally_enqueue

Rows = Sequence[Mapping[str, Any]]  # participations with their accounts, as values()

# Accounts made this long before the vote opened count as made "shortly before" it.
BULK_LEAD = datetime.timedelta(days=7)
# The volunteer statistics need a few volunteers to compare with.
MIN_VOLUNTEERS = 3


class VerificationError(Exception):
    """A decision that cannot be made; `code` for programs (not_commission, not_closed,
    results_published, finding_decided, already_annulled, findings_open, invalid_reason,
    no_ballot)."""

    def __init__(self, message: str | Promise, *, code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


@dataclass
class _Found:
    kind: str
    evidence: dict[str, Any]
    participations: set[int] = field(default_factory=set)


# ------------------------------------------------------------------ the screening


def _by_person(rows: Rows) -> list[_Found]:
    found = []
    by_name: dict[tuple[str, datetime.date], set[int]] = defaultdict(set)
    by_phone: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        name = " ".join((row["voter__full_name"] or "").casefold().split())
        if name and row["voter__birth_date"] is not None:
            by_name[(name, row["voter__birth_date"])].add(row["pk"])
        if row["voter__phone"]:
            by_phone[row["voter__phone"]].add(row["pk"])
    for group in by_name.values():
        if len(group) > 1:
            found.append(
                _Found(Finding.Kind.DUPLICATE_PERSON, {"signal": "name_birth_date", "accounts": len(group)}, group)
            )
    verified = {row["voter__phone"] for row in rows if row["voter__phone_verified_at"] is not None}
    for phone, group in by_phone.items():
        if len(group) > 1 and phone in verified:
            found.append(_Found(Finding.Kind.DUPLICATE_PERSON, {"signal": "phone", "accounts": len(group)}, group))
    participation_of = {row["voter_id"]: row["pk"] for row in rows}
    by_document: dict[str, set[int]] = defaultdict(set)
    checks = InPersonVerification.objects.filter(user_id__in=participation_of).values_list("document_hmac", "user_id")
    for document, user_id in checks:
        by_document[document].add(participation_of[user_id])
    for group in by_document.values():
        if len(group) > 1:
            found.append(_Found(Finding.Kind.DUPLICATE_PERSON, {"signal": "document", "accounts": len(group)}, group))
    return found


def _email_pattern(email: str) -> str:
    local, _at, domain = email.lower().partition("@")
    return re.sub(r"[0-9]+", "#", re.sub(r"[._+-]", "", local)) + "@" + domain


def _windows_of(items: list[tuple[datetime.datetime, int]], window: datetime.timedelta, least: int) -> list[set[int]]:
    """Maximal runs of at least `least` items whose times lie within `window` of the first."""
    items.sort()
    runs: list[set[int]] = []
    start = 0
    for end in range(len(items)):
        while items[end][0] - items[start][0] > window:
            start += 1
        if end - start + 1 >= least:
            run = {pk for _t, pk in items[start : end + 1]}
            if runs and runs[-1] & run:
                runs[-1] |= run
            else:
                runs.append(run)
    return runs


def _bulk_accounts(campaign: Campaign, rows: Rows) -> list[_Found]:
    since = campaign.voting_opens_at - BULK_LEAD
    until = campaign.closed_at or campaign.voting_closes_at
    window = datetime.timedelta(minutes=settings.SCREENING_BULK_WINDOW_MINUTES)
    least = settings.SCREENING_BULK_ACCOUNTS
    groups: dict[tuple[str, str], list[tuple[datetime.datetime, int]]] = defaultdict(list)
    for row in rows:
        joined = row["voter__date_joined"]
        if joined is None or not since <= joined <= until:
            continue
        if row["client_hash"]:
            groups[("network", row["client_hash"])].append((joined, row["pk"]))
        groups[("email_pattern", _email_pattern(row["voter__email"] or ""))].append((joined, row["pk"]))
    found = []
    for (signal, key), items in groups.items():
        for run in _windows_of(items, window, least):
            evidence = {"signal": signal, "accounts": len(run), "window_minutes": window.seconds // 60}
            evidence["network_hash" if signal == "network" else "pattern"] = key
            found.append(_Found(Finding.Kind.BULK_ACCOUNTS, evidence, run))
    return found


def _bursts(rows: Rows) -> list[_Found]:
    threshold = settings.SCREENING_BURST_THRESHOLD
    groups: dict[tuple[str, str, datetime.datetime], set[int]] = defaultdict(set)
    for row in rows:
        if row["time_bucket"] is None:
            continue
        if row["client_hash"]:
            groups[("network_hash", row["client_hash"], row["time_bucket"])].add(row["pk"])
        if row["agent_hash"]:
            groups[("agent_hash", row["agent_hash"], row["time_bucket"])].add(row["pk"])
    found, seen = [], []
    for (signal, key, bucket), group in groups.items():
        if len(group) > threshold and group not in seen:
            seen.append(group)
            evidence = {
                signal: key,
                "bucket": bucket.isoformat(),
                "bucket_minutes": settings.SCREENING_TIME_BUCKET_MINUTES,
                "participations": len(group),
                "threshold": threshold,
            }
            found.append(_Found(Finding.Kind.BURST, evidence, group))
    return found


def _outliers(values: dict[Any, float]) -> tuple[float, float, list[Any]]:
    """Keys whose value is above median + k·MAD (MAD at least 1: small counts are steps)."""
    median = statistics.median(values.values())
    mad = max(statistics.median(abs(v - median) for v in values.values()), 1.0)
    limit = median + settings.SCREENING_OUTLIER_K * mad
    return median, mad, [key for key, value in values.items() if value > limit]


def _volunteer_outliers(campaign: Campaign, rows: Rows) -> list[_Found]:
    assisted = [row for row in rows if row["volunteer_id"] is not None]
    if len({row["volunteer_id"] for row in assisted}) < MIN_VOLUNTEERS:
        return []
    found = []
    per_hour: dict[tuple[int, datetime.datetime], set[int]] = defaultdict(set)
    for row in assisted:
        per_hour[(row["volunteer_id"], row["hour"])].add(row["pk"])
    median, mad, high = _outliers({key: float(len(group)) for key, group in per_hour.items()})
    for volunteer_id, hour in high:
        group = per_hour[(volunteer_id, hour)]
        evidence = {
            "signal": "per_hour",
            "volunteer": volunteer_id,
            "hour": hour.isoformat(),
            "participations": len(group),
            "median": median,
            "mad": mad,
        }
        found.append(_Found(Finding.Kind.VOLUNTEER_OUTLIER, evidence, group))
    # Ages of the residents each volunteer entered: a volunteer far from the others either way.
    day = timezone.localdate(campaign.voting_opens_at)
    ages: dict[int, list[int]] = defaultdict(list)
    pks: dict[int, set[int]] = defaultdict(set)
    for row in assisted:
        born = row["voter__birth_date"]
        if born is not None:
            ages[row["volunteer_id"]].append(day.year - born.year - ((day.month, day.day) < (born.month, born.day)))
            pks[row["volunteer_id"]].add(row["pk"])
    if len(ages) >= MIN_VOLUNTEERS:
        medians = {volunteer: float(statistics.median(values)) for volunteer, values in ages.items()}
        centre = statistics.median(medians.values())
        spread = max(statistics.median(abs(v - centre) for v in medians.values()), 1.0)
        for volunteer, value in medians.items():
            if abs(value - centre) > settings.SCREENING_OUTLIER_K * spread:
                evidence = {"signal": "ages", "volunteer": volunteer, "median_age": value, "others_median": centre}
                found.append(_Found(Finding.Kind.VOLUNTEER_OUTLIER, evidence, pks[volunteer]))
    return found


def _eligibility_changed(campaign: Campaign, rows: Rows) -> list[_Found]:
    participation_of = {str(row["voter_id"]): row["pk"] for row in rows if row["voter_id"] is not None}
    events = AuditEvent.objects.filter(
        action="action:eligibility_correct",
        content_type=ContentType.objects.get_for_model(User),
        object_id__in=participation_of,
        at__gte=campaign.voting_opens_at,
        at__lte=campaign.closed_at or campaign.voting_closes_at,
    ).values_list("object_id", "at")
    changed: dict[str, list[datetime.datetime]] = defaultdict(list)
    for object_id, at in events:
        changed[object_id].append(at)
    return [
        _Found(
            Finding.Kind.ELIGIBILITY_CHANGED,
            {"signal": "eligibility_correct", "changes": len(times), "first": min(times).isoformat()},
            {participation_of[object_id]},
        )
        for object_id, times in changed.items()
    ]


def screening_findings(campaign: Campaign) -> list[_Found]:
    """What the screening finds in the campaign's register now (not stored)."""
    rows = list(
        Participation.objects.filter(campaign=campaign, annulment__isnull=True, voter__isnull=False)
        .annotate(hour=TruncHour("voted_at"))
        .values(
            "pk",
            "voter_id",
            "volunteer_id",
            "client_hash",
            "agent_hash",
            "time_bucket",
            "hour",
            "voter__full_name",
            "voter__birth_date",
            "voter__phone",
            "voter__phone_verified_at",
            "voter__email",
            "voter__date_joined",
        )
    )
    return [
        *_by_person(rows),
        *_bulk_accounts(campaign, rows),
        *_bursts(rows),
        *_volunteer_outliers(campaign, rows),
        *_eligibility_changed(campaign, rows),
    ]


def screening_run(*, campaign_id: int) -> int:
    """Screen a closed campaign's register; store the findings; return how many are open."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.phase() != "closed":
            return 0
        found = screening_findings(campaign)
        known = {
            (finding.kind, frozenset(p.pk for p in finding.participations.all())): finding
            for finding in campaign.findings.prefetch_related("participations")
        }
        kept: set[int] = set()
        for item in found:
            finding = known.get((item.kind, frozenset(item.participations)))
            if finding is not None:  # decided ones stay decided; open ones keep their id
                if finding.status == Finding.Status.OPEN and finding.evidence != item.evidence:
                    finding.evidence = item.evidence
                    finding.save(update_fields=["evidence"])
                kept.add(finding.pk)
                continue
            finding = Finding.objects.create(campaign=campaign, kind=item.kind, evidence=item.evidence)
            finding.participations.set(item.participations)
            kept.add(finding.pk)
        campaign.findings.open().exclude(pk__in=kept).delete()  # no longer found
        return campaign.findings.open().count()


def screening_enqueue(*, campaign_id: int) -> None:
    """Screen the register once the final tally's transaction commits."""
    task_send_on_commit(tasks.screening_run, campaign_id)


def screening_data_erase(*, now: datetime.datetime | None = None) -> int:
    """Erase the screening's hashes and buckets of votes published more than
    SCREENING_RETENTION_DAYS ago (152-ФЗ: kept no longer than their purpose needs)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.SCREENING_RETENTION_DAYS)
    return (
        Participation.objects.filter(campaign__results_published_at__lt=cutoff)
        .exclude(client_hash__isnull=True, agent_hash__isnull=True, time_bucket__isnull=True)
        .update(client_hash=None, agent_hash=None, time_bucket=None)
    )


# ------------------------------------------------------------------ the decisions


def _decision_checks(actor: Any, campaign: Campaign) -> None:
    if not can_decide_verification(actor, campaign):
        raise VerificationError(_("Only the campaign's commission decides on the verification."), code="not_commission")
    if campaign.phase() != "closed":
        raise VerificationError(_("The campaign is not closed yet."), code="not_closed")
    if campaign.results_published_at is not None:
        raise VerificationError(_("The results are published: the verification is over."), code="results_published")


def _approval_withdrawn(campaign: Campaign) -> None:
    # A new decision changes what was approved: the commission approves again.
    if campaign.verification_approved_at is not None:
        campaign.verification_approved_at = None
        campaign.verification_approved_by = None
        campaign.save(update_fields=["verification_approved_at", "verification_approved_by"])


def finding_clear(*, finding: Finding, actor: Any, note: str) -> Finding:
    """The commission finds nothing wrong: the finding is closed, its ballots counted."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().select_related("campaign").get(pk=finding.pk)
        campaign = Campaign.objects.select_for_update().get(pk=finding.campaign_id)
        _decision_checks(actor, campaign)
        if finding.status != Finding.Status.OPEN:
            raise VerificationError(_("This finding is decided already."), code="finding_decided")
        before = audit_snapshot(finding)
        finding.status = Finding.Status.CLEARED
        finding.decided_by, finding.decided_at, finding.note = actor, timezone.now(), note.strip()
        finding.save()
        audit_decision(
            actor=actor, name="finding_clear", obj=finding, before=before, municipality=campaign.municipality
        )
    return finding


def participation_annul(
    *,
    participation: Participation,
    actor: Any,
    reason: str,
    note: str,
    key_texts: Iterable[str],
    finding: Finding | None = None,
) -> Annulment:
    """Annul the ballot of the named participation: its sealed link opened with the
    commission's key (in memory only), the ballot marked with the reason's category and
    emptied of its choices, the `Annulment` recorded; a recount follows the commit.
    Raises VerificationError, or CommissionKeyError for a wrong or missing key."""
    if reason not in AnnulmentReason.values:
        raise VerificationError(_("Choose the reason of the annulment."), code="invalid_reason")
    campaign = Campaign.objects.get(pk=participation.campaign_id)
    _decision_checks(actor, campaign)
    if Annulment.objects.filter(participation=participation).exists():
        raise VerificationError(_("This participation's ballot is annulled already."), code="already_annulled")
    receipt = participation_link_open(
        participation=participation, key_texts=key_texts, reason=f"annulment: {reason}", actor=actor
    )
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _decision_checks(actor, campaign)
        ballot = Ballot.objects.select_for_update().filter(campaign=campaign, receipt_hash=receipt).first()
        if ballot is None or ballot.annulled_reason:
            raise VerificationError(_("The ballot of this participation is not in the box."), code="no_ballot")
        ballot.annulled_reason = reason
        ballot.save(update_fields=["annulled_reason"])
        # The register names whose ballot it was: its choices go, so nobody can read them.
        BallotChoice.objects.filter(ballot=ballot).delete()
        annulment = Annulment.objects.create(
            participation=participation, reason=reason, note=note.strip(), finding=finding, decided_by=actor
        )
        if finding is not None and finding.status == Finding.Status.OPEN:
            before = audit_snapshot(finding)
            finding.status = Finding.Status.ANNULLED
            finding.decided_by, finding.decided_at, finding.note = actor, annulment.decided_at, note.strip()
            finding.save()
            audit_decision(
                actor=actor, name="finding_annul", obj=finding, before=before, municipality=campaign.municipality
            )
        audit_decision(
            actor=actor, name="participation_annul", obj=annulment, before=None, municipality=campaign.municipality
        )
        _approval_withdrawn(campaign)
        tally_enqueue(campaign=campaign, final=True)
    return annulment


def verification_approve(*, campaign: Campaign, actor: Any) -> Campaign:
    """The commission approves the verification: only with no finding open (screened
    again first, so nothing new slipped in since). Publication waits for it."""
    _decision_checks(actor, campaign)
    screening_run(campaign_id=campaign.pk)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _decision_checks(actor, campaign)
        if campaign.findings.open().exists():
            raise VerificationError(_("Decide every open finding first."), code="findings_open")
        if campaign.verification_approved_at is None:
            before = audit_snapshot(campaign)
            campaign.verification_approved_at = timezone.now()
            campaign.verification_approved_by = actor
            campaign.save(update_fields=["verification_approved_at", "verification_approved_by"])
            audit_decision(
                actor=actor,
                name="verification_approve",
                obj=campaign,
                before=before,
                municipality=campaign.municipality,
            )
    return campaign
