"""A campaign's lifecycle: opened and closed by the clock task or by an official."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit.services import audit_decision, audit_snapshot
from votes.models import Campaign
from votes.results import results_page_invalidate_on_commit
from votes.services.errors import CampaignNotOpen
from votes.services.notifications import notifications_campaign_opened_enqueue
from votes.services.tallies import tally_enqueue


def _database_clock() -> datetime.datetime:
    """The time on the database's clock, the one the register's trigger stamps voted_at with.

    Closing with the same clock as casting means "no ballot after the close" holds even
    when a web host's clock drifts. clock_timestamp(), not now(): now() is the start of
    the transaction, which may be before the lock was granted.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def campaign_open(*, campaign: Campaign, actor: Any = None) -> Campaign:
    """Stamp the campaign as opened (idempotent); a closed campaign is never reopened.

    Whether ballots are accepted follows the voting window; `opened_at` records when the
    portal (the clock task, `actor` None, or an official) announced the opening.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.closed_at is not None:
            raise CampaignNotOpen(_("A closed campaign cannot be opened again."), code="campaign_closed")
        if locked.opened_at is None:
            before = audit_snapshot(locked)
            locked.opened_at = timezone.now()
            locked.save(update_fields=["opened_at"])
            audit_decision(actor=actor, name="campaign_open", obj=locked, before=before)
            # Residents who can vote hear of it once, after the opening commits.
            notifications_campaign_opened_enqueue(campaign=locked)
    campaign.opened_at = locked.opened_at
    return locked


def campaign_close(*, campaign: Campaign, actor: Any = None) -> Campaign:
    """Close the campaign to ballots (idempotent: closing a closed campaign changes nothing).

    Every ballot insert holds FOR KEY SHARE on the campaign row (trigger of migration
    0002) until its transaction ends. FOR UPDATE here waits for those ballots in
    flight, and closed_at is read from the clock only after the lock is granted, so
    every ballot committed before has voted_at < closed_at and every later insert sees
    closed_at and is refused. Ballots do not block each other: only the close waits.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.closed_at is None:
            before = audit_snapshot(locked)
            locked.closed_at = _database_clock()
            locked.save(update_fields=["closed_at"])
            audit_decision(actor=actor, name="campaign_close", obj=locked, before=before)
            results_page_invalidate_on_commit(campaign_id=locked.pk)  # live standings leave the page
            # Whoever closes (the clock or an official), the final count follows the commit.
            tally_enqueue(campaign=locked, final=True)
    campaign.closed_at = locked.closed_at
    return locked


def campaigns_clock_tick(*, now: datetime.datetime | None = None) -> tuple[list[int], list[int]]:
    """Open the campaigns whose voting has started and close those whose voting ended.

    Returns the ids (opened, closed). Safe with two beats at once: each campaign is
    locked (SKIP LOCKED) and re-checked, so a second run finds nothing left to do; the
    final tally is enqueued after the close commits.
    """
    now = now or timezone.now()
    opened: list[int] = []
    closed: list[int] = []
    due_open = Campaign.objects.filter(
        opened_at__isnull=True, closed_at__isnull=True, voting_opens_at__lte=now, voting_closes_at__gt=now
    ).values_list("pk", flat=True)
    for pk in list(due_open):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, opened_at__isnull=True, closed_at__isnull=True)
                .first()
            )
            if campaign is not None:
                campaign_open(campaign=campaign)
                opened.append(pk)
    due_close = Campaign.objects.filter(closed_at__isnull=True, voting_closes_at__lte=now).values_list("pk", flat=True)
    for pk in list(due_close):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True).filter(pk=pk, closed_at__isnull=True).first()
            )
            if campaign is not None:
                campaign_close(campaign=campaign)  # enqueues the final tally on commit
                closed.append(pk)
    return opened, closed
