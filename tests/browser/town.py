"""A small town for the browser tests: a courtyard and a square with proposals, a
campaign open for voting, one that is counted and published, and a verified resident."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Space
from tests.builders import (
    approve_verification,
    make_campaign,
    make_entry,
    make_municipality,
    make_proposal,
    make_region,
    make_space,
    make_user,
)
from votes import services
from votes.models import Campaign, Channel

# Long Russian words and addresses are what overflow a phone screen first.
COURTYARD_NAME = "Двор на Театральной, 12"
SQUARE_NAME = "Сквер у Дома культуры имени Маяковского"


@dataclass
class Town:
    municipality: Municipality
    courtyard: Space
    square: Space
    proposals: list[Proposal]
    campaign: Campaign
    resident: User


def build_town(*, open_campaign: bool = True) -> Town:
    region = make_region(name="Свердловская область", slug="sverdlovsk", code="RU-SVE")
    municipality = make_municipality(region, name="Берёзовский городской округ", slug="berezovsky", population=60_000)
    courtyard = make_space(
        municipality,
        kind=Space.Kind.COURTYARD,
        name=COURTYARD_NAME,
        address="ул. Театральная, 12, Берёзовский",
        area_m2=Decimal(2400),
        description="Двор пятиэтажек: старая детская площадка, нет освещения вдоль дорожек.",
    )
    square = make_space(
        municipality,
        name=SQUARE_NAME,
        address="ул. Ленина, 40, Берёзовский",
        latitude=Decimal("56.910000"),
        longitude=Decimal("60.800000"),
        area_m2=Decimal(8000),
    )
    proposals = [
        make_proposal(
            courtyard,
            title="Новая детская площадка и освещение двора",
            description="Заменить старые качели, положить резиновое покрытие, поставить фонари вдоль дорожек.",
            estimated_cost=Decimal(4_500_000),
        ),
        make_proposal(
            square,
            title="Благоустройство сквера: скамейки, деревья, фонтан",
            description="Высадить липы, поставить скамейки и восстановить фонтан.",
            estimated_cost=Decimal(7_000_000),
        ),
        make_proposal(
            square,
            title="Велопарковка и навигация",
            description="Велопарковка на 20 мест и указатели.",
            estimated_cost=Decimal(800_000),
        ),
    ]
    now = timezone.now()
    campaign = make_campaign(
        municipality,
        title="Голосование за объекты благоустройства 2026",
        voting_opens_at=now - datetime.timedelta(days=1) if open_campaign else now + datetime.timedelta(days=20),
        voting_closes_at=now + datetime.timedelta(days=10) if open_campaign else now + datetime.timedelta(days=40),
        budget=Decimal(10_000_000),
        max_choices=2,
    )
    for position, proposal in enumerate(proposals, start=1):
        make_entry(campaign, proposal, external_id=str(position), position=position)
    resident = make_user(
        email="resident@example.org",
        full_name="Анна Сергеевна Иванова",
        birth_date=datetime.date(1990, 5, 17),
        municipality=municipality,
        verified_at=now,
    )
    return Town(municipality, courtyard, square, proposals, campaign, resident)


def count_and_publish(campaign: Campaign) -> None:
    """What happens after the vote: the close, the final tally, the publication (the same
    services the clock task, the Celery task and the admin action call)."""
    services.campaign_close(campaign=campaign)
    services.tally_compute(campaign_id=campaign.pk, final=True)  # seals through the eager ledger_seal task
    approve_verification(campaign)
    services.results_publish(campaign=campaign)


def published_campaign(town: Town, *, voters: int = 3) -> tuple[Campaign, str]:
    """Cast a few ballots in the town's campaign, count and publish it.

    Returns the campaign and the receipt code of the resident's ballot."""
    entries = list(town.campaign.entries.order_by("position"))
    cast = services.ballot_cast(
        campaign=town.campaign, voter=town.resident, choices=[(entries[0].pk, 1)], channel=Channel.WEB
    )
    for n in range(voters - 1):
        neighbour = make_user(
            birth_date=datetime.date(1980, 1, 1 + n),
            municipality=town.municipality,
            verified_at=timezone.now(),
        )
        choices = [(entries[0].pk, 1), (entries[2].pk, 1)] if n % 2 == 0 else [(entries[1].pk, 1)]
        services.ballot_cast(campaign=town.campaign, voter=neighbour, choices=choices, channel=Channel.WEB)
    count_and_publish(town.campaign)
    town.campaign.refresh_from_db()
    return town.campaign, cast.receipt
