"""The permission matrix: every admin URL and every API route, for every role.

The cases are generated: every registered ModelAdmin gives its changelist and add URLs
and, for an object in municipality A, in B (same region) and in C (another region),
its change, delete and history URLs; every API route comes from /api/v1/schema/. So a
new admin or route is covered without editing this file (a scoped model without an
object factory below fails `test_every_scoped_admin_has_an_object_factory`).

Expectations are an explicit table per DESIGN.md: non-staff are sent to the admin
log-in; staff outside their scope get 404 (never 403: ids cannot be probed); staff
see in-scope objects of the models their role reads, and get 403 on the others.
"""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.models import User
from portal.accounts.scoped_admin import ScopedAdmin
from portal.accounts.services import api_token_issue
from projects.models import Comment, CommentReport, Municipality
from tests.builders import (
    make_ballot,
    make_campaign,
    make_entry,
    make_participation,
    make_proposal,
    make_space,
    make_user,
)
from votes.models import Idea, Tally, VoteGroup

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "resident",
    "volunteer",
    "moderator",
    "official_a",
    "official_b",
    "regional",
    "auditor",
    "commission_a",
    "superuser",
]
# Which of the towns A, B (region 1) and C (region 2) each role administers.
SCOPE = {
    "moderator": {"A", "B"},
    "official_a": {"A"},
    "official_b": {"B"},
    "regional": {"A", "B"},
    "auditor": {"A"},
    # The commission enters the admin but reads none of its models: it works on the
    # verification page (tests/votes/test_verification.py), so every object is 404.
    "commission_a": {"A"},
    "superuser": {"A", "B", "C"},
}
STAFF = set(SCOPE)
OFFICIALS = {"official_a", "official_b", "regional"}
# Who may read each admin (the explicit table; DESIGN.md: officials run the process,
# auditors read, moderators triage ideas and comments, the rest is the superuser's).
SCOPED_READERS = OFFICIALS | {"auditor", "superuser"}
READERS = {
    "projects.municipality": SCOPED_READERS,
    "projects.space": SCOPED_READERS,
    "projects.proposal": SCOPED_READERS,
    "projects.comment": SCOPED_READERS | {"moderator"},
    "projects.commentreport": SCOPED_READERS,
    "votes.campaign": SCOPED_READERS,
    "votes.ballot": SCOPED_READERS,
    "votes.participation": SCOPED_READERS,
    "votes.tally": SCOPED_READERS,
    "votes.idea": SCOPED_READERS | {"moderator"},
    "votes.votegroup": SCOPED_READERS,
    "audit.auditevent": {"auditor", "superuser"},
}
SUPERUSER_ONLY = {"superuser"}


def readers(label: str) -> set[str]:
    return READERS.get(label, SUPERUSER_ONLY)


def expected_admin(role: str, label: str, action: str, town: str | None) -> set[int]:
    if role not in STAFF:
        return {302}  # to the admin log-in
    if role == "superuser":
        return {200, 403} if action in ("add", "delete") else {200}  # 403: adding ballots is refused to all
    if label not in READERS:
        return {403}
    if town is not None and town not in SCOPE[role]:
        return {404}
    if role not in readers(label):
        # The list says 403; an object page may say 404 (the queryset is empty for
        # them): neither confirms that the object exists.
        return {403} if town is None else {403, 404}
    if action in ("add", "delete"):
        return {200, 403}  # writers (officials) vs read-only roles; the admin-scoping tests pin these down
    return {200}


# --- objects in A, B and C for each scoped admin -----------------------------------------


def _proposal(town):
    return make_proposal(make_space(town))


_emails = itertools.count(1)


def _someone():
    return make_user(f"someone{next(_emails)}@example.org")


def _comment(town):
    return Comment.objects.create(proposal=_proposal(town), author=_someone(), body="Хорошо")


def _campaign(town):
    campaign = make_campaign(town)
    make_entry(campaign)
    return campaign


FACTORIES = {
    "projects.municipality": lambda town: town,
    "projects.space": make_space,
    "projects.proposal": _proposal,
    "projects.comment": _comment,
    "projects.commentreport": lambda town: CommentReport.objects.create(
        comment=_comment(town), reporter=_someone(), reason="Спам"
    ),
    "votes.campaign": _campaign,
    "votes.votegroup": lambda town: VoteGroup.objects.create(municipality=town, year=2027, title="Голосование 2027"),
    "votes.ballot": lambda town: make_ballot(_campaign(town)),
    "votes.participation": lambda town: make_participation(_campaign(town)),
    "votes.tally": lambda town: Tally.objects.create(
        campaign=_campaign(town), kind="live", status="done", computed_at=timezone.now(), started_at=timezone.now()
    ),
    "votes.idea": lambda town: Idea.objects.create(
        campaign=make_campaign(
            town,
            ideas_open_at=timezone.now() - datetime.timedelta(days=1),
            ideas_close_at=timezone.now() + datetime.timedelta(days=1),
            voting_opens_at=timezone.now() + datetime.timedelta(days=5),
            voting_closes_at=timezone.now() + datetime.timedelta(days=9),
        ),
        proposal=_proposal(town),
    ),
}

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def test_every_scoped_admin_has_an_object_factory():
    scoped = {model._meta.label_lower for model, model_admin in MODEL_ADMINS if isinstance(model_admin, ScopedAdmin)}
    assert scoped == set(FACTORIES)
    assert scoped <= set(READERS)


@pytest.fixture
def cast(region, other_region, town_a, town_b, town_c, superuser):
    towns = {"A": town_a, "B": town_b, "C": town_c}
    users = {
        "anonymous": None,
        "resident": make_user("m-resident@example.org", municipality=town_a),
        "volunteer": make_user("m-volunteer@example.org", User.Role.VOLUNTEER),
        "moderator": make_user("m-moderator@example.org", User.Role.MODERATOR, scope_region=region),
        "official_a": make_user("m-off-a@example.org", User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=[town_a]),
        "official_b": make_user("m-off-b@example.org", User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=[town_b]),
        "regional": make_user("m-regional@example.org", User.Role.REGIONAL_OFFICIAL, scope_region=region),
        "auditor": make_user("m-auditor@example.org", User.Role.AUDITOR, scope_municipalities=[town_a]),
        "commission_a": make_user(
            "m-commission@example.org", User.Role.COMMISSION_MEMBER, scope_municipalities=[town_a]
        ),
        "superuser": superuser,
    }
    for user in users.values():
        if user is not None and not user.is_verified:  # as everyone with an API token is
            user.verified_at = timezone.now()
            user.save(update_fields=["verified_at"])
    return towns, users


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_admin_matrix(cast):
    towns, users = cast
    cases = []
    for model, _model_admin in MODEL_ADMINS:
        label = model._meta.label_lower
        info = (model._meta.app_label, model._meta.model_name)
        cases.append((label, "changelist", None, reverse("admin:{}_{}_changelist".format(*info))))
        cases.append((label, "add", None, reverse("admin:{}_{}_add".format(*info))))
        if label in FACTORIES:
            for name, town in towns.items():
                obj = FACTORIES[label](town)
                for action in ("change", "delete", "history"):
                    cases.append((label, action, name, reverse(f"admin:{info[0]}_{info[1]}_{action}", args=[obj.pk])))
    assert len(cases) > 60
    failures = []
    for role in ROLES:
        client = client_for(users[role])
        for label, action, town, url in cases:
            status = client.get(url).status_code
            wanted = expected_admin(role, label, action, town)
            if status not in wanted:
                failures.append(f"{role:10} {action:10} {label:24} town={town} {url}: {status}, expected {wanted}")
    assert not failures, "\n".join(failures)


# --- API ------------------------------------------------------------------------------------


def api_operations() -> list[tuple[str, str]]:
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def expected_api(role: str, method: str, path: str) -> set[int]:
    """An empty JSON body everywhere: authenticated callers who may call get 400."""
    if (method, path) == ("DELETE", "/api/v1/auth/token/"):
        return {401} if role == "anonymous" else {204}  # revokes the caller's own token
    if path == "/api/v1/auth/token/":
        return {400}
    if path in ("/api/v1/campaigns/", "/api/v1/campaigns/{id}/"):
        return {200}
    if path == "/api/v1/campaigns/{id}/results/":
        return {404}  # nothing published yet: hidden from everyone
    if role == "anonymous":
        return {401}
    if path == "/api/v1/ballots/mine/":
        return {200}
    if path == "/api/v1/campaigns/{id}/ballots/":
        return {400}
    if path in ("/api/v1/volunteer/ballots/", "/api/v1/volunteer/codes/"):
        return {400} if role in ("volunteer", "superuser") else {403}  # can_assist: volunteers, superusers
    raise AssertionError(f"no expectation for {method} {path}: add it to the table")


def test_api_matrix(cast):
    towns, users = cast
    campaign = _campaign(towns["A"])
    operations = api_operations()
    assert len(operations) >= 7
    failures = []
    for role in ROLES:
        for method, path in operations:
            client = APIClient()
            if users[role] is not None:
                # A token per call: DELETE /auth/token/ revokes the one it is called with.
                client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=users[role])}")
            url = path.replace("{id}", str(campaign.pk))
            response = client.generic(method, url, "{}", content_type="application/json")
            wanted = expected_api(role, method, path)
            if response.status_code not in wanted:
                failures.append(f"{role:10} {method} {path}: {response.status_code}, expected {wanted}")
    assert not failures, "\n".join(failures)


def test_towns_are_distinct(cast):
    towns, _users = cast
    assert Municipality.objects.filter(pk__in=[t.pk for t in towns.values()]).count() == 3
