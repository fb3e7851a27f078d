"""Replies and reports racing a moderator who hides the comment, on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects.models import Comment, CommentReport
from projects.services import comment_hide, comment_post, comment_report
from tests.builders import make_proposal, make_space, make_user
from tests.concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def thread(town):
    proposal = make_proposal(make_space(town))
    author = make_user("author@example.org", municipality=town)
    return Comment.objects.create(proposal=proposal, author=author, body="Нужна горка побольше")


def test_a_reply_to_a_comment_being_hidden_waits_and_is_refused(thread, moderator, resident):
    outcome = race(
        lambda: comment_hide(comment=thread, moderator=moderator, reason="Оскорбления"),
        lambda: comment_post(proposal=thread.proposal, author=resident, body="Согласна!", parent=thread),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "parent_hidden"
    assert not Comment.objects.filter(parent=thread).exists()


def test_a_report_on_a_comment_being_hidden_waits_and_is_refused(thread, moderator, resident):
    outcome = race(
        lambda: comment_hide(comment=thread, moderator=moderator, reason="Оскорбления"),
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
    )

    assert outcome.second_waited
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "hidden"
    # No open report is left on a hidden comment.
    assert not CommentReport.objects.filter(comment=thread, resolved_at__isnull=True).exists()


def test_the_same_report_sent_twice_at_once_is_recorded_once(thread, resident):
    outcome = race(
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
        lambda: comment_report(comment=thread, reporter=resident, reason="Грубость"),
    )

    assert isinstance(outcome.first, CommentReport)
    assert isinstance(outcome.second, ValidationError), outcome.second
    assert outcome.second.code == "duplicate"
    assert CommentReport.objects.count() == 1
