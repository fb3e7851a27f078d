"""Turnout watch: how many residents aged 14 and over took part, against the region's threshold.

Only the register (`Participation`) is counted, never the ballot box: a number of
participants says nothing of any choice. A vote of several lists (a vote group) counts
each resident once, since the register holds one participation per voter per group.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from votes.models import Campaign, Participation

# No projection before the vote has run this long: a few hours of a month-long vote say
# nothing of its close, and the officials would be told "behind pace" on the first morning.
PROJECTION_MIN_ELAPSED = datetime.timedelta(days=1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Turnout:
    participants: int
    residents_14_plus: int | None
    threshold: int
    percent: Decimal | None
    projected_percent: Decimal | None

    @property
    def reached(self) -> bool:
        return self.percent is not None and self.percent >= self.threshold

    @property
    def behind_pace(self) -> bool:
        """The simple linear projection to the close falls short of the threshold."""
        return self.projected_percent is not None and self.projected_percent < self.threshold


def _percent(count: int | Decimal, residents: int | None) -> Decimal | None:
    if not residents:
        return None
    return (Decimal(count) * 100 / residents).quantize(CENT)


def projected_participants(
    *, participants: int, opens_at: datetime.datetime, closes_at: datetime.datetime, now: datetime.datetime
) -> Decimal | None:
    """Participants at the close if they keep coming at the pace so far; None too early."""
    elapsed = min(now, closes_at) - opens_at
    if elapsed < PROJECTION_MIN_ELAPSED:
        return None
    return Decimal(participants) * Decimal((closes_at - opens_at).total_seconds()) / Decimal(elapsed.total_seconds())


def participants_by_campaign(campaigns: Iterable[Campaign]) -> dict[int, int]:
    """Participants in each campaign's vote, in one query whatever their number."""
    campaigns = list(campaigns)
    solo = [c.pk for c in campaigns if c.vote_group_id is None]
    groups = {c.vote_group_id for c in campaigns if c.vote_group_id is not None}
    if not campaigns:
        return {}
    rows = (
        Participation.objects.filter(Q(campaign_id__in=solo, vote_group__isnull=True) | Q(vote_group_id__in=groups))
        .values("campaign_id", "vote_group_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_campaign: dict[int, int] = {}
    by_group: dict[int, int] = {}
    for row in rows:
        if row["vote_group_id"] is not None:
            by_group[row["vote_group_id"]] = by_group.get(row["vote_group_id"], 0) + row["n"]
        else:
            by_campaign[row["campaign_id"]] = by_campaign.get(row["campaign_id"], 0) + row["n"]
    return {
        c.pk: by_group.get(c.vote_group_id, 0) if c.vote_group_id is not None else by_campaign.get(c.pk, 0)
        for c in campaigns
    }


def turnout_of(campaign: Campaign, *, participants: int | None = None, now: datetime.datetime | None = None) -> Turnout:
    """`campaign`'s turnout (select_related("municipality__region")) with `participants`,
    counted in the register when not given (lists of campaigns: participants_by_campaign)."""
    now = now or timezone.now()
    if participants is None:
        participants = Participation.objects.in_vote_of(campaign).count()
    municipality = campaign.municipality
    residents = municipality.residents_14_plus()
    projected = projected_participants(
        participants=participants, opens_at=campaign.voting_opens_at, closes_at=campaign.voting_closes_at, now=now
    )
    return Turnout(
        participants=participants,
        residents_14_plus=residents,
        threshold=municipality.region.turnout_threshold,
        percent=_percent(participants, residents),
        projected_percent=_percent(projected, residents) if projected is not None else None,
    )


@dataclass(frozen=True)
class TurnoutDay:
    day: datetime.date
    participants: int
    cumulative: int
    cumulative_percent: Decimal | None


def turnout_by_day(campaign: Campaign) -> list[TurnoutDay]:
    """Participations per local day of `voted_at`, with the running total and its share."""
    rows = (
        Participation.objects.in_vote_of(campaign)
        .annotate(day=TruncDate("voted_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    residents = campaign.municipality.residents_14_plus()
    days = []
    total = 0
    for row in rows:
        total += row["n"]
        days.append(TurnoutDay(row["day"], row["n"], total, _percent(total, residents)))
    return days
