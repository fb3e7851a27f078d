"""The audit log of officials' changes: recorded with the change, append-only,
visible only to superusers and to auditors of the same scope."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEvent, AuditLogIsAppendOnly
from portal.audit.services import AuditOutsideTransaction, audit_record, audit_snapshot
from projects.models import Space
from tests.builders import make_space

from .conftest import space_form_data

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_official_change_records_one_event_with_before_and_after(client, official_a, town_a):
    space = make_space(town_a, "Старый сквер", area_m2=Decimal("1200.00"))
    client.force_login(official_a)

    response = client.post(change_url(space), space_form_data(space, name="Новый сквер", area_m2="1500.00"))

    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.UPDATE
    assert event.actor == official_a
    assert event.actor_role == User.Role.MUNICIPAL_OFFICIAL
    assert event.municipality == town_a
    assert event.object_id == str(space.pk)
    assert event.object_repr.startswith("Новый сквер")
    assert event.before["name"] == "Старый сквер"
    assert event.after["name"] == "Новый сквер"
    assert event.before["area_m2"] == "1200.00"
    assert event.after["area_m2"] == "1500.00"
    assert event.ip == "127.0.0.1"


def test_unchanged_save_records_nothing(client, official_a, town_a):
    space = make_space(town_a)
    client.force_login(official_a)

    response = client.post(change_url(space), space_form_data(space))

    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_official_addition_and_deletion_are_recorded(client, official_a, town_a):
    client.force_login(official_a)
    template = Space(
        municipality=town_a,
        kind="courtyard",
        name="Двор на Мира",
        address="ул. Мира, 5",
        latitude="56.1",
        longitude="60.1",
        area_m2="300.00",
    )
    response = client.post(reverse("admin:projects_space_add"), space_form_data(template))
    assert response.status_code == 302
    space = Space.objects.get(name="Двор на Мира")
    created = AuditEvent.objects.get()
    assert (created.action, created.before, created.after["name"]) == ("create", None, "Двор на Мира")

    response = client.post(reverse("admin:projects_space_delete", args=[space.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Space.objects.filter(pk=space.pk).exists()
    deleted = AuditEvent.objects.get(action=AuditEvent.DELETE)
    assert deleted.object_id == str(space.pk)
    assert deleted.before["address"] == "ул. Мира, 5"
    assert deleted.after is None
    assert deleted.municipality == town_a


def test_bulk_delete_records_one_event_per_object(client, official_a, town_a):
    spaces = [make_space(town_a, f"Сквер {i}") for i in range(3)]
    client.force_login(official_a)

    response = client.post(
        reverse("admin:projects_space_changelist"),
        {"action": "delete_selected", "_selected_action": [s.pk for s in spaces], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Space.objects.exists()
    events = AuditEvent.objects.filter(action=AuditEvent.DELETE)
    assert sorted(e.object_id for e in events) == sorted(str(s.pk) for s in spaces)
    assert {e.before["name"] for e in events} == {"Сквер 0", "Сквер 1", "Сквер 2"}


def test_bulk_delete_confirmation_page_records_nothing(client, official_a, town_a):
    space = make_space(town_a)
    client.force_login(official_a)

    response = client.post(
        reverse("admin:projects_space_changelist"), {"action": "delete_selected", "_selected_action": [space.pk]}
    )

    assert response.status_code == 200  # the "are you sure?" page
    assert not AuditEvent.objects.exists()


def test_custom_bulk_action_records_what_it_changed(official_a, town_a):
    from projects.admin import SpaceAdmin

    def rename(modeladmin, request, queryset):
        for space in queryset:
            space.name = space.name.upper()
            space.save()

    class RenamingSpaceAdmin(SpaceAdmin):
        actions = [rename]

    changed, untouched = make_space(town_a, "сквер"), make_space(town_a, "ПАРК")
    request = RequestFactory().post("/admin/projects/space/")
    request.user = official_a
    model_admin = RenamingSpaceAdmin(Space, site)
    action = model_admin.get_actions(request)["rename"][0]

    action(model_admin, request, Space.objects.filter(pk__in=[changed.pk, untouched.pk]))

    event = AuditEvent.objects.get()
    assert event.action == "action:rename"
    assert event.object_id == str(changed.pk)
    assert (event.before["name"], event.after["name"]) == ("сквер", "СКВЕР")


def test_change_without_its_audit_record_is_impossible(client, official_a, town_a, monkeypatch):
    space = make_space(town_a, "Старый сквер")
    client.force_login(official_a)

    def broken_insert(self, *args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent, "save", broken_insert)
    with pytest.raises(DatabaseError, match="audit table unavailable"):
        client.post(change_url(space), space_form_data(space, name="Новый сквер"))

    space.refresh_from_db()
    assert space.name == "Старый сквер"


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_transaction_is_refused(town_a, official_a):
    space = make_space(town_a)
    assert not connection.in_atomic_block
    with pytest.raises(AuditOutsideTransaction, match="inside the transaction"):
        audit_record(actor=official_a, action="update", obj=space, before={}, after={})
    assert not AuditEvent.objects.exists()


def test_password_hashes_are_never_logged(client, superuser, official_a, town_a, town_b):
    official_a.municipality = town_a  # lives in A: still not an event for A's auditors
    official_a.save()
    client.force_login(superuser)
    data = {
        "municipality": town_a.pk,
        "email": official_a.email,
        "password": official_a.password,
        "full_name": "Иван Петров",
        "phone": "",
        "role": User.Role.MUNICIPAL_OFFICIAL,
        "scope_municipalities": [town_b.pk],
        "is_active": "on",
        "notify_by_email": "on",
        "last_login_0": "",
        "date_joined_0": "",
        "in_person_verifications-TOTAL_FORMS": "0",
        "in_person_verifications-INITIAL_FORMS": "0",
    }

    response = client.post(change_url(official_a), data)

    assert response.status_code == 302, response.content[:3000]
    # The edit, and the change of scope as the decision official_assign records.
    edit = AuditEvent.objects.get(action=AuditEvent.UPDATE)
    assignment = AuditEvent.objects.get(action="action:official_assign")
    for event in (edit, assignment):
        assert event.actor_role == "superuser"
        assert event.municipality is None  # account changes are for superusers' eyes only
        stored = str(event.before) + str(event.after)
        assert "password" not in event.before
        assert "password" not in event.after
        assert official_a.password not in stored
    assert edit.after["full_name"] == "Иван Петров"
    assert assignment.before["scope_municipalities"] != assignment.after["scope_municipalities"]
    assert assignment.after["scope_municipalities"] == [town_b.pk]
    assert "password" not in audit_snapshot(official_a)


# --- Append-only --------------------------------------------------------------------------


@pytest.fixture
def event(official_a, town_a) -> AuditEvent:
    space = make_space(town_a)
    with transaction.atomic():
        return audit_record(actor=official_a, action="update", obj=space, before={"name": "a"}, after={"name": "b"})


def test_event_cannot_be_changed_or_deleted_with_the_orm(event):
    event.after = {"name": "forged"}
    with pytest.raises(AuditLogIsAppendOnly, match="cannot be updated"):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly, match="cannot be deleted"):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly, match="cannot be updated"):
        AuditEvent.objects.filter(pk=event.pk).update(after={"name": "forged"})
    with pytest.raises(AuditLogIsAppendOnly, match="cannot be deleted"):
        AuditEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.after == {"name": "b"}


@pytest.mark.postgres
def test_event_cannot_be_changed_or_deleted_with_raw_sql(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = '{}'::jsonb WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.after == {"name": "b"}


def test_event_cannot_be_changed_in_the_admin_even_by_a_superuser(client, superuser, event):
    client.force_login(superuser)

    assert client.get(change_url(event)).status_code == 200  # read-only view
    assert client.post(change_url(event), {"action": "delete", "after": "{}"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    changelist = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    event.refresh_from_db()
    assert event.after == {"name": "b"}
    page = client.get(change_url(event)).content.decode()
    assert 'name="_save"' not in page
    assert "deletelink" not in page


# --- Who sees the log -----------------------------------------------------------------


@pytest.fixture
def events_in_three_towns(official_a, official_b, town_a, town_b, town_c):
    events = {}
    with transaction.atomic():
        for town, actor in ((town_a, official_a), (town_b, official_b), (town_c, None)):
            space = make_space(town, f"Сквер в {town.name}")
            events[town.slug] = audit_record(actor=actor, action="create", obj=space, before=None, after={"n": 1})
    return events


def test_auditor_sees_only_their_municipalities_events(client, auditor_a, events_in_three_towns):
    client.force_login(auditor_a)

    changelist = client.get(reverse("admin:audit_auditevent_changelist"))

    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "Сквер в Город А" in page
    assert "Сквер в Город Б" not in page
    assert client.get(change_url(events_in_three_towns["town-a"])).status_code == 200
    assert client.get(change_url(events_in_three_towns["town-b"])).status_code == 404
    assert client.get(change_url(events_in_three_towns["town-c"])).status_code == 404


def test_regional_auditor_sees_the_region_but_not_another(client, regional_auditor, events_in_three_towns):
    client.force_login(regional_auditor)

    assert client.get(change_url(events_in_three_towns["town-a"])).status_code == 200
    assert client.get(change_url(events_in_three_towns["town-b"])).status_code == 200
    assert client.get(change_url(events_in_three_towns["town-c"])).status_code == 404


def test_superuser_sees_every_event(client, superuser, events_in_three_towns):
    client.force_login(superuser)

    page = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()

    for name in ("Город А", "Город Б", "Город В"):
        assert f"Сквер в {name}" in page


@pytest.mark.parametrize("role_fixture", ["official_a", "official_b", "moderator"])
def test_officials_and_moderators_cannot_see_the_log(client, request, role_fixture, events_in_three_towns):
    client.force_login(request.getfixturevalue(role_fixture))

    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403
    # Their queryset is empty, so an event's page does not exist for them.
    assert client.get(change_url(events_in_three_towns["town-a"])).status_code in (403, 404)
    assert "audit" not in client.get(reverse("admin:index")).content.decode().lower()


def test_residents_and_anonymous_cannot_see_the_log(client, resident, events_in_three_towns):
    url = change_url(events_in_three_towns["town-a"])
    assert client.get(url).status_code == 302  # to the admin log-in page
    client.force_login(resident)
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
