"""Importing a published election (a pabulib file) as a closed campaign with its ballots."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from votes import rules
from votes.models import Campaign, Entry
from votes.services.ballots import ImportedBallot, ballots_import
from votes.services.errors import TallyError


def _pb_date(text: str, *, end: bool) -> datetime.datetime:
    """A pabulib date ("09.09.2019", "2019-09-09" or a bare year "2022") as an aware
    datetime: the start of that day (or year), or, for the end date, the start of the next."""
    from datetime import date, timedelta

    text = (text or "").strip()
    try:
        if len(text) == 4 and text.isdigit():
            day = date(int(text) + (1 if end else 0), 1, 1)
            return timezone.make_aware(datetime.datetime(day.year, day.month, day.day))  # noqa: DTZ001
        if "." in text:
            d, m, y = (int(x) for x in text.split("."))
            day = date(y, m, d)
        else:
            day = date.fromisoformat(text)
    except ValueError as exc:
        raise TallyError(f"unreadable date {text!r} (expected DD.MM.YYYY, YYYY-MM-DD or YYYY)") from exc
    if end:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day))  # noqa: DTZ001


def _placeholder_oktmo(country: str, unit: str) -> str:
    # pabulib files name foreign cities, which have no OKTMO code; the model requires 8
    # digits, so this is a deterministic PLACEHOLDER derived from a hash, not a real code.
    digest = hashlib.sha256(f"pabulib:{country}/{unit}".encode()).hexdigest()
    return str(int(digest, 16) % 10**8).zfill(8)


def _voter_ids(votes: list[dict]) -> list[str]:
    """The file's voter ids, a repeated one numbered ("17", "17#2"): both votes count
    (pabulib.parse lists the repeat), and the database keeps one ballot per id."""
    seen: set[str] = set()
    out = []
    for vote in votes:
        base = str(vote["voter_id"])[:60]
        vid, n = base, 1
        while vid in seen:
            n += 1
            vid = f"{base}#{n}"
        seen.add(vid)
        out.append(vid)
    return out


def campaign_import_pabulib(
    *, election, choice=None, population: int | None = None, chunk_size: int = 5000
) -> Campaign:
    """Create a closed campaign, with its entries and every vote as an imported ballot,
    from a parsed pabulib election (``votes.pabulib.PbElection``) counted as ``choice``
    says (``votes.pabulib.RuleChoice``; by default what the file itself says).

    Money is kept exactly; what the file departed from the format in, and how the rule
    was read, are stored on the campaign (``import_irregularities``, shown to officials
    in the admin). The municipality (and region, from the country) is created if
    missing; its population defaults to the number of voters since .pb files do not
    record it.
    """
    import hashlib

    from django.utils.text import slugify

    from projects.services import ImportedProposal, municipality_get_or_create, proposals_import
    from votes import pabulib

    meta = election.meta
    method = election.vote_type
    try:
        if choice is None:
            choice = pabulib.resolve_rule(election)
        data = pabulib.to_rules_input(election)
    except pabulib.PabulibError as exc:
        raise TallyError(str(exc)) from exc
    rule = choice.rule
    costs = election.costs()
    budget = election.budget
    if budget <= 0:
        raise TallyError(f"line {election.meta_lines.get('budget')}: the budget must be positive")
    for pid, cost in costs.items():
        if cost <= 0:
            raise TallyError(
                f"line {election.project_lines.get(pid)}: project {pid!r} costs {cost}: entries must cost more than 0"
            )
    country = meta.get("country") or "Unknown"
    unit = meta.get("unit") or meta.get("description") or "Unknown"
    opens = _pb_date(meta.get("date_begin") or meta.get("instance", ""), end=False)
    closes = _pb_date(meta.get("date_end") or meta.get("date_begin") or meta.get("instance", ""), end=True)
    if closes <= opens:
        raise TallyError("date_end is before date_begin")
    try:
        year = int(meta.get("instance", ""))
    except ValueError:
        year = timezone.localtime(closes).year
    if not 2000 <= year <= 2100:
        year = timezone.localtime(closes).year
    n_projects = len(data.projects)
    if method == rules.CHOOSE_ONE:
        min_choices = max_choices = 1
    else:
        min_choices = max(data.min_length or 1, 1)
        max_choices = max(data.max_length or n_projects, min_choices)
    points = None
    if method == rules.CUMULATIVE:
        try:
            declared = int(Decimal((meta.get("max_sum_points") or "0").replace(",", ".")))
        except ArithmeticError:
            declared = 0
        points = declared or max((sum(p for _, p in b) for b in data.ballots), default=0) or 1
    n_voters = len(election.votes)
    irregularities = [item.as_dict() for item in [*election.irregularities, *choice.notes]]

    with transaction.atomic():
        municipality = municipality_get_or_create(
            region_slug=(slugify(country) or "region")[:100],
            region_name=country,
            region_code="PB-" + hashlib.sha256(country.encode()).hexdigest()[:7].upper(),
            name=unit,
            slug=slugify(f"{country} {unit}")[:100] or _placeholder_oktmo(country, unit),
            oktmo=_placeholder_oktmo(country, unit),
            population=population or max(n_voters, 1),
        )
        campaign = Campaign.objects.create(
            municipality=municipality,
            title=(meta.get("description") or f"{unit} {year}")[:200],
            description=meta.get("comment", ""),
            year=year,
            voting_opens_at=opens,
            voting_closes_at=closes,
            method=method,
            min_choices=min_choices,
            max_choices=max_choices,
            points=points,
            budget=budget,
            rule=rule,
            winners=n_projects if rule == rules.TOP_K else None,
            # A file's threshold holds under every greedy rule that declares one.
            score_threshold=data.threshold if rule in rules.GREEDY_RULES else None,
            reserve_share=Decimal(choice.reserve_share.numerator) / choice.reserve_share.denominator
            if choice.reserve_share is not None
            else None,
            tie_break=choice.tie_break,
            **({"tie_break_seed": choice.tie_seed} if choice.tie_seed else {}),
            imported_rule=choice.file_rule[:32],
            import_irregularities=irregularities,
        )
        # The window lies in the past: the campaign is imported closed.
        Campaign.objects.filter(pk=campaign.pk).update(opened_at=opens, closed_at=closes)
        campaign.refresh_from_db()
        tag = f"[pb {campaign.pk}]"
        proposals = proposals_import(
            municipality=municipality,
            rows=[
                ImportedProposal(
                    # Unique per municipality: the campaign and project id make it so.
                    space_name=f"{(row.get('name') or row['project_id'])[:150]} {tag} {row['project_id']}"[:200],
                    address=row.get("address") or unit,
                    space_description=row.get("description", ""),
                    latitude=Decimal(row.get("latitude") or 0),
                    longitude=Decimal(row.get("longitude") or 0),
                    title=(row.get("name") or row["project_id"])[:200],
                    description=row.get("description") or row.get("name") or row["project_id"],
                    cost=costs[project.id],
                )
                for row, project in zip(election.projects, data.projects, strict=True)
            ],
            approved_at=opens,
        )
        entries = Entry.objects.bulk_create(
            Entry(
                campaign=campaign,
                proposal=proposal,
                external_id=project.id,
                cost=costs[project.id],
                position=i,
                exclusivity_group=choice.groups.get(project.id, ""),
            )
            for i, (proposal, project) in enumerate(zip(proposals, data.projects, strict=True))
        )
        entry_of = {e.external_id: e for e in entries}
        voter_ids = _voter_ids(election.votes)

        def imported() -> Iterator[ImportedBallot]:
            for vote, voter_id in zip(election.votes, voter_ids, strict=True):
                ids = vote["vote_list"]
                if method == rules.CUMULATIVE:
                    values = vote.get("points_list") or []
                elif method == rules.ORDINAL:
                    values = range(1, len(ids) + 1)
                else:
                    values = [1] * len(ids)
                yield ImportedBallot(
                    external_voter_id=voter_id,
                    voted_at=closes,
                    # No receipt was ever shown: a deterministic hash keeps the ledger stable.
                    receipt_hash=hashlib.sha256(f"pabulib:{campaign.pk}:{voter_id}".encode()).hexdigest(),
                    choices=[(entry_of[pid], int(v)) for pid, v in zip(ids, values, strict=True) if int(v) > 0],
                )

        ballots_import(campaign=campaign, ballots=imported(), chunk_size=chunk_size)
    return campaign
