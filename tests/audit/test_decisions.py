"""Every official decision leaves its audit event, recorded inside the service that makes
it, so the admin, the API, commands and tasks are all covered (one test per decision)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.accounts.permissions import OutOfScope
from portal.accounts.services import official_assign
from portal.audit.models import AuditEvent
from projects import services as projects_services
from projects.models import Comment, ProgressUpdate, Proposal
from tests.builders import approve_verification, make_campaign, make_entry, make_proposal, make_space, make_user
from votes import services
from votes.models import Tally

pytestmark = pytest.mark.django_db


def decisions(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=f"action:{name}").order_by("pk"))


@pytest.fixture
def idea(town, cast):
    now = timezone.now()
    campaign = make_campaign(
        town,
        ideas_open_at=now - datetime.timedelta(days=1),
        ideas_close_at=now + datetime.timedelta(days=5),
        voting_opens_at=now + datetime.timedelta(days=10),
        voting_closes_at=now + datetime.timedelta(days=40),
    )
    return services.idea_submit(
        campaign=campaign,
        author=cast.resident,
        space=make_space(town),
        title="Лавочки у пруда",
        description="Нужны лавочки",
        estimated_cost=Decimal(500_000),
    )


def test_idea_approval_is_recorded_with_its_official_and_the_status_change(idea, official, town):
    services.idea_approve(idea=idea, official=official)

    [event] = decisions("idea_approve")
    assert (event.actor, event.municipality, event.object_id) == (official, town, str(idea.proposal_id))
    assert (event.before["status"], event.after["status"]) == ("submitted", "approved")


def test_idea_approved_through_the_admin_is_recorded_once(client, idea, official):
    client.force_login(official)
    response = client.post(
        reverse("admin:votes_idea_changelist"), {"action": "approve_ideas", "_selected_action": [idea.pk]}
    )

    assert response.status_code == 302
    assert Proposal.objects.get(pk=idea.proposal_id).status == Proposal.Status.APPROVED
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor, event.ip) == ("action:idea_approve", official, None)


def test_idea_merge_is_recorded(idea, official, town):
    target = make_proposal(make_space(town))

    services.idea_merge(idea=idea, into=target, official=official)

    [event] = decisions("idea_merge")
    assert event.actor == official
    assert (event.after["status"], event.after["merged_into_id"]) == ("merged", target.pk)


def test_idea_rejection_is_recorded_with_its_reason(idea, official):
    services.idea_reject(idea=idea, official=official, reason="Уже в плане на 2027 год")

    [event] = decisions("idea_reject")
    assert event.actor == official
    assert event.after["rejection_reason"] == "Уже в плане на 2027 год"


def test_a_refused_decision_records_nothing(idea, cast):
    with pytest.raises(OutOfScope) as refused:
        services.idea_reject(idea=idea, official=cast.official_elsewhere, reason="нет")

    assert refused.value.code == "out_of_scope"
    assert not AuditEvent.objects.exists()


@pytest.fixture
def counted(town):
    """A closed campaign with its final tally done and sealed, results not yet published."""
    campaign = make_campaign(town, rule="top-k", winners=1)
    make_entry(campaign)
    services.campaign_close(campaign=campaign)
    services.tally_compute(campaign_id=campaign.pk, final=True)
    services.ledger_seal(campaign_id=campaign.pk)
    return campaign


def test_publication_is_recorded_with_its_official(counted, official):
    approve_verification(counted)
    services.results_publish(campaign=counted, actor=official)

    [event] = decisions("results_publish")
    assert (event.actor, event.object_id) == (official, str(counted.pk))
    assert event.before["results_published_at"] is None
    assert event.after["results_published_at"] is not None


def test_publication_through_the_admin_is_recorded_once(client, counted, official):
    approve_verification(counted)
    client.force_login(official)
    client.post(
        reverse("admin:votes_campaign_changelist"), {"action": "publish_results", "_selected_action": [counted.pk]}
    )

    events = AuditEvent.objects.filter(
        object_id=str(counted.pk), action__in=["action:results_publish", "action:publish_results"]
    )
    assert [(e.action, e.actor) for e in events] == [("action:results_publish", official)]


def test_a_recount_asked_by_an_official_is_recorded(town, official, django_capture_on_commit_callbacks):
    campaign = make_campaign(town)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        recount = services.tally_recount(campaign=campaign, actor=official)

    assert not recount.results_stand
    assert len(queued) == 1  # the live tally, after commit
    [event] = decisions("tally_recount")
    assert (event.actor, event.object_id) == (official, str(campaign.pk))


def test_the_seal_is_recorded_as_the_systems(town):
    campaign = make_campaign(town)
    make_entry(campaign)
    services.campaign_close(campaign=campaign)
    tally = services.tally_compute(campaign_id=campaign.pk, final=True)

    head = services.ledger_seal(campaign_id=campaign.pk)
    services.ledger_seal(campaign_id=campaign.pk)  # sealed already: nothing new

    [event] = decisions("ledger_seal")
    assert (event.actor, event.actor_role, event.object_id) == (None, "system", str(tally.pk))
    assert (event.before["ledger_head"], event.after["ledger_head"]) == ("", head)
    assert Tally.objects.get(pk=tally.pk).ledger_head == head


def test_opening_and_closing_by_an_official_are_recorded(town, official):
    now = timezone.now()
    campaign = make_campaign(town)

    services.campaign_open(campaign=campaign, actor=official)
    services.campaign_close(campaign=campaign, actor=official)
    services.campaign_close(campaign=campaign, actor=official)  # closed already: nothing new

    opened, closed = decisions("campaign_open"), decisions("campaign_close")
    assert [(e.actor, e.before["opened_at"]) for e in opened] == [(official, None)]
    assert [(e.actor, e.before["closed_at"]) for e in closed] == [(official, None)]
    assert datetime.datetime.fromisoformat(closed[0].after["closed_at"]) >= now


def test_opening_and_closing_by_the_clock_are_the_systems(town):
    now = timezone.now()
    campaign = make_campaign(town, voting_opens_at=now - datetime.timedelta(hours=1))

    services.campaigns_clock_tick(now=now)
    services.campaigns_clock_tick(now=campaign.voting_closes_at + datetime.timedelta(seconds=1))

    assert [e.actor_role for e in decisions("campaign_open")] == ["system"]
    assert [e.actor_role for e in decisions("campaign_close")] == ["system"]


@pytest.fixture
def selected(town):
    now = timezone.now()
    return make_proposal(make_space(town), status=Proposal.Status.SELECTED, selected_at=now)


def test_progress_updates_added_changed_and_deleted_are_recorded(selected, official):
    today = timezone.localdate()
    update = projects_services.progress_update_add(
        proposal=selected, author=official, stage="design", text="Проект заказан", happened_on=today
    )
    projects_services.progress_update_change(
        update=update, official=official, stage="design", text="Проект готов", happened_on=today
    )
    projects_services.progress_update_delete(update=update, official=official)

    events = AuditEvent.objects.filter(content_type__model="progressupdate").order_by("pk")
    assert [e.action for e in events] == ["action:progress_update_add", "action:progress_update_change", "delete"]
    assert [e.actor for e in events] == [official] * 3
    assert (events[1].before["text"], events[1].after["text"]) == ("Проект заказан", "Проект готов")
    assert events[2].before["text"] == "Проект готов"
    assert not ProgressUpdate.objects.exists()


def test_a_progress_update_deleted_from_the_proposal_admin_is_recorded(client, selected, official):
    update = projects_services.progress_update_add(
        proposal=selected, author=official, stage="design", text="Проект заказан", happened_on=timezone.localdate()
    )
    selected.refresh_from_db()
    client.force_login(official)
    data = {
        "space": selected.space_id,
        "title": selected.title,
        "kind": selected.kind,
        "description": selected.description,
        "estimated_cost": str(selected.estimated_cost),
        "spent": str(selected.spent),
        "status": selected.status,
        "submitted_at_0": timezone.localtime(selected.submitted_at).strftime("%d.%m.%Y"),
        "submitted_at_1": timezone.localtime(selected.submitted_at).strftime("%H:%M:%S"),
        "approved_at_0": timezone.localtime(selected.approved_at).strftime("%d.%m.%Y"),
        "approved_at_1": timezone.localtime(selected.approved_at).strftime("%H:%M:%S"),
        "selected_at_0": timezone.localtime(selected.selected_at).strftime("%d.%m.%Y"),
        "selected_at_1": timezone.localtime(selected.selected_at).strftime("%H:%M:%S"),
        "design_at_0": timezone.localtime(selected.design_at).strftime("%d.%m.%Y"),
        "design_at_1": timezone.localtime(selected.design_at).strftime("%H:%M:%S"),
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0",
        "progress_updates-TOTAL_FORMS": "1",
        "progress_updates-INITIAL_FORMS": "1",
        "progress_updates-0-id": update.pk,
        "progress_updates-0-proposal": selected.pk,
        "progress_updates-0-stage": update.stage,
        "progress_updates-0-happened_on": update.happened_on.strftime("%d.%m.%Y"),
        "progress_updates-0-text": update.text,
        "progress_updates-0-DELETE": "on",
    }

    response = client.post(reverse("admin:projects_proposal_change", args=[selected.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert not ProgressUpdate.objects.exists()
    deleted = AuditEvent.objects.get(action=AuditEvent.DELETE)
    assert (deleted.actor, deleted.object_id, deleted.before["text"]) == (official, str(update.pk), "Проект заказан")


def test_hiding_a_comment_is_recorded_with_its_reason(town, cast):
    proposal = make_proposal(make_space(town))
    comment = projects_services.comment_post(proposal=proposal, author=cast.resident, body="Грубость")

    projects_services.comment_hide(comment=comment, moderator=cast.moderator, reason="Оскорбление")

    [event] = decisions("comment_hide")
    assert (event.actor, event.municipality) == (cast.moderator, town)
    assert (event.before["hidden_reason"], event.after["hidden_reason"]) == ("", "Оскорбление")
    assert Comment.objects.get(pk=comment.pk).hidden_at is not None


def test_a_paper_ballot_entered_by_an_official_is_recorded_without_the_voter(town, official, sms_outbox):
    campaign = make_campaign(town)
    entry = make_entry(campaign)
    services.desk_phone_code_send(volunteer=official, phone="+79120001122")
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].text).group(1)

    cast = services.volunteer_ballot_cast(
        volunteer=official,
        campaign=campaign,
        phone="+79120001122",
        full_name="Иванова Анна Петровна",
        birth_date=datetime.date(1970, 5, 1),
        municipality=town,
        choices=[(entry.pk, None)],
        document_type="passport",
        document_number="6512 345678",
        code=code,
        channel="paper",
    )

    [event] = decisions("paper_ballot_enter")
    assert (event.actor, event.content_type.model, event.object_id) == (official, "campaign", str(campaign.pk))
    assert event.before is None
    recorded = str(event.after)
    assert cast.ballot.receipt_hash not in recorded
    assert "Иванова" not in recorded
    assert "79120001122" not in recorded


def test_a_role_and_scope_assigned_are_recorded(cast, town):
    person = make_user(email="new-official@example.org")

    official_assign(user=person, role=User.Role.MUNICIPAL_OFFICIAL, municipalities=[town], actor=cast.superuser)
    official_assign(user=person, role=User.Role.MUNICIPAL_OFFICIAL, municipalities=[town], actor=cast.superuser)

    [event] = decisions("official_assign")
    assert (event.actor, event.actor_role, event.municipality) == (cast.superuser, "superuser", None)
    assert (event.before["role"], event.after["role"]) == ("resident", "municipal_official")
    assert event.after["scope_municipalities"] == [town.pk]


def user_change_data(user: User, **changes) -> dict:
    """The user admin's change form as a browser posts it, with `changes`."""
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "birth_date": "",
        "phone": user.phone or "",
        "municipality": user.municipality_id or "",
        "verified_at_0": "",
        "verified_at_1": "",
        "role": user.role,
        "scope_region": user.scope_region_id or "",
        "scope_municipalities": [m.pk for m in user.scope_municipalities.all()],
        "is_active": "on",
        # The in-person verifications inline (read-only records) posts its management form.
        "in_person_verifications-TOTAL_FORMS": "0",
        "in_person_verifications-INITIAL_FORMS": "0",
        "in_person_verifications-MIN_NUM_FORMS": "0",
        "in_person_verifications-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_a_role_and_scope_changed_in_the_user_admin_go_through_official_assign(client, cast, town):
    person = make_user(email="clerk@example.org", full_name="Анна Петрова")
    client.force_login(cast.superuser)

    response = client.post(
        reverse("admin:accounts_user_change", args=[person.pk]),
        user_change_data(
            person,
            full_name="Анна Сергеевна Петрова",
            role=User.Role.MUNICIPAL_OFFICIAL,
            scope_municipalities=[town.pk],
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    person.refresh_from_db()
    assert person.role == User.Role.MUNICIPAL_OFFICIAL
    assert list(person.scope_municipalities.all()) == [town]
    [event] = decisions("official_assign")
    assert event.actor == cast.superuser
    assert (event.before["role"], event.after["role"]) == ("resident", "municipal_official")
    assert (event.before["scope_municipalities"], event.after["scope_municipalities"]) == ([], [town.pk])
    # The rest of the form is an ordinary edit, recorded without the role.
    [edit] = AuditEvent.objects.filter(action=AuditEvent.UPDATE)
    assert (edit.before["full_name"], edit.after["full_name"]) == ("Анна Петрова", "Анна Сергеевна Петрова")
    assert edit.before["role"] == edit.after["role"] == "resident"
    assert edit.before["scope_municipalities"] == edit.after["scope_municipalities"] == []


def test_a_user_admin_edit_without_a_role_change_records_no_assignment(client, cast, town):
    official = make_user(email="clerk@example.org", role=User.Role.MUNICIPAL_OFFICIAL, scope_municipalities=[town])
    client.force_login(cast.superuser)

    response = client.post(
        reverse("admin:accounts_user_change", args=[official.pk]), user_change_data(official, full_name="Иван Иванов")
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert decisions("official_assign") == []
    [edit] = AuditEvent.objects.filter(action=AuditEvent.UPDATE)
    assert edit.after["full_name"] == "Иван Иванов"
