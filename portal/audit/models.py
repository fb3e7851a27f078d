"""The audit log: who changed what, before and after, and when.

Rows are append-only. Python refuses to update or delete them (model and QuerySet),
and on PostgreSQL a trigger refuses UPDATE and DELETE even from raw SQL (see
migrations/0002_append_only_trigger.py), so an official cannot rewrite their history.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import is_auditor
from projects.models import Municipality


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove a recorded audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user) -> AuditEventQuerySet:
        """Superusers see every event; auditors the events of their municipalities."""
        if getattr(user, "is_superuser", False) and user.is_active:
            return self
        if is_auditor(user):
            return self.filter(municipality__in=Municipality.objects.administered_by(user))
        return self.none()

    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be updated")

    def delete(self):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    update.queryset_only = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class AuditEvent(models.Model):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ACTION_PREFIX = "action:"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for changes made by the system."),
    )
    actor_role = models.CharField(_("actor's role"), max_length=24)
    action = models.CharField(_("action"), max_length=100)
    content_type = models.ForeignKey(ContentType, verbose_name=_("kind of object"), on_delete=models.PROTECT)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    municipality = models.ForeignKey(
        "projects.Municipality",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_event_object"),
            models.Index(fields=["municipality", "at"], name="audit_event_municipality_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["create", "update", "delete"]) | Q(action__startswith="action:"),
                name="audit_event_action_known",
            ),
            models.CheckConstraint(
                condition=~Q(action="create") | Q(after__isnull=False), name="audit_event_create_has_after"
            ),
            models.CheckConstraint(
                condition=~Q(action="delete") | Q(before__isnull=False), name="audit_event_delete_has_before"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit events cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")
