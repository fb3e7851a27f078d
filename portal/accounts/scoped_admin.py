"""The officials' admin is scoped and audited: one base class decides what a staff user sees.

Every ModelAdmin of a place-bound model names the path from the model to its
municipality (`scope_path`). The queryset, the change/delete/history pages, the
autocomplete endpoints, the foreign-key choices and the bulk actions all go through
`get_queryset`, and anything that falls outside it answers 404: an official cannot
even learn that another municipality's object exists.

The audit log has two writers. Decisions (approve, merge or reject an idea, publish,
recount, seal, open or close a vote, hide a comment, progress updates, paper ballots,
roles) are recorded by the services that make them, whichever interface calls them.
What only the admin does, editing a record through its form (add, change, delete, inline
rows, actions that call no service), is recorded here by `AuditedAdminMixin`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.contenttypes.models import ContentType
from django.db import models, router, transaction
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from portal.accounts.permissions import can_edit_places, is_auditor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record, audit_snapshot, audit_snapshot_from_db, municipality_of
from projects.models import Municipality

# Foreign keys whose choices are narrowed to the user's scope, by related model.
_SCOPED_RELATIONS = {
    "projects.municipality": "pk__in",
    "projects.space": "municipality__in",
    "projects.proposal": "space__municipality__in",
    "votes.campaign": "municipality__in",
}


def scope_filter(
    model: type[models.Model], request: HttpRequest, queryset: models.QuerySet | None
) -> models.QuerySet | None:
    """Narrow `queryset` of `model` to the request user's municipalities."""
    user = request.user
    if queryset is None or user.is_superuser:
        return queryset
    lookup = _SCOPED_RELATIONS.get(model._meta.label_lower)
    if lookup is None:
        return queryset
    return queryset.filter(**{lookup: Municipality.objects.administered_by(user)})


# The mixin sits before ModelAdmin (or UserAdmin) in the bases; mypy sees it as one.
_AdminBase = admin.ModelAdmin if TYPE_CHECKING else object


class AuditedAdminMixin(_AdminBase):  # type: ignore[misc,valid-type]
    """Every edit made through the admin's forms appends an audit event in its transaction.

    Django already wraps the add/change/delete views in a transaction; bulk deletes and
    actions are wrapped here. The "before" state is read from the database, because the
    form has already copied the new values onto the instance while validating. Decisions
    taken through services record their own events (see the module's docstring).
    """

    def _audit(self, request: HttpRequest, action: str, obj: models.Model, before, after, municipality=None):
        return audit_record(
            actor=request.user,
            action=action,
            obj=obj,
            before=before,
            after=after,
            request=request,
            municipality=municipality,
        )

    def save_model(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        obj._audit_before = audit_snapshot_from_db(type(obj), obj.pk) if change else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Recorded after the many-to-many fields are saved, so "after" includes them.
        obj = form.instance
        before = getattr(obj, "_audit_before", None)
        after = audit_snapshot(obj)
        if not change:
            self._audit(request, AuditEvent.CREATE, obj, None, after)
        elif before != after:
            self._audit(request, AuditEvent.UPDATE, obj, before, after)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        model = formset.model
        existing = [f.instance.pk for f in formset.initial_forms if f.instance.pk is not None]
        before = {o.pk: audit_snapshot(o) for o in model._base_manager.filter(pk__in=existing)}
        parent_municipality = municipality_of(form.instance)
        for deleted_form in formset.deleted_forms:
            instance = deleted_form.instance
            if instance.pk in before:
                self._audit(request, AuditEvent.DELETE, instance, before[instance.pk], None, parent_municipality)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._audit(request, AuditEvent.CREATE, obj, None, audit_snapshot(obj), parent_municipality)
        for obj, _changed in formset.changed_objects:
            after = audit_snapshot(obj)
            if before.get(obj.pk) != after:
                self._audit(request, AuditEvent.UPDATE, obj, before.get(obj.pk), after, parent_municipality)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic(using=router.db_for_write(type(obj))):
            # Recorded first, while the object still has its id; a failed delete rolls both back.
            self._audit(request, AuditEvent.DELETE, obj, audit_snapshot_from_db(type(obj), obj.pk), None)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                self._audit(request, AuditEvent.DELETE, obj, audit_snapshot(obj), None)
            super().delete_queryset(request, queryset)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        return {
            # delete_selected records through delete_queryset.
            name: (func if name == "delete_selected" else _audited_action(func, name), name, description)
            for name, (func, name, description) in actions.items()
        }


def _audited_action(func, name: str):
    """Wrap a bulk action: one event per object it changed (or removed), in one transaction.

    An action that calls a service (publish, hide, moderate) has its decision recorded by
    that service; the wrapper records only the changes no service has recorded, so each
    change has one event."""

    @functools.wraps(func)
    def audited(modeladmin, request: HttpRequest, queryset: models.QuerySet):
        model = queryset.model
        with transaction.atomic(using=router.db_for_write(model)):
            objects_before = {o.pk: o for o in model._base_manager.filter(pk__in=queryset.values("pk"))}
            before = {pk: audit_snapshot(o) for pk, o in objects_before.items()}
            last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = func(modeladmin, request, queryset)
            recorded = set(
                AuditEvent.objects.filter(
                    pk__gt=last_event, content_type=ContentType.objects.get_for_model(model)
                ).values_list("object_id", flat=True)
            )
            objects_after = {o.pk: o for o in model._base_manager.filter(pk__in=list(before))}
            for pk, old in before.items():
                obj = objects_after.get(pk)
                new = audit_snapshot(obj) if obj is not None else None
                if new != old and str(pk) not in recorded:
                    modeladmin._audit(request, f"{AuditEvent.ACTION_PREFIX}{name}", obj or objects_before[pk], old, new)
        return response

    return audited


_OptionsBase = admin.options.BaseModelAdmin if TYPE_CHECKING else object


class ScopedChoicesMixin(_OptionsBase):  # type: ignore[misc,valid-type]
    """Foreign-key and many-to-many choices offer only what lies in the user's scope."""

    def _scoped(self, field: Any, db_field: Any, request: HttpRequest) -> Any:
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_filter(db_field.related_model, request, field.queryset)
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self._scoped(super().formfield_for_foreignkey(db_field, request, **kwargs), db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self._scoped(super().formfield_for_manytomany(db_field, request, **kwargs), db_field, request)


def action_form_response(
    model_admin: admin.ModelAdmin, request: HttpRequest, *, items, form, action: str, template: str, title: str
) -> TemplateResponse:
    """The intermediate page of an admin action that needs input first (a reason, a
    target): the selected objects as (pk, label), the form, and a confirm button that
    posts the same action again."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "items": list(items),
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, template, context)


class ScopedAdmin(ScopedChoicesMixin, AuditedAdminMixin, admin.ModelAdmin):
    #: Django lookup from this model to its Municipality, e.g. "space__municipality".
    scope_path: str = "municipality"
    #: Auditors read; officials write. Override for read-only models.
    read_only: bool = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if not self._can_read(request):
            # Staff without this module (moderators here) get 404 on every object,
            # like an out-of-scope official, rather than 403 that confirms it exists.
            return queryset.none()
        lookup = "pk__in" if self.scope_path == "pk" else f"{self.scope_path}__in"
        return queryset.filter(**{lookup: Municipality.objects.administered_by(request.user)})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Django would redirect with "does not exist"; outside the scope is a plain 404.
            raise Http404
        return obj

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if request.method == "POST" and "_selected_action" in request.POST:
            selected = request.POST.getlist("_selected_action")
            try:
                visible = self.get_queryset(request).filter(pk__in=selected).count()
            except (ValueError, TypeError):
                raise Http404 from None
            if visible != len(set(selected)):
                raise Http404
        return super().changelist_view(request, extra_context)

    def get_list_filter(self, request: HttpRequest):
        """Relation filters offer only values found in the user's scope: the sidebar
        would otherwise list every municipality's and campaign's name."""
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        scoped = []
        for entry in filters:
            if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
                entry = (entry, admin.RelatedOnlyFieldListFilter)
            scoped.append(entry)
        return scoped

    # Permissions: roles, not Django's per-model permission rows.
    def _can_read(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or can_edit_places(request.user) or is_auditor(request.user)

    def _can_write(self, request: HttpRequest) -> bool:
        return not self.read_only and (request.user.is_superuser or can_edit_places(request.user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can_read(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_read(request)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_write(request)


class ScopedInline(ScopedChoicesMixin, admin.TabularInline):
    """Inlines follow the permissions of their parent admin, and scope their choices."""

    extra = 0

    def _can_write(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or can_edit_places(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser or can_edit_places(request.user) or is_auditor(request.user)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._can_write(request)
