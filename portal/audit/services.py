"""Writing the audit log.

`audit_record` must run inside the transaction of the change it records: if the
record cannot be written, the change is rolled back with it, so an official's change
without its audit event cannot exist.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.http import HttpRequest

from lib.client_address import client_address
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from projects.models import Municipality

# Field names whose values are never written to the log (password hashes, API tokens).
SECRET_FIELD_NAMES = frozenset({"password", "key", "token", "secret", "sealed_link"})
SECRET_FIELD_SUFFIXES = ("_password", "_token", "_secret", "_key")

Snapshot = dict[str, Any]


class AuditOutsideTransaction(RuntimeError):
    """audit_record was called outside the transaction of the change it records."""


def _is_secret(name: str) -> bool:
    return name in SECRET_FIELD_NAMES or name.endswith(SECRET_FIELD_SUFFIXES)


def audit_snapshot(obj: models.Model | None) -> Snapshot | None:
    """The object's field values as plain JSON data (foreign keys as ids, files as names)."""
    if obj is None:
        return None
    values: Snapshot = {}
    for field in obj._meta.concrete_fields:
        if _is_secret(field.name):
            continue
        value = field.value_from_object(obj)
        if isinstance(field, models.FileField):
            value = value.name if value else ""
        values[field.attname if field.is_relation else field.name] = value
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            if not _is_secret(field.name):
                values[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    # Round-trip through JSON so the stored value equals what is compared later.
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def audit_snapshot_from_db(model: type[models.Model], pk: Any) -> Snapshot | None:
    """The stored state of one row (the form's instance is already modified by validation)."""
    if pk is None:
        return None
    return audit_snapshot(model._base_manager.filter(pk=pk).first())


def municipality_of(obj: models.Model) -> Municipality | None:
    """The municipality an object belongs to, for scoping the log; None for regional data."""
    if isinstance(obj, Municipality):
        return obj
    if isinstance(obj, User):
        # Account changes stay superuser-only: a user's municipality of residence is
        # not the scope of an official action, and auditors there must not read them.
        return None
    for attr in ("municipality", "space", "proposal", "campaign", "comment"):
        try:
            related = getattr(obj, attr, None)
        except models.ObjectDoesNotExist:
            related = None
        if isinstance(related, Municipality):
            return related
        if isinstance(related, models.Model) and related is not obj:
            return municipality_of(related)
    return None


def _actor_role(actor) -> str:
    if actor is None:
        return "system"
    if actor.is_superuser:
        return "superuser"
    return actor.role


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model,
    before: Snapshot | None,
    after: Snapshot | None,
    request: HttpRequest | None = None,
    municipality=None,
) -> AuditEvent:
    """Append one event. `action` is create, update, delete or action:<name>."""
    if not transaction.get_connection(router.db_for_write(AuditEvent)).in_atomic_block:
        raise AuditOutsideTransaction("audit_record must run inside the transaction of the change")
    if municipality is None:
        municipality = municipality_of(obj)
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_role=_actor_role(actor if getattr(actor, "is_authenticated", False) else None),
        action=action,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk) if obj.pk is not None else "",
        object_repr=str(obj)[:200],
        municipality=municipality,
        before=before,
        after=after,
        ip=(client_address(request) or None) if request is not None else None,
    )


def audit_decision(
    *, actor: Any, name: str, obj: models.Model, before: Snapshot | None, municipality: Municipality | None = None
) -> AuditEvent:
    """Record the decision `name` (an official's, or the system's when `actor` is None) on
    `obj`, whose state now is its "after". Services call it inside their transaction, so
    the decision is logged whatever interface made it: admin, API, command or task."""
    return audit_record(
        actor=actor,
        action=f"{AuditEvent.ACTION_PREFIX}{name}",
        obj=obj,
        before=before,
        after=audit_snapshot(obj),
        municipality=municipality,
    )
