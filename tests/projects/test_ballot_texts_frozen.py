"""A proposal's texts are frozen while it is on an open ballot: the admin shows them
read-only, and a typo is corrected only with a reason, recorded in the audit log."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.accounts.permissions import OutOfScope
from portal.audit.models import AuditEvent
from projects import services
from projects.models import Proposal
from tests.builders import make_campaign, make_entry, make_proposal, make_space

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_ballot(town):
    proposal = make_proposal(make_space(town), title="Набережня реки Исеть")
    make_entry(make_campaign(town), proposal)
    return proposal


def test_on_an_open_ballot_the_title_and_description_are_read_only(client, official, on_ballot, town) -> None:
    client.force_login(official)
    page = client.get(reverse("admin:projects_proposal_change", args=[on_ballot.pk]))
    form = page.context["adminform"].form
    assert "title" not in form.fields
    assert "description" not in form.fields
    assert "изменить нельзя" in page.content.decode()
    draft = make_proposal(make_space(town))
    form = client.get(reverse("admin:projects_proposal_change", args=[draft.pk])).context["adminform"].form
    assert "title" in form.fields


def test_a_typo_is_corrected_with_a_reason_and_audited(official, on_ballot) -> None:
    with pytest.raises(ValidationError) as error:
        services.proposal_ballot_text_correct(
            proposal=on_ballot, official=official, title="Набережная реки Исеть",
            description=on_ballot.description, reason="  ",
        )  # fmt: skip
    assert error.value.error_dict["reason"][0].code == "reason_required"
    services.proposal_ballot_text_correct(
        proposal=on_ballot, official=official, title="Набережная реки Исеть",
        description=on_ballot.description, reason="Опечатка в названии",
    )  # fmt: skip
    assert Proposal.objects.get(pk=on_ballot.pk).title == "Набережная реки Исеть"
    event = AuditEvent.objects.get(action="action:proposal_ballot_text_correct")
    assert event.before["title"] == "Набережня реки Исеть"
    assert event.after["reason"] == "Опечатка в названии"


def test_officials_elsewhere_cannot_correct(other_official, on_ballot) -> None:
    with pytest.raises(OutOfScope):
        services.proposal_ballot_text_correct(
            proposal=on_ballot, official=other_official, title="x", description="y", reason="z"
        )


def test_the_admin_action_asks_for_the_reason_then_corrects(client, official, on_ballot) -> None:
    client.force_login(official)
    url = reverse("admin:projects_proposal_changelist")
    base = {"action": "correct_ballot_text", "_selected_action": [on_ballot.pk]}
    page = client.post(url, base).content.decode()
    assert "Исправляйте только опечатки" in page
    client.post(
        url, {**base, "confirm": "1", "title": "Набережная реки Исеть", "description": "Текст", "reason": "Опечатка"}
    )
    on_ballot.refresh_from_db()
    assert on_ballot.title == "Набережная реки Исеть"
