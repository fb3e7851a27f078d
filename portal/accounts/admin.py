from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from portal.accounts.models import User
from portal.accounts.scoped_admin import AuditedAdminMixin


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """Only superusers manage accounts and assign officials to their scopes."""

    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "municipality", "verified_at", "is_active"]
    list_filter = ["role", "is_active", "is_superuser", "scope_region"]
    search_fields = ["email", "full_name", "phone"]
    filter_horizontal = ["scope_municipalities"]
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


# Access is by role and scope (portal.accounts.permissions), not by Django's groups and
# per-model permission rows: their admin would offer settings that change nothing (and
# lists every permission under its English name).
admin.site.unregister(Group)

# The identity provider is configured in settings (SOCIALACCOUNT_PROVIDERS) and a resident's
# link to it is made by logging in: allauth's admin of apps, tokens and links would offer
# a second configuration that settings override (and reads in English).
for _model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
