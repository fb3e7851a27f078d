"""The officials' admin is scoped: one base class decides what a staff user sees.

Every ModelAdmin of a place-bound model names the path from the model to its
municipality (`scope_path`). The queryset, the change/delete/history pages, the
autocomplete endpoints, the foreign-key choices and the bulk actions all go through
`get_queryset`, and anything that falls outside it answers 404: an official cannot
even learn that another municipality's object exists.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.http import Http404, HttpRequest

from portal.accounts.permissions import can_edit_places, is_auditor, municipalities_in_scope

# Foreign keys whose choices are narrowed to the user's scope, by related model.
_SCOPED_RELATIONS = {
    "projects.municipality": "pk__in",
    "projects.space": "municipality__in",
    "projects.proposal": "space__municipality__in",
    "votes.campaign": "municipality__in",
}


def scope_filter(model: type[models.Model], request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
    """Narrow `queryset` of `model` to the request user's municipalities."""
    user = request.user
    if user.is_superuser:
        return queryset
    lookup = _SCOPED_RELATIONS.get(model._meta.label_lower)
    if lookup is None:
        return queryset
    return queryset.filter(**{lookup: municipalities_in_scope(user)})


class ScopedAdmin(admin.ModelAdmin):
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
        return queryset.filter(**{lookup: municipalities_in_scope(request.user)})

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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_filter(db_field.related_model, request, field.queryset)
        return field

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

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_filter(db_field.related_model, request, field.queryset)
        return field

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


class ScopedInline(admin.TabularInline):
    """Inlines follow the permissions of their parent admin, and scope their choices."""

    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_filter(db_field.related_model, request, field.queryset)
        return field

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
