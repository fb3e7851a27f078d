"""Design-project lists (one exclusivity group, counted end to end), pictures on the
ballot with "More" in <details>, vote groups, and the widget's per-municipality framing."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from projects.models import EmbedOrigin, Proposal, ProposalPhoto
from projects.services import photo_renditions_store, photo_store
from tests.builders import make_campaign, make_entry, make_proposal, make_space, make_user, png_upload
from tests.votes.test_rules_groups_and_ties import (
    _tie_key,
    greedy_reference,
    greedy_reserve_reference,
    mes_reference,
    top_k_reference,
)
from votes import rules, services
from votes.models import Campaign, Tally, VoteGroup

pytestmark = pytest.mark.django_db


def design_list(town, *, concepts: int = 3, park_name: str = "Преображенский парк", **fields) -> Campaign:
    park = make_space(town, name=park_name)
    make_proposal(park, title="Благоустройство парка", status=Proposal.Status.SELECTED)
    defaults = {"method": "choose-1", "min_choices": 1, "max_choices": 1, "rule": "top-k", "winners": 1, "budget": None}
    campaign = make_campaign(town, kind=Campaign.Kind.DESIGN, design_space=park, **{**defaults, **fields})
    for n in range(1, concepts + 1):
        make_entry(campaign, make_proposal(park, title=f"Концепция {n}", kind=Proposal.Kind.DESIGN), external_id=str(n))
    return campaign


def test_a_design_list_must_name_its_territory_and_a_territory_list_none(town) -> None:
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make_campaign(town, kind=Campaign.Kind.DESIGN)
    assert "campaign_design_names_its_territory" in str(raised.value)
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make_campaign(town, design_space=make_space(town))
    assert "campaign_design_names_its_territory" in str(raised.value)


@pytest.mark.postgres
def test_postgres_keeps_a_lists_territory_and_vote_group_in_its_own_municipality(town, neighbour_town) -> None:
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make_campaign(town, kind=Campaign.Kind.DESIGN, design_space=make_space(neighbour_town))
    assert "campaign_design_space_same_municipality" in str(raised.value)
    group = VoteGroup.objects.create(municipality=neighbour_town, year=2030, title="Голосование")
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make_campaign(town, year=2030, vote_group=group)
    assert "campaign_vote_group_same_municipality_year" in str(raised.value)
    other_year = VoteGroup.objects.create(municipality=town, year=2031, title="Другой год")
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make_campaign(town, year=2030, vote_group=other_year)
    assert "campaign_vote_group_same_municipality_year" in str(raised.value)


# Every rule a design list may use, with what it needs; the rule must never select two
# designs of one territory, whatever the ballots.
RULE_CASES = [
    {"rule": "top-k", "winners": 2, "budget": None},
    {"rule": "greedy", "budget": Decimal(10_000_000)},
    {"rule": "greedy-no-skip", "budget": Decimal(10_000_000)},
    {"rule": "greedy-threshold", "budget": Decimal(10_000_000), "score_threshold": 1},
    {"rule": "greedy-reserve", "budget": Decimal(10_000_000), "reserve_share": Decimal("0.8")},
    {"rule": "equalshares", "budget": Decimal(10_000_000)},
    {"rule": "equalshares/add1", "budget": Decimal(10_000_000)},
]


def design_reference(case: dict, e: dict, *, tie: str) -> list[str]:
    """What each rule selects on `e`, from the references that check rules.py."""
    rule = case["rule"]
    if rule == "top-k":
        return top_k_reference(e, k=case["winners"])
    if rule in ("greedy", "greedy-no-skip", "greedy-threshold"):
        return greedy_reference(e, no_skip=rule == "greedy-no-skip", threshold=case.get("score_threshold"), tie=tie)
    if rule == "greedy-reserve":
        return greedy_reserve_reference(e, reserve_share=Fraction(case["reserve_share"]), tie=tie)
    chosen = mes_reference(e, utility="cost", groups=e["groups"], tie=tie)
    if rule == "equalshares" or chosen:
        # add1 starts with plain MES; once it funds a design, every other is excluded by
        # the list's one group, so the outcome is exhaustive and add1 stops there.
        return chosen
    # Plain MES funded nothing, so nobody has spent: add1 raises everyone's budget alike
    # until a design's supporters can pay for it, the one with the least cost per
    # supporter (distinct values here lie far more than the one-rouble step apart); on
    # equal cost per supporter MES takes the smallest rho, 1 / supporters, then the tie.
    scores = rules.tally_scores(e["method"], e["ballots"], projects=[p.id for p in e["projects"]])
    supporters = {p.id: sum(n for ballot, n in e["ballots"].items() if p.id in dict(ballot)) for p in e["projects"]}
    supported = [p for p in e["projects"] if supporters[p.id]]
    if not supported:
        return []
    best = min(
        supported,
        key=lambda p: (Fraction(p.cost, supporters[p.id]), -supporters[p.id], _tie_key(p, scores, tie, "")),
    )
    return [best.id] if best.cost <= e["budget"] else []


@pytest.mark.parametrize("case", RULE_CASES, ids=lambda case: case["rule"])
def test_every_rule_selects_at_most_one_design_through_the_database_as_the_reference(town, case) -> None:
    """Generated elections (approval, so a ballot may name several designs) cast through
    ballot_cast and counted by the tally service: the stored winners equal the independent
    references of tests/votes/test_rules_groups_and_ties.py (not rules.select itself)
    with the design list's one group, and never hold two designs."""
    rng = random.Random(f"design:{case['rule']}")
    voters = itertools.count(1)
    for election in range(3):
        campaign = design_list(town, concepts=4, park_name=f"Парк {election}", method="approval", max_choices=3, **case)
        entries = list(campaign.entries.order_by("position"))
        for entry in entries:
            entry.cost = Decimal(rng.choice([2, 3, 4, 6])) * 1_000_000
            entry.exclusivity_group = ""  # stored labels do not matter: the list's kind does
            entry.save()
        ballots = []
        for _ in range(rng.randint(4, 9)):
            voter = make_user(f"v{next(voters)}@example.org", verified=True, age=30, municipality=town)
            chosen = rng.sample(entries, rng.randint(1, 3))
            services.ballot_cast(campaign=campaign, voter=voter, choices=[e.pk for e in chosen], channel="web")
            ballots.append(tuple(sorted((e.external_id, 1) for e in chosen)))
        services.campaign_close(campaign=campaign)
        services.tally_compute(campaign_id=campaign.pk, final=True)
        tally = Tally.objects.get(campaign=campaign, kind="final")
        stored = {row.entry.external_id for row in tally.rows.select_related("entry") if row.selected}
        assert len(stored) <= 1, (case, stored)

        counted = {ballot: ballots.count(ballot) for ballot in set(ballots)}
        election_data = {
            "method": "approval",
            "projects": [rules.Project(e.external_id, int(e.cost)) for e in entries],
            "ballots": counted,
            "budget": int(case.get("budget") or 0),
            "groups": dict.fromkeys((e.external_id for e in entries), f"design-{campaign.design_space_id}"),
        }
        assert stored == set(design_reference(case, election_data, tie=campaign.tie_break)), (case, counted)


def test_the_ballot_shows_each_design_with_its_picture_and_more_without_leaving_it(town, resident) -> None:
    campaign = design_list(town)
    entry = campaign.entries.order_by("position").first()
    photo = ProposalPhoto.objects.create(
        proposal=entry.proposal, image=photo_store(file=png_upload()), alt_text="Пирс и амфитеатр у пруда"
    )
    photo_renditions_store(photo=photo)
    ProposalPhoto.objects.create(
        proposal=entry.proposal, image=photo_store(file=png_upload()), kind="plan", alt_text="План парка"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(resident)
    html = client.get(reverse("votes:ballot", args=[campaign.pk])).content.decode()
    assert 'alt="Пирс и амфитеатр у пруда"' in html
    assert 'loading="lazy"' in html
    assert 'width="8" height="8"' in html
    assert "-8w.webp 8w" in html  # the photo's own width is its one copy (it is tiny)
    assert html.count('<details class="entry-more">') == 3
    assert "<summary>Подробнее" in html
    assert "План" in html
    assert 'alt="План парка"' in html


def test_a_campaign_page_names_the_territory_and_the_other_lists_of_its_vote(town) -> None:
    group = VoteGroup.objects.create(municipality=town, year=2031, title="Голосование 2031 года")
    territories = make_campaign(town, year=2031, vote_group=group, title="Территории 2031")
    design = design_list(town, year=2031, vote_group=group, title="Дизайн парка 2031")
    html = Client(HTTP_ACCEPT_LANGUAGE="ru").get(design.get_absolute_url()).content.decode()
    assert "Голосование 2031 года" in html
    assert territories.get_absolute_url() in html
    assert "Преображенский парк" in html
    html = Client(HTTP_ACCEPT_LANGUAGE="ru").get(territories.get_absolute_url()).content.decode()
    assert design.get_absolute_url() in html


# --- The widget ---------------------------------------------------------------------


def test_the_widget_shows_the_open_lists_and_opens_the_ballot_in_a_new_window(town) -> None:
    design = design_list(town)
    make_campaign(town, phase="closed", title="Прошлое голосование")
    response = Client(HTTP_ACCEPT_LANGUAGE="ru").get(reverse("votes:embed", args=[town.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert design.title in html
    assert "Прошлое голосование" not in html
    assert f'href="{reverse("votes:ballot", args=[design.pk])}" target="_blank" rel="noopener"' in html
    assert "Концепция 1" in html


def test_the_widget_may_be_framed_only_by_the_listed_websites(town) -> None:
    url = reverse("votes:embed", args=[town.slug])
    response = Client().get(url)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    EmbedOrigin.objects.create(municipality=town, origin="https://ekburg.ru")
    EmbedOrigin.objects.create(municipality=town, origin="http://127.0.0.1:8181")
    policy = Client().get(url)["Content-Security-Policy"]
    assert "frame-ancestors http://127.0.0.1:8181 https://ekburg.ru" in policy
    assert "default-src 'self'" in policy


@pytest.mark.parametrize("path", ["/", "/proposals/", "/campaigns/", "/accounts/login/"])
def test_every_other_page_still_refuses_to_be_framed(town, path) -> None:
    EmbedOrigin.objects.create(municipality=town, origin="https://ekburg.ru")
    response = Client().get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_an_unknown_municipalitys_widget_is_not_found() -> None:
    assert Client().get(reverse("votes:embed", args=["nowhere"])).status_code == 404


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://ekburg.ru", "https://ekburg.ru"),
        ("HTTPS://Ekburg.RU/", "https://ekburg.ru"),
        ("https://адмгород.рф", "https://" + "адмгород.рф".encode("idna").decode()),
        ("http://127.0.0.1:8181", "http://127.0.0.1:8181"),
    ],
)
def test_officials_type_a_website_and_the_origin_is_stored(typed, stored) -> None:
    from projects.forms import EmbedOriginForm
    from tests.builders import make_municipality

    form = EmbedOriginForm({"origin": typed}, instance=EmbedOrigin(municipality=make_municipality()))
    assert form.is_valid(), form.errors
    assert form.save().origin == stored


@pytest.mark.parametrize(
    "typed",
    ["ekburg.ru", "https://ekburg.ru/vote", "https://*.ekburg.ru", "javascript:alert(1)", "https://a b.ru", "'self'"],
)
def test_anything_but_an_origin_is_refused_with_its_code(typed) -> None:
    from projects.forms import EmbedOriginForm
    from tests.builders import make_municipality

    form = EmbedOriginForm({"origin": typed}, instance=EmbedOrigin(municipality=make_municipality()))
    assert not form.is_valid()
    assert form.errors.as_data()["origin"][0].code == "invalid_origin"
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        EmbedOrigin.objects.create(municipality=make_municipality(), origin=typed)
    assert "embed_origin_is_an_origin" in str(raised.value)


def test_the_admin_shows_the_snippet_and_officials_keep_only_their_websites(town, official, settings) -> None:
    settings.SITE_URL = "https://portal.example.org"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(official)
    url = reverse("admin:projects_municipality_change", args=[town.pk])
    html = client.get(url).content.decode()
    assert f"https://portal.example.org/embed/{town.slug}/" in html
    assert "&lt;iframe" in html
    assert "No website is listed yet" in html
    data = {
        "embed_origins-TOTAL_FORMS": "1",
        "embed_origins-INITIAL_FORMS": "0",
        "embed_origins-MIN_NUM_FORMS": "0",
        "embed_origins-MAX_NUM_FORMS": "1000",
        "embed_origins-0-origin": "https://Ekburg.ru/",
        "name": "Renamed",  # read-only for an official: ignored
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    town.refresh_from_db()
    assert town.name == "Екатеринбург"
    assert list(town.embed_origins.values_list("origin", flat=True)) == ["https://ekburg.ru"]
