"""Replies and reports racing a moderator who hides the comment, on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects.models import Comment, CommentReport
from projects.services import comment_hide, comment_post, comment_report
from tests.concurrency import race
from tests.ideas.factories import make_proposal, make_space, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def thread(town):
    proposal = make_proposal(make_space(town))
    author = make_user("author@example.org", municipality=town)
    return Comment.objects.create(proposal=proposal, author=author, body="Нужна горка побольше")


@pytest.fixture
def moderator(town, region):
    from portal.accounts.models import User

    return make_user("moderator@example.org", role=User.Role.MODERATOR, scope_region=region)


def test_a_reply_to_a_comment_being_hidden_waits_and_is_refused(thread, moderator, resident):
    outcome = race(
        lambda: comment_hide(comment=thread, moderator=moderator, reason="Оскорбления"),
        lambda: comment_post(proposal=thread.proposal, author=resident, body="Согласна!", parent=thread),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError) and outcome.second.code == "parent_hidden", outcome.second
    assert not Comment.objects.filter(parent=thread).exists()


def test_a_report_on_a_comment_being_hidden_waits_and_is_refused(thread, moderator, resident):
    outcome = race(
        lambda: comment_hide(comment=thread, moderator=moderator, reason="Оскорбления"),
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError) and outcome.second.code == "hidden", outcome.second
    # No open report is left on a hidden comment.
    assert not CommentReport.objects.filter(comment=thread, resolved_at__isnull=True).exists()


def test_the_same_report_sent_twice_at_once_is_recorded_once(thread, resident):
    outcome = race(
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
    )

    assert isinstance(outcome.first, CommentReport)
    assert isinstance(outcome.second, ValidationError) and outcome.second.code == "duplicate", outcome.second
    assert CommentReport.objects.count() == 1
