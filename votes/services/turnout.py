"""Telling officials that a vote of their municipality is behind pace, once a day at most."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from lib.queue import task_send_on_commit
from portal.accounts.models import User
from votes import tasks
from votes.models import Campaign, TurnoutNotice
from votes.turnout import participants_by_campaign, turnout_of


def turnout_notices_send(*, now: datetime.datetime | None = None) -> list[int]:
    """For each open vote whose projected turnout at the close is below its region's
    threshold, record a notice for each of its municipality's officials who has none
    today and e-mail it after commit; the ids of the notices made. Run by beat hourly:
    the unique (campaign, official, day) row makes every later run that day a no-op."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    campaigns = list(Campaign.objects.open(now).select_related("municipality__region"))
    counts = participants_by_campaign(campaigns)
    made: list[int] = []
    for campaign in campaigns:
        turnout = turnout_of(campaign, participants=counts[campaign.pk], now=now)
        if not turnout.behind_pace:
            continue
        officials = User.objects.filter(
            is_active=True, role=User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=campaign.municipality_id
        ).exclude(email="")
        for official in officials:
            try:
                with transaction.atomic():
                    notice = TurnoutNotice.objects.create(
                        campaign=campaign,
                        official=official,
                        sent_on=today,
                        sent_at=now,
                        projected_percent=turnout.projected_percent or Decimal(0),
                    )
                    task_send_on_commit(tasks.notify_turnout_behind, notice.pk)
            except IntegrityError:
                continue  # told already today (another run got there first)
            made.append(notice.pk)
    return made
