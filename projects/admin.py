from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.admin_scope import ScopedAdmin, ScopedInline
from projects.models import (
    Comment,
    CommentReport,
    Municipality,
    ProgressUpdate,
    Proposal,
    ProposalPhoto,
    Region,
    Space,
    SpacePhoto,
)
from projects.services import photo_store


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"slug": ["name"]}

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


@admin.register(Municipality)
class MunicipalityAdmin(ScopedAdmin):
    """Officials read their own municipalities (for choices); only superusers edit them."""

    scope_path = "pk"
    list_display = ["name", "region", "kind", "population", "oktmo"]
    list_filter = ["region", "kind"]
    search_fields = ["name", "oktmo"]
    prepopulated_fields = {"slug": ["name"]}

    def _can_write(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


class PhotoForm(forms.ModelForm):
    """Checks an uploaded photo by its content and stores it re-encoded (no EXIF, no GPS)."""

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and not getattr(image, "_committed", False):
            return photo_store(file=image)
        return image


class SpacePhotoInline(ScopedInline):
    model = SpacePhoto
    form = PhotoForm
    fields = ["image", "caption"]


@admin.register(Space)
class SpaceAdmin(ScopedAdmin):
    scope_path = "municipality"
    list_display = ["name", "municipality", "kind", "address", "area_m2"]
    list_filter = ["kind", "municipality__region", "municipality"]
    search_fields = ["name", "address"]
    autocomplete_fields = ["municipality"]
    list_select_related = ["municipality"]
    inlines = [SpacePhotoInline]


class ProposalPhotoInline(ScopedInline):
    model = ProposalPhoto
    form = PhotoForm
    fields = ["image", "caption", "kind"]


class ProgressUpdateInline(ScopedInline):
    model = ProgressUpdate
    fields = ["stage", "happened_on", "text", "spent_to_date"]


@admin.register(Proposal)
class ProposalAdmin(ScopedAdmin):
    scope_path = "space__municipality"
    list_display = ["title", "space", "status", "estimated_cost", "submitted_at"]
    list_filter = ["status", "space__kind", "space__municipality__region", "space__municipality"]
    search_fields = ["title", "description", "space__name", "space__address"]
    autocomplete_fields = ["space", "merged_into"]
    raw_id_fields = ["author"]
    list_select_related = ["space", "space__municipality"]
    date_hierarchy = "submitted_at"
    inlines = [ProposalPhotoInline, ProgressUpdateInline]
    readonly_fields = ["author"]


class CommentScopedAdmin(ScopedAdmin):
    scope_path = "proposal__space__municipality"


@admin.register(Comment)
class CommentAdmin(CommentScopedAdmin):
    list_display = ["__str__", "proposal", "author", "created_at", "hidden_at"]
    list_filter = [("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["body"]
    readonly_fields = ["proposal", "author", "parent", "body", "created_at", "hidden_at", "hidden_by"]
    fields = [*readonly_fields, "hidden_reason"]

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False


@admin.register(CommentReport)
class CommentReportAdmin(ScopedAdmin):
    scope_path = "comment__proposal__space__municipality"
    list_display = ["comment", "reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["comment", "reporter", "reason", "created_at"]

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False


CommentAdmin.list_display_links = ["__str__"]
CommentAdmin.empty_value_display = _("—")
