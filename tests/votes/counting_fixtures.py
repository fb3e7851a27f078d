"""Small builders for counting tests: a municipality, a campaign, entries, ballots.

Ballots are written with the ORM on the 'import' channel (external voter ids), which
the PostgreSQL window trigger lets through, so closed campaigns can hold ballots.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from projects.models import Municipality, Proposal, Region, Space
from votes.models import Ballot, BallotChoice, Campaign, Entry, Participation

# The sample elections kept in the repository (tests/data/pabulib/README.md).
PABULIB_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "pabulib"


def pabulib_samples() -> list[Path]:
    """The 39 sample .pb files: six regular ones, then the 33 irregular ones of more/."""
    return sorted(PABULIB_SAMPLES.glob("*.pb")) + sorted((PABULIB_SAMPLES / "more").glob("*.pb"))


def municipality(name: str = "Verkhnyaya Pyshma", population: int = 1000) -> Municipality:
    region, _ = Region.objects.get_or_create(slug="sverdlovsk", defaults={"name": "Sverdlovsk", "code": "RU-SVE"})
    return Municipality.objects.create(
        region=region,
        name=name,
        slug=name.lower().replace(" ", "-"),
        population=population,
        oktmo=str(65700000 + Municipality.objects.count()),
    )


def campaign(
    *,
    costs: dict[str, int],
    closed: bool = True,
    method: str = "approval",
    rule: str = "greedy",
    budget: int | None = 100,
    max_choices: int = 3,
    **fields,
) -> Campaign:
    now = timezone.now()
    place = fields.pop("municipality", None) or municipality()
    opens = now - timedelta(days=10)
    closes = now - timedelta(days=1) if closed else now + timedelta(days=10)
    obj = Campaign.objects.create(
        municipality=place,
        title="Courtyards 2026",
        year=2026,
        voting_opens_at=opens,
        voting_closes_at=closes,
        method=method,
        min_choices=1,
        max_choices=1 if method == "choose-1" else max_choices,
        budget=Decimal(budget) if budget is not None else None,
        rule=rule,
        **fields,
    )
    Campaign.objects.filter(pk=obj.pk).update(opened_at=opens, closed_at=closes if closed else None)
    obj.refresh_from_db()
    for position, (external_id, cost) in enumerate(costs.items()):
        space = Space.objects.create(
            municipality=place,
            kind=Space.Kind.COURTYARD,
            name=f"Courtyard {external_id} {obj.pk}",
            address=f"Lenina {position + 1}",
            latitude=Decimal("56.98"),
            longitude=Decimal("60.58"),
            area_m2=Decimal(500),
        )
        proposal = Proposal.objects.create(
            space=space,
            title=f"Project {external_id}",
            description="Benches and lights",
            estimated_cost=Decimal(cost),
            status=Proposal.Status.APPROVED,
            submitted_at=now - timedelta(days=30),
            approved_at=now - timedelta(days=20),
        )
        Entry.objects.create(
            campaign=obj, proposal=proposal, external_id=external_id, cost=Decimal(cost), position=position
        )
    return obj


def receipt_of(campaign_id: int, voter: str) -> str:
    return f"R-{campaign_id}-{voter}"


def cast(campaign: Campaign, voter: str, choices: dict[str, int]) -> Ballot:
    """One imported ballot; ``choices`` maps external ids to points (or ranks)."""
    entries = {e.external_id: e for e in campaign.entries.all()}
    Participation.objects.create(campaign=campaign, external_voter_id=voter, channel="import")
    ballot = Ballot.objects.create(
        campaign=campaign, receipt_hash=hashlib.sha256(receipt_of(campaign.pk, voter).encode()).hexdigest()
    )
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot=ballot, campaign=campaign, entry=entries[e], points=p) for e, p in choices.items()
    )
    return ballot
