"""The officials' dashboard on the admin index: what needs them today, in their scope.

Everything is read through QuerySet methods in a fixed number of queries, whatever the
number of campaigns: turnout comes from the stored live tally (the worker's count), not
from counting ballots in a request.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from projects.models import Comment, Municipality
from votes.models import Campaign, Idea
from votes.turnout import Turnout, participants_by_campaign, turnout_of

# "Closing soon": the last week, when officials remind residents to vote.
CLOSING_SOON = datetime.timedelta(days=7)
# Scopes longer than this are named by their region, not town by town.
SCOPE_NAMES_SHOWN = 5


@dataclass
class OpenVote:
    campaign: Campaign
    ballots: int
    turnout_percent: Decimal | None
    counted_at: datetime.datetime | None
    stale: bool
    # Residents aged 14 and over who took part (the register), against the threshold.
    turnout: Turnout | None = None


@dataclass
class Dashboard:
    scope_label: str
    everywhere: bool
    open_votes: list[OpenVote] = field(default_factory=list)
    closing_soon: list[Campaign] = field(default_factory=list)
    ideas_waiting: int = 0
    comments_reported: int = 0


def _scope_label(user, municipalities: list[Municipality]) -> str:
    if user.role in (user.Role.REGIONAL_OFFICIAL, user.Role.MODERATOR, user.Role.AUDITOR) and user.scope_region_id:
        return str(user.scope_region)
    names = [m.name for m in municipalities]
    if len(names) > SCOPE_NAMES_SHOWN:
        regions = sorted({m.region.name for m in municipalities})
        return ", ".join(regions)
    return ", ".join(names)


def dashboard_for(user, *, now: datetime.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    scope = Municipality.objects.administered_by(user)
    everywhere = bool(user.is_superuser)
    municipalities = [] if everywhere else list(scope.select_related("region").order_by("name"))
    dashboard = Dashboard(scope_label="" if everywhere else _scope_label(user, municipalities), everywhere=everywhere)

    campaigns = Campaign.objects.open(now).select_related("municipality__region").with_live_count()
    if not everywhere:
        campaigns = campaigns.filter(municipality__in=scope)
    stale_after = settings.LIVE_TALLY_INTERVAL * settings.LIVE_TALLY_STALE_INTERVALS
    open_campaigns = list(campaigns.order_by("voting_closes_at", "pk"))
    participants = participants_by_campaign(open_campaigns)
    for campaign in open_campaigns:
        ballots: int = campaign.live_ballots  # type: ignore[attr-defined]  # with_live_count
        counted_at = campaign.live_computed_at  # type: ignore[attr-defined]
        population = campaign.municipality.population
        reference = counted_at or campaign.opened_at or campaign.voting_opens_at
        dashboard.open_votes.append(
            OpenVote(
                campaign=campaign,
                ballots=ballots,
                turnout_percent=(Decimal(ballots * 100) / population).quantize(Decimal("0.01")) if population else None,
                counted_at=counted_at,
                stale=(now - reference).total_seconds() > stale_after,
                turnout=turnout_of(campaign, participants=participants[campaign.pk], now=now),
            )
        )
    dashboard.closing_soon = [
        v.campaign for v in dashboard.open_votes if v.campaign.voting_closes_at <= now + CLOSING_SOON
    ]

    ideas = Idea.objects.pending()
    comments = Comment.objects.reported()
    if not everywhere:
        ideas = ideas.filter(campaign__municipality__in=scope)
        comments = comments.filter(proposal__space__municipality__in=scope)
    dashboard.ideas_waiting = ideas.count()
    dashboard.comments_reported = comments.count()
    return dashboard
