import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.accounts.permissions import OutOfScope
from projects import services
from projects.models import Comment, CommentReport, Proposal
from tests.builders import make_proposal, make_user

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def proposal(space):
    return make_proposal(space)


def test_comment_payloads_are_escaped_on_the_page(client, proposal, resident):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from projects.views import proposal_extras

    services.comment_post(proposal=proposal, author=resident, body=XSS + "\nвторая строка")
    request = RequestFactory().get("/")
    request.user = resident
    html = render_to_string("projects/_discussion.html", {"proposal": proposal, **proposal_extras(request, proposal)})
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<br>вторая строка" in html


def test_posting_through_the_page(client, proposal, resident):
    client.force_login(resident)
    response = client.post(reverse("projects:comment_create", args=[proposal.pk]), {"body": "Хорошая идея"})
    assert response.status_code == 302
    assert Comment.objects.get().body == "Хорошая идея"


def test_anonymous_and_unverified_cannot_comment(client, proposal, town):
    response = client.post(reverse("projects:comment_create", args=[proposal.pk]), {"body": "x"})
    assert response.status_code == 302
    assert "login" in response["Location"]
    unverified = make_user("u@example.org", municipality=town, verified=False)
    with pytest.raises(ValidationError) as refused:
        services.comment_post(proposal=proposal, author=unverified, body="x")
    assert refused.value.code == "unverified"
    assert not Comment.objects.exists()


def test_submitted_ideas_are_not_open_for_comments(space, resident):
    waiting = make_proposal(space, status=Proposal.Status.SUBMITTED, title="Ждёт")
    with pytest.raises(ValidationError) as refused:
        services.comment_post(proposal=waiting, author=resident, body="x")
    assert refused.value.code == "not_public"


def test_replies_are_one_level_deep(proposal, resident, town):
    other = make_user("boris@example.org", verified=True, municipality=town)
    root = services.comment_post(proposal=proposal, author=resident, body="Корень")
    reply = services.comment_post(proposal=proposal, author=other, body="Ответ", parent=root)
    reply_to_reply = services.comment_post(proposal=proposal, author=resident, body="Ответ на ответ", parent=reply)
    assert reply.parent == root
    assert reply_to_reply.parent == root


def test_reply_to_a_comment_of_another_proposal_is_refused(proposal, resident, space):
    other_proposal = make_proposal(space, title="Другое")
    foreign = services.comment_post(proposal=other_proposal, author=resident, body="Там")
    with pytest.raises(ValidationError) as refused:
        services.comment_post(proposal=proposal, author=resident, body="Тут", parent=foreign)
    assert refused.value.code == "parent"


def test_report_once_per_reporter(proposal, resident, town):
    reporter = make_user("boris@example.org", verified=True, municipality=town)
    comment = services.comment_post(proposal=proposal, author=resident, body="Грубость")
    services.comment_report(comment=comment, reporter=reporter, reason="оскорбление")
    with pytest.raises(ValidationError) as error:
        services.comment_report(comment=comment, reporter=reporter, reason="ещё раз")
    assert error.value.code == "duplicate"
    assert CommentReport.objects.count() == 1


def test_hide_with_reason_shows_the_reason(proposal, resident, official, town):
    reporter = make_user("boris@example.org", verified=True, municipality=town)
    comment = services.comment_post(proposal=proposal, author=resident, body="Грубость")
    report = services.comment_report(comment=comment, reporter=reporter, reason="оскорбление")
    services.comment_hide(comment=comment, moderator=official, reason="нарушение правил")
    comment.refresh_from_db()
    report.refresh_from_db()
    assert comment.hidden_at is not None
    assert comment.hidden_by == official
    assert report.resolved_at is not None

    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from projects.views import proposal_extras

    request = RequestFactory().get("/")
    request.user = resident
    html = render_to_string("projects/_discussion.html", {"proposal": proposal, **proposal_extras(request, proposal)})
    assert "нарушение правил" in html
    assert "Грубость" not in html


def test_hide_by_an_official_of_another_municipality_is_refused(proposal, resident, other_official):
    comment = services.comment_post(proposal=proposal, author=resident, body="x")
    with pytest.raises(OutOfScope) as refused:
        services.comment_hide(comment=comment, moderator=other_official, reason="y")
    assert refused.value.code == "out_of_scope"
    comment.refresh_from_db()
    assert comment.hidden_at is None


def test_admin_hide_action_and_scope(client, proposal, resident, official, other_official):
    comment = services.comment_post(proposal=proposal, author=resident, body="x")
    url = reverse("admin:projects_comment_changelist")
    client.force_login(other_official)
    assert client.get(reverse("admin:projects_comment_change", args=[comment.pk])).status_code == 404
    client.force_login(official)
    page = client.post(url, {"action": "hide_comments", "_selected_action": [comment.pk]})
    assert 'name="reason"' in page.content.decode()
    client.post(url, {"action": "hide_comments", "_selected_action": [comment.pk], "confirm": "1", "reason": "спам"})
    comment.refresh_from_db()
    assert comment.hidden_reason == "спам"


def test_posting_is_rate_limited_with_a_clear_message(client, proposal, resident, settings):
    settings.THROTTLE = True
    settings.COMMENT_RATE_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    client.force_login(resident)
    url = reverse("projects:comment_create", args=[proposal.pk])
    statuses = [client.post(url, {"body": f"комментарий {n}"}).status_code for n in range(4)]
    assert statuses[:3] == [302, 302, 302]
    assert statuses[3] == 429
    assert Comment.objects.count() == 3


def test_my_comments_lists_only_my_own_with_their_moderation(client, proposal, resident, official, town):
    other = make_user("vera@example.org", verified=True, municipality=town)
    mine = services.comment_post(proposal=proposal, author=resident, body="Мой комментарий <b>жирно</b>")
    services.comment_post(proposal=proposal, author=other, body="Чужой комментарий")
    services.comment_hide(comment=mine, moderator=official, reason="Не по теме")
    client.force_login(resident)
    html = client.get(reverse("accounts:my_comments")).content.decode()
    assert "Мой комментарий &lt;b&gt;жирно&lt;/b&gt;" in html
    assert "Чужой комментарий" not in html
    assert "Не по теме" in html
    assert f"{proposal.get_absolute_url()}#comment-{mine.pk}" in html
    client.logout()
    assert client.get(reverse("accounts:my_comments")).status_code == 302
