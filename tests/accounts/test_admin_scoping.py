"""The officials' admin as a role-by-object matrix.

Municipalities A and B are in the Sverdlovsk region, C in another region. Each role
sees exactly the objects of its scope; anything else answers 404 (change, delete and
history pages, bulk actions) or is missing (change lists, autocomplete). Users who are
not staff are sent to the admin log-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from portal.accounts.models import User
from projects.models import Municipality, Proposal, Space
from tests.builders import make_campaign, make_municipality, make_proposal, make_region, make_space, make_user
from votes.models import Campaign

pytestmark = pytest.mark.django_db

ROLES = [
    "superuser",
    "regional_official",
    "municipal_official_a",
    "municipal_official_b",
    "moderator",
    "auditor",
    "volunteer",
    "resident",
    "anonymous",
]
PLACES = ["A", "B", "C"]
# What each role may read in the admin, and whether it may write.
READS = {
    "superuser": {"A", "B", "C"},
    "regional_official": {"A", "B"},
    "municipal_official_a": {"A"},
    "municipal_official_b": {"B"},
    "moderator": set(),  # staff, but spaces, proposals and campaigns are not theirs
    "auditor": {"A", "B"},
    "volunteer": set(),
    "resident": set(),
    "anonymous": set(),
}
WRITERS = {"superuser", "regional_official", "municipal_official_a", "municipal_official_b"}
NOT_STAFF = {"volunteer", "resident", "anonymous"}
# admin URL name prefix, and the fixture attribute holding its objects
MODELS = {"space": "projects_space", "proposal": "projects_proposal", "campaign": "votes_campaign"}


@dataclass
class World:
    municipalities: dict[str, Municipality]
    spaces: dict[str, Space]
    proposals: dict[str, Proposal]
    campaigns: dict[str, Campaign]
    users: dict[str, User | None]

    def obj(self, model: str, place: str):
        return {"space": self.spaces, "proposal": self.proposals, "campaign": self.campaigns}[model][place]


@pytest.fixture
def world() -> World:
    sverdlovsk = make_region(name="Свердловская область", slug="sve", code="RU-SVE")
    chelyabinsk = make_region(name="Челябинская область", slug="che", code="RU-CHE")
    municipalities = {
        "A": make_municipality(sverdlovsk, name="Екатеринбург", slug="ekaterinburg"),
        "B": make_municipality(sverdlovsk, name="Нижний Тагил", slug="nizhny-tagil"),
        "C": make_municipality(chelyabinsk, name="Челябинск", slug="chelyabinsk"),
    }
    spaces = {key: make_space(m, name=f"Сквер {m.name}") for key, m in municipalities.items()}
    proposals = {key: make_proposal(space, title=f"Проект {key}") for key, space in spaces.items()}
    campaigns = {key: make_campaign(m, title=f"Голосование {key}") for key, m in municipalities.items()}
    R = User.Role
    users: dict[str, User | None] = {
        "superuser": User.objects.create_superuser("root@example.org", "x"),
        "regional_official": make_user(role=R.REGIONAL_OFFICIAL, scope_region=sverdlovsk),
        "municipal_official_a": make_user(role=R.MUNICIPAL_OFFICIAL),
        "municipal_official_b": make_user(role=R.MUNICIPAL_OFFICIAL),
        "moderator": make_user(role=R.MODERATOR, scope_region=sverdlovsk),
        "auditor": make_user(role=R.AUDITOR, scope_region=sverdlovsk),
        "volunteer": make_user(role=R.VOLUNTEER),
        "resident": make_user(municipality=municipalities["A"]),
        "anonymous": None,
    }
    users["municipal_official_a"].scope_municipalities.set([municipalities["A"]])
    users["municipal_official_b"].scope_municipalities.set([municipalities["B"]])
    return World(municipalities, spaces, proposals, campaigns, users)


def client_for(world: World, role: str) -> Client:
    client = Client()
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


MATRIX = [(role, model, place) for role in ROLES for model in MODELS for place in PLACES]
MATRIX_IDS = [f"{role}-{model}-{place}" for role, model, place in MATRIX]


@pytest.mark.parametrize(("role", "model", "place"), MATRIX, ids=MATRIX_IDS)
def test_change_page(world: World, role: str, model: str, place: str) -> None:
    obj = world.obj(model, place)
    response = client_for(world, role).get(f"/admin/{MODELS[model].replace('_', '/', 1)}/{obj.pk}/change/")
    if role in NOT_STAFF:
        assert_sent_to_login(response)
    else:
        assert response.status_code == (200 if place in READS[role] else 404)


@pytest.mark.parametrize(("role", "model", "place"), MATRIX, ids=MATRIX_IDS)
def test_delete_page(world: World, role: str, model: str, place: str) -> None:
    obj = world.obj(model, place)
    response = client_for(world, role).get(f"/admin/{MODELS[model].replace('_', '/', 1)}/{obj.pk}/delete/")
    if role in NOT_STAFF:
        assert_sent_to_login(response)
    elif place not in READS[role]:
        assert response.status_code == 404
    else:
        # Readers who may not write (auditors) are refused, but only inside their scope.
        assert response.status_code == (200 if role in WRITERS else 403)


@pytest.mark.parametrize(("role", "model", "place"), MATRIX, ids=MATRIX_IDS)
def test_history_page(world: World, role: str, model: str, place: str) -> None:
    obj = world.obj(model, place)
    response = client_for(world, role).get(f"/admin/{MODELS[model].replace('_', '/', 1)}/{obj.pk}/history/")
    if role in NOT_STAFF:
        assert_sent_to_login(response)
    else:
        assert response.status_code == (200 if place in READS[role] else 404)


@pytest.mark.parametrize(("role", "model"), [(r, m) for r in ROLES for m in MODELS], ids=lambda v: v)
def test_changelist_lists_exactly_the_scope(world: World, role: str, model: str) -> None:
    response = client_for(world, role).get(f"/admin/{MODELS[model].replace('_', '/', 1)}/")
    if role in NOT_STAFF:
        assert_sent_to_login(response)
        return
    if not READS[role]:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    listed = {obj.pk for obj in response.context["cl"].result_list}
    assert listed == {world.obj(model, place).pk for place in READS[role]}


@pytest.mark.parametrize("model", MODELS)
def test_changelist_filters_name_only_the_scope(world: World, model: str) -> None:
    response = client_for(world, "municipal_official_a").get(f"/admin/{MODELS[model].replace('_', '/', 1)}/")
    html = response.content.decode()
    assert "Екатеринбург" in html
    assert "Нижний Тагил" not in html
    assert "Челябинск" not in html
    assert "Голосование B" not in html


AUTOCOMPLETE = {
    # (source model, field): model of the results
    "space-municipality": ("projects", "space", "municipality", "municipalities"),
    "proposal-space": ("projects", "proposal", "space", "spaces"),
    "campaign-municipality": ("votes", "campaign", "municipality", "municipalities"),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", AUTOCOMPLETE)
def test_autocomplete_offers_only_the_scope(world: World, role: str, endpoint: str) -> None:
    app_label, model_name, field_name, results_of = AUTOCOMPLETE[endpoint]
    response = client_for(world, role).get(
        "/admin/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""},
    )
    if role in NOT_STAFF:
        assert_sent_to_login(response)
        return
    if not READS[role]:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    objects = getattr(world, results_of)
    assert ids == {objects[place].pk for place in READS[role]}


@pytest.mark.parametrize("role", ["regional_official", "municipal_official_a", "municipal_official_b", "auditor"])
@pytest.mark.parametrize("model", MODELS)
def test_bulk_action_with_an_out_of_scope_id_is_404(world: World, role: str, model: str) -> None:
    outside = next(place for place in PLACES if place not in READS[role])
    inside = next(iter(sorted(READS[role])))
    url = f"/admin/{MODELS[model].replace('_', '/', 1)}/"
    client = client_for(world, role)
    mixed = [world.obj(model, inside).pk, world.obj(model, outside).pk]
    response = client.post(url, {"action": "delete_selected", "_selected_action": mixed})
    assert response.status_code == 404
    assert type(world.obj(model, outside)).objects.filter(pk=world.obj(model, outside).pk).exists()


@pytest.mark.parametrize("model", MODELS)
def test_bulk_action_within_scope_reaches_the_confirmation(world: World, model: str) -> None:
    url = f"/admin/{MODELS[model].replace('_', '/', 1)}/"
    response = client_for(world, "municipal_official_a").post(
        url, {"action": "delete_selected", "_selected_action": [world.obj(model, "A").pk]}
    )
    assert response.status_code == 200
    assert "admin/delete_selected_confirmation.html" in [t.name for t in response.templates]
    assert [obj.pk for obj in response.context["queryset"]] == [world.obj(model, "A").pk]


@pytest.mark.parametrize(
    ("role", "place", "accepted"),
    [
        ("municipal_official_a", "A", True),
        ("municipal_official_a", "B", False),
        ("municipal_official_a", "C", False),
        ("regional_official", "B", True),
        ("regional_official", "C", False),
        ("superuser", "C", True),
    ],
)
def test_add_space_in_a_municipality(world: World, role: str, place: str, accepted: bool) -> None:
    municipality = world.municipalities[place]
    response = client_for(world, role).post(
        "/admin/projects/space/add/",
        {
            "municipality": municipality.pk,
            "kind": "courtyard",
            "name": "Новый двор",
            "address": "ул. Мира, 1",
            "latitude": "56.8",
            "longitude": "60.6",
            "area_m2": "1500",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
        },
    )
    created = Space.objects.filter(name="Новый двор", municipality=municipality).exists()
    assert created is accepted
    if accepted:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["municipality"]


def test_add_proposal_for_an_out_of_scope_space_is_refused(world: World) -> None:
    response = client_for(world, "municipal_official_a").post(
        "/admin/projects/proposal/add/",
        {
            "space": world.spaces["B"].pk,
            "title": "Чужой проект",
            "description": "…",
            "estimated_cost": "1000000",
            "spent": "0",
            "status": "submitted",
            "submitted_at_0": "2026-01-10",
            "submitted_at_1": "10:00:00",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
            "progress_updates-TOTAL_FORMS": "0",
            "progress_updates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["space"]
    assert not Proposal.objects.filter(title="Чужой проект").exists()


@pytest.mark.parametrize("role", ROLES)
def test_user_admin_is_for_superusers_only(world: World, role: str) -> None:
    client = client_for(world, role)
    target = world.users["resident"]
    changelist = client.get("/admin/accounts/user/")
    change = client.get(f"/admin/accounts/user/{target.pk}/change/")
    if role in NOT_STAFF:
        assert_sent_to_login(changelist)
        assert_sent_to_login(change)
    elif role == "superuser":
        assert changelist.status_code == 200
        assert change.status_code == 200
    else:
        assert changelist.status_code == 403
        assert change.status_code in (403, 404)
