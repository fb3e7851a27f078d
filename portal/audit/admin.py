"""The audit log in the admin: read-only for everyone, superusers included.

Superusers see every event; auditors see the events of their region or municipalities
(anything else answers 404); officials, moderators and residents do not see the log.
"""

from __future__ import annotations

import json
from typing import cast

from django.contrib import admin
from django.http import Http404, HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import is_auditor
from portal.audit.models import AuditEvent, AuditEventQuerySet


def _can_read_log(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and (user.is_superuser or is_auditor(user)))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "actor_role", "action", "content_type", "object_repr", "municipality"]
    list_filter = ["action", "actor_role", "content_type", "municipality"]
    search_fields = ["object_repr", "object_id", "actor__email"]
    list_select_related = ["actor", "content_type", "municipality"]
    date_hierarchy = "at"
    fields = (
        "at",
        "actor",
        "actor_role",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "municipality",
        "ip",
        "before_pretty",
        "after_pretty",
    )
    readonly_fields = fields
    actions = None

    def get_queryset(self, request: HttpRequest) -> AuditEventQuerySet:
        # The admin's queryset is the model's default manager's, an AuditEventQuerySet.
        return cast(AuditEventQuerySet, super().get_queryset(request)).visible_to(request.user)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404  # outside the auditor's scope, or absent: the same answer
        return obj

    @admin.display(description=_("before"))
    def before_pretty(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.before, ensure_ascii=False, indent=2, sort_keys=True))

    @admin.display(description=_("after"))
    def after_pretty(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.after, ensure_ascii=False, indent=2, sort_keys=True))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _can_read_log(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _can_read_log(request)

    # Append-only: nobody adds, changes or deletes events by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
