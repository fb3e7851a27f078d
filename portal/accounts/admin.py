from typing import cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from portal.accounts.models import User
from portal.accounts.scoped_admin import AuditedAdminMixin
from portal.accounts.services import official_assign


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """Only superusers manage accounts and assign officials to their scopes."""

    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "municipality", "verified_at", "is_active"]
    list_filter = ["role", "is_active", "is_superuser", "scope_region"]
    search_fields = ["email", "full_name", "phone"]
    filter_horizontal = ["scope_municipalities", "groups", "user_permissions"]
    autocomplete_fields = ["municipality"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name", "birth_date", "phone", "municipality", "verified_at"]}),
        (_("Role and scope"), {"fields": ["role", "scope_region", "scope_municipalities"]}),
        (_("Access"), {"fields": ["is_active", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    # Role and scope are a decision official_assign makes and audits (action:official_assign);
    # the rest of the form is saved, and recorded, as any admin edit.
    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if change and "role" in form.cleaned_data:
            obj._requested_role = (obj.role, obj.scope_region)
            stored = User.objects.only("role", "scope_region").get(pk=obj.pk)
            obj.role, obj.scope_region = stored.role, stored.scope_region
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        requested = getattr(form.instance, "_requested_role", None)
        # Kept from form.save_m2m(): the service sets the municipalities with the role.
        municipalities = form.cleaned_data.pop("scope_municipalities", None) if requested else None
        super().save_related(request, form, formsets, change)
        if requested is not None:
            role, region = requested
            official_assign(
                user=form.instance,
                role=role,
                region=region,
                municipalities=list(municipalities or []),
                actor=cast(User, request.user),  # the admin is for logged-in superusers only
            )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser
