"""Money spent far above the estimate (50 000 000 ₽ against 9 500 000 ₽) is taken only
with a reason, which the audit log and the update keep."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent
from projects import services
from projects.models import ProgressUpdate, Proposal
from tests.builders import make_proposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def selected(space):
    return make_proposal(space, status=Proposal.Status.SELECTED, estimated_cost=Decimal(9_500_000))


def _add(proposal, official, spent, reason=""):
    return services.progress_update_add(
        proposal=proposal, author=official, stage="construction", text="Работы идут",
        happened_on=timezone.localdate(), spent_to_date=spent, overrun_reason=reason,
    )  # fmt: skip


def test_far_above_the_estimate_without_a_reason_is_refused(selected, official) -> None:
    with pytest.raises(ValidationError) as error:
        _add(selected, official, Decimal(50_000_000))
    assert error.value.error_dict["overrun_reason"][0].code == "spent_far_above_estimate"
    assert "50\xa0000\xa0000 ₽" in error.value.messages[0]
    assert not ProgressUpdate.objects.exists()
    selected.refresh_from_db()
    assert selected.spent == 0


def test_a_modest_overrun_needs_no_reason(selected, official) -> None:
    _add(selected, official, Decimal(10_000_000))
    selected.refresh_from_db()
    assert selected.spent == Decimal(10_000_000)


def test_with_a_reason_it_is_taken_and_audited(selected, official) -> None:
    update = _add(selected, official, Decimal(50_000_000), reason="Добавлен ремонт набережной по решению думы")
    assert update.overrun_reason.startswith("Добавлен ремонт")
    event = AuditEvent.objects.get(action="action:progress_update_add", object_id=str(update.pk))
    assert event.after["overrun_reason"].startswith("Добавлен ремонт")


def test_a_correction_far_above_needs_the_reason_too(selected, official) -> None:
    update = _add(selected, official, Decimal(1_000_000))
    with pytest.raises(ValidationError) as error:
        services.progress_update_change(
            update=update, official=official, stage="construction", text="Работы идут",
            happened_on=datetime.date.today(), spent_to_date=Decimal(50_000_000),
        )  # fmt: skip
    assert error.value.error_dict["overrun_reason"][0].code == "spent_far_above_estimate"


def test_the_admin_row_asks_for_the_reason(client, selected, official) -> None:
    client.force_login(official)
    url = reverse("admin:projects_proposal_change", args=[selected.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
            "progress_updates-TOTAL_FORMS": "1", "progress_updates-INITIAL_FORMS": "0",
            "progress_updates-0-stage": "construction",
            "progress_updates-0-happened_on": timezone.localdate().isoformat(),
            "progress_updates-0-text": "Работы начались",
            "progress_updates-0-spent_to_date": "50 000 000",
        }
    )  # fmt: skip
    for key in ("submitted_at", "approved_at", "selected_at"):
        value = getattr(selected, key)
        data.pop(key, None)
        data[f"{key}_0"] = timezone.localtime(value).date().isoformat()
        data[f"{key}_1"] = timezone.localtime(value).time().strftime("%H:%M:%S")
    page = client.post(url, data).content.decode()
    assert "намного больше ориентировочной стоимости" in page
    assert not ProgressUpdate.objects.exists()
    data["progress_updates-0-overrun_reason"] = "Добавлен ремонт набережной"
    response = client.post(url, data)
    assert response.status_code == 302, [f.errors for f in response.context["inline_admin_formsets"][1].formset]
    selected.refresh_from_db()
    assert selected.spent == Decimal(50_000_000)
