"""The region statistics page: spaces improved per year and per municipality, and the
turnout of each campaign. Each table is one aggregate query in the database."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F
from django.db.models.functions import ExtractYear
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.replica import reads_from_replica
from projects.models import Proposal
from votes.models import Campaign, Tally
from votes.turnout import participants_by_campaign, turnout_of


def improved_spaces_by_year_and_municipality() -> dict:
    """Distinct spaces with a project completed in each (year, municipality), by the
    local year of `completed_at`, pivoted: rows are municipalities, columns years."""
    rows = list(
        Proposal.objects.filter(status=Proposal.Status.COMPLETED, completed_at__isnull=False)
        .annotate(year=ExtractYear("completed_at"), municipality_name=F("space__municipality__name"))
        .values("year", "space__municipality_id", "municipality_name")
        .annotate(spaces=Count("space", distinct=True))
        .order_by("municipality_name", "year")
    )
    years = sorted({row["year"] for row in rows})
    by_municipality: dict[int, dict] = {}
    for row in rows:
        entry = by_municipality.setdefault(
            row["space__municipality_id"], {"name": row["municipality_name"], "per_year": dict.fromkeys(years, 0)}
        )
        entry["per_year"][row["year"]] = row["spaces"]
    table = [
        {"name": entry["name"], "counts": [entry["per_year"][year] for year in years]}
        for entry in by_municipality.values()
    ]
    # A space belongs to one municipality, so a year's column sums without double counting.
    totals = [sum(row["counts"][index] for row in table) for index in range(len(years))]
    return {"years": years, "rows": table, "totals": totals}


def campaign_turnout() -> list[dict]:
    """Turnout of each campaign whose count is public (`Tally.objects.turnout_public`, the
    rule the results page follows; a live count below the standings threshold included,
    since a number of ballots tells nothing of any choice): ballots counted by its stored
    tally against its municipality's population. Never a live count of the ballot table:
    that would publish the turnout of votes that keep it private until the close."""
    tallies = (
        Tally.objects.turnout_public()
        .values(
            "kind",
            "ballots_counted",
            "campaign_id",
            "campaign__title",
            "campaign__year",
            "campaign__municipality__name",
            "campaign__municipality__population",
        )
        .order_by("-campaign__year", "campaign__municipality__name", "campaign__title")
    )
    rows = list(tallies)
    # Turnout of residents aged 14 and over counts the register (participants), never the
    # box, for the same campaigns the rule above makes public: two queries in all.
    campaigns = {
        c.pk: c
        for c in Campaign.objects.filter(pk__in=[t["campaign_id"] for t in rows]).select_related("municipality__region")
    }
    participants = participants_by_campaign(campaigns.values())
    result = []
    for tally in rows:
        campaign = campaigns[tally["campaign_id"]]
        watch = turnout_of(campaign, participants=participants[campaign.pk])
        population = tally["campaign__municipality__population"]
        ballots = tally["ballots_counted"]
        turnout = Decimal(ballots * 100) / population if population else None
        result.append(
            {
                "pk": tally["campaign_id"],
                "title": tally["campaign__title"],
                "year": tally["campaign__year"],
                "municipality": tally["campaign__municipality__name"],
                "population": population,
                "ballots": ballots,
                "final": tally["kind"] == Tally.Kind.FINAL,
                "turnout_percent": turnout.quantize(Decimal("0.01")) if turnout is not None else None,
                "participants": watch.participants,
                "residents_14_plus": watch.residents_14_plus,
                "turnout_14_percent": watch.percent,
                "threshold": watch.threshold,
                "reached": watch.reached,
            }
        )
    return result


@reads_from_replica
def stats(request: HttpRequest) -> HttpResponse:
    context = {"improved": improved_spaces_by_year_and_municipality(), "turnout": campaign_turnout()}
    return render(request, "portal/stats.html", context)
