"""Every database check a form can reach speaks plain Russian on its field, never the
constraint's name («Нарушено ограничение "campaign_choice_limits_ordered"»)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import modelform_factory
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lib.constraints import ConstraintErrorsOnFields
from tests.builders import make_campaign, make_proposal
from votes.models import Campaign

pytestmark = pytest.mark.django_db


# Models that forms edit; ballots, their choices and tallies are written by services only.
FORM_MODELS = {"Campaign", "Entry", "Municipality", "EmbedOrigin", "Space", "SpacePhoto", "ProposalPhoto",
               "Proposal", "ProgressUpdate", "Comment", "User"}  # fmt: skip


def _check_constraints():
    for model in apps.get_models():
        if model.__name__ in FORM_MODELS:
            assert issubclass(model, ConstraintErrorsOnFields), model
            for constraint in model._meta.constraints:
                if isinstance(constraint, models.CheckConstraint):
                    yield model, constraint


def test_every_check_constraint_has_its_own_message_and_code() -> None:
    for _model, constraint in _check_constraints():
        assert constraint.violation_error_message != constraint.default_violation_error_message, constraint.name
        assert constraint.violation_error_code, constraint.name


def test_every_field_named_for_a_message_exists_on_its_model() -> None:
    for model, constraint in _check_constraints():
        if issubclass(model, ConstraintErrorsOnFields):
            field = model.CONSTRAINT_FIELDS.get(constraint.violation_error_code)
            if field is not None:
                model._meta.get_field(field)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"min_choices": 3, "max_choices": 2}, "max_choices", "наибольшее число выборов не может быть меньше"),
        ({"budget": Decimal(0)}, "budget", "Бюджет должен быть больше нуля."),
        ({"voting_closes_at": "opens"}, "voting_closes_at", "Голосование должно закрываться позже"),
        ({"ideas_open_at": "-2d", "ideas_close_at": "+1d"}, "ideas_close_at", "Сбор идей должен закончиться"),
    ],
)
def test_campaign_form_puts_the_message_on_the_field(town, changes, field, message) -> None:
    campaign = make_campaign(town, phase="upcoming")
    Form = modelform_factory(Campaign, exclude=["tie_break_seed", "import_irregularities"])
    data = {k: v for k, v in Form(instance=campaign).initial.items() if v is not None}
    opens = campaign.voting_opens_at
    for name, value in changes.items():
        if value == "opens":
            value = opens
        elif isinstance(value, str):
            value = opens + datetime.timedelta(days=int(value[:-1]))
        data[name] = value
    form = Form(data=data, instance=campaign)
    assert not form.is_valid()
    assert any(message in text for text in form.errors.get(field, [])), form.errors
    assert "ограничение" not in str(form.errors)
    assert form.errors[field].as_data()[0].code  # the constraint's code, for callers


def test_proposal_spent_below_zero_is_told_on_the_field(town) -> None:
    proposal = make_proposal()
    proposal.spent = Decimal(-1)
    with pytest.raises(ValidationError) as error:
        proposal.full_clean()
    assert error.value.message_dict["spent"] == ["Израсходованная сумма не может быть отрицательной."]
    assert error.value.error_dict["spent"][0].code == "proposal_spent_not_negative"


def test_the_admin_change_page_shows_the_message_not_the_constraint_name(superuser, town) -> None:
    campaign = make_campaign(town, phase="upcoming")
    client = Client()
    client.force_login(superuser)
    url = reverse("admin:votes_campaign_change", args=[campaign.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update({"min_choices": 3, "max_choices": 2, "municipality": town.pk})
    for key in ("voting_opens_at", "voting_closes_at"):
        local = timezone.localtime(getattr(campaign, key))
        data[f"{key}_0"], data[f"{key}_1"] = local.strftime("%d.%m.%Y"), local.strftime("%H:%M:%S")
    data.update({"entries-TOTAL_FORMS": 0, "entries-INITIAL_FORMS": 0})
    page = client.post(url, data).content.decode()
    assert "наибольшее число выборов не может быть меньше наименьшего" in page
    assert "campaign_choice_limits_ordered" not in page
