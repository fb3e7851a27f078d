import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from portal.accounts.permissions import OutOfScope
from projects import services
from projects.models import ProgressUpdate, Proposal
from projects.views import proposal_extras
from tests.builders import make_proposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def selected(space):
    return make_proposal(space, status=Proposal.Status.SELECTED)


def add(proposal, official, stage, day, spent=None):
    return services.progress_update_add(
        proposal=proposal, author=official, stage=stage, text=f"{stage} news", happened_on=day, spent_to_date=spent
    )


def test_updates_move_status_and_dates_consistently(selected, official):
    today = timezone.localdate()
    add(selected, official, ProgressUpdate.Stage.DESIGN, today - datetime.timedelta(days=30))
    selected.refresh_from_db()
    assert selected.status == Proposal.Status.IN_DESIGN
    assert selected.design_at.date() == today - datetime.timedelta(days=30)
    assert selected.construction_at is None

    add(selected, official, ProgressUpdate.Stage.CONTRACT, today - datetime.timedelta(days=20))
    selected.refresh_from_db()
    assert selected.status == Proposal.Status.IN_DESIGN

    add(selected, official, ProgressUpdate.Stage.COMPLETED, today)
    selected.refresh_from_db()
    # Jumping to "completed" fills the construction date the constraints require.
    assert selected.status == Proposal.Status.COMPLETED
    assert selected.construction_at is not None
    assert selected.completed_at.date() == today

    add(selected, official, ProgressUpdate.Stage.DESIGN, today)
    selected.refresh_from_db()
    assert selected.status == Proposal.Status.COMPLETED  # never moves back


def test_updates_are_refused_before_the_vote(space, official):
    approved = make_proposal(space, status=Proposal.Status.APPROVED, title="Ещё не выбран")
    with pytest.raises(ValidationError) as refused:
        add(approved, official, ProgressUpdate.Stage.DESIGN, timezone.localdate())
    assert refused.value.code == "not_selected"
    assert not ProgressUpdate.objects.exists()


def test_updates_by_an_official_of_another_municipality_are_refused(selected, other_official):
    with pytest.raises(OutOfScope) as refused:
        add(selected, other_official, ProgressUpdate.Stage.DESIGN, timezone.localdate())
    assert refused.value.code == "out_of_scope"
    selected.refresh_from_db()
    assert selected.status == Proposal.Status.SELECTED


def test_spent_against_the_estimate_is_shown(selected, official, resident):
    add(selected, official, ProgressUpdate.Stage.CONSTRUCTION, timezone.localdate(), spent=Decimal("250000"))
    selected.refresh_from_db()
    assert selected.spent == Decimal("250000")
    request = RequestFactory().get("/")
    request.user = resident
    extras = proposal_extras(request, selected)
    assert extras["works"]["spent_percent"] == 25
    html = render_to_string("projects/_works.html", {"proposal": selected, **extras})
    assert 'value="25"' in html
    assert "25 %" in html
    stages = {item["stage"]: item for item in extras["works"]["stages"]}
    assert stages["design"]["done"]
    assert stages["contract"]["done"]
    assert stages["construction"]["done"]
    assert not stages["completed"]["done"]
    assert stages["completed"].get("current")


def test_no_works_section_before_the_vote(space, resident):
    approved = make_proposal(space, status=Proposal.Status.APPROVED, title="Ещё не выбран")
    request = RequestFactory().get("/")
    request.user = resident
    assert proposal_extras(request, approved)["works"] is None


def test_admin_inline_goes_through_the_service(client, selected, official):
    from django.urls import reverse

    client.force_login(official)
    url = reverse("admin:projects_proposal_change", args=[selected.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
            "progress_updates-TOTAL_FORMS": "1",
            "progress_updates-INITIAL_FORMS": "0",
            "progress_updates-0-stage": "construction",
            "progress_updates-0-happened_on": timezone.localdate().isoformat(),
            "progress_updates-0-text": "Работы начались",
            "progress_updates-0-spent_to_date": "100000",
        }
    )
    for key in ("submitted_at", "approved_at", "selected_at"):
        value = getattr(selected, key)
        data.pop(key, None)
        data[f"{key}_0"] = timezone.localtime(value).date().isoformat()
        data[f"{key}_1"] = timezone.localtime(value).time().strftime("%H:%M:%S")
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    selected.refresh_from_db()
    assert selected.status == Proposal.Status.UNDER_CONSTRUCTION
    assert selected.spent == Decimal("100000")
    assert ProgressUpdate.objects.get().author == official
