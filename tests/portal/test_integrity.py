"""`violated_constraint` names the constraint behind an IntegrityError on both databases,
so a service maps only its own constraint to a friendly answer."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from lib.integrity import violated_constraint
from portal.accounts.identity import VERIFIED_PHONE_UNIQUE
from projects.services import REPORT_ONCE
from tests.builders import make_municipality, make_space, make_user

pytestmark = pytest.mark.django_db


def test_an_expression_index_is_named():
    town = make_municipality()
    make_space(town, name="Сквер")
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        make_space(town, name="Сквер")  # SQLite lowers ASCII only
    assert violated_constraint(error.value) == "space_unique_name_in_municipality"


def test_a_unique_field_is_named_as_the_services_expect():
    make_user(phone="+79120000001", phone_verified_at=timezone.now())
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        make_user(phone="+79120000001", phone_verified_at=timezone.now())
    assert violated_constraint(error.value) in VERIFIED_PHONE_UNIQUE


def test_a_unique_pair_is_named_as_the_services_expect():
    from projects.models import Comment, CommentReport
    from tests.builders import make_proposal

    proposal = make_proposal()
    comment = Comment.objects.create(proposal=proposal, author=make_user(), body="Хорошо")
    reporter = make_user()
    CommentReport.objects.create(comment=comment, reporter=reporter, reason="Спам")
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        CommentReport.objects.create(comment=comment, reporter=reporter, reason="Спам")
    assert violated_constraint(error.value) in REPORT_ONCE
