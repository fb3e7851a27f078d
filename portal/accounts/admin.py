from typing import cast

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from portal.accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from portal.accounts.models import InPersonVerification, User
from portal.accounts.scoped_admin import AuditedAdminMixin
from portal.accounts.services import official_assign


class InPersonVerificationInline(admin.TabularInline):
    """Who checked which document when; the number is only an HMAC (read-only: a record)."""

    model = InPersonVerification
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ["verified_at", "verified_by", "document_type", "document_hmac"]
    readonly_fields = ["verified_at", "verified_by", "document_type", "document_hmac"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """Only superusers manage accounts and assign officials to their scopes."""

    inlines = [InPersonVerificationInline]
    actions = ["correct_eligibility"]

    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "municipality", "verified_at", "is_active"]
    list_filter = ["role", "is_active", "is_superuser", "scope_region"]
    search_fields = ["email", "full_name", "phone"]
    filter_horizontal = ["scope_municipalities"]
    autocomplete_fields = ["municipality"]
    # Verification stamps are the services' to write (an SMS code, a desk, the provider).
    readonly_fields = [
        "last_login",
        "date_joined",
        "phone_verified_at",
        "in_person_verified_at",
        "provider_verified_at",
        "identity_provider",
        "identity_subject",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name", "birth_date", "phone", "municipality", "verified_at"]}),
        (
            _("Identity level"),
            {
                "fields": [
                    "phone_verified_at",
                    "in_person_verified_at",
                    "provider_verified_at",
                    "identity_provider",
                    "identity_subject",
                ]
            },
        ),
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

    @admin.action(description=_("Correct birth date or municipality (with a reason)"))
    def correct_eligibility(self, request: HttpRequest, queryset):
        # One resident at a time, through the audited form (the service writes).
        if queryset.count() != 1:
            self.message_user(request, _("Choose one resident."), level="warning")
            return None
        return redirect("accounts:eligibility_correct", pk=queryset.get().pk)


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
