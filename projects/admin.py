import functools
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import OutOfScope, can_moderate
from portal.accounts.scoped_admin import AuditedAdminMixin, ScopedAdmin, ScopedInline, action_form_response
from projects import services
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
class RegionAdmin(AuditedAdminMixin, admin.ModelAdmin):
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

    def save_formset(self, request: HttpRequest, form, formset, change):
        if formset.model is not ProgressUpdate:
            return super().save_formset(request, form, formset, change)
        # Every change of an update goes through a service: a new one also moves the
        # proposal's status and dates; each records its audit event.
        instances = formset.save(commit=False)
        user = request.user
        changes = [
            functools.partial(services.progress_update_delete, update=o, official=user) for o in formset.deleted_objects
        ]
        for update in instances:
            fields = {
                "stage": update.stage,
                "text": update.text,
                "happened_on": update.happened_on,
                "spent_to_date": update.spent_to_date,
            }
            if update.pk:
                change = functools.partial(services.progress_update_change, update=update, official=user, **fields)
            else:
                change = functools.partial(services.progress_update_add, proposal=form.instance, author=user, **fields)
            changes.append(change)
        for change in changes:
            try:
                change()
            except (ValidationError, OutOfScope) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else gettext("not in your scope")
                self.message_user(request, f"{gettext('Progress update not saved')}: {text}", messages.ERROR)
        formset.save_m2m()
        return None


class CommentScopedAdmin(ScopedAdmin):
    scope_path = "proposal__space__municipality"


class CommentHideForm(forms.Form):
    reason = forms.CharField(label=_("Reason shown in place of the comment"), max_length=300)


@admin.register(Comment)
class CommentAdmin(CommentScopedAdmin):
    list_display = ["__str__", "proposal", "author", "created_at", "hidden_at", "report_count"]
    list_display_links = ["__str__"]
    empty_value_display = _("—")
    list_filter = [("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["body"]
    readonly_fields = ["proposal", "author", "parent", "body", "created_at", "hidden_at", "hidden_by"]
    fields = [*readonly_fields, "hidden_reason"]
    actions = ["hide_comments"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).annotate(report_total=Count("reports"))

    @admin.display(description=_("reports"), ordering="report_total")
    def report_count(self, comment: Comment) -> int:
        return comment.report_total  # type: ignore[attr-defined]  # annotated by get_queryset

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    # Moderators (not only officials) hide comments, within their scope.
    def _can_read(self, request: HttpRequest) -> bool:
        return super()._can_read(request) or can_moderate(request.user)

    def _can_write(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or can_moderate(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser  # hidden, not deleted: the thread stays readable

    def has_hide_permission(self, request: HttpRequest) -> bool:
        return self._can_write(request)

    def save_model(self, request: HttpRequest, obj: models.Model, form, change) -> None:
        # The only editable field is the reason: saving one hides the comment.
        reason = form.cleaned_data.get("hidden_reason", "")
        if reason and "hidden_reason" in form.changed_data:
            try:
                services.comment_hide(comment=cast(Comment, obj), moderator=request.user, reason=reason)
            except (ValidationError, OutOfScope) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else gettext("not in your scope")
                self.message_user(request, text, messages.ERROR)

    @admin.action(description=_("Hide with a reason…"), permissions=["hide"])
    def hide_comments(self, request: HttpRequest, queryset):
        form = CommentHideForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            hidden = 0
            for comment in queryset:
                try:
                    services.comment_hide(comment=comment, moderator=request.user, reason=form.cleaned_data["reason"])
                except (ValidationError, OutOfScope):
                    self.message_user(request, f"{comment}: {gettext('not hidden')}", messages.ERROR)
                else:
                    hidden += 1
            message = ngettext("%(count)d comment hidden.", "%(count)d comments hidden.", hidden)
            self.message_user(request, message % {"count": hidden}, messages.SUCCESS)
            return None
        return action_form_response(
            self,
            request,
            items=((comment.pk, Truncator(comment.body).chars(200)) for comment in queryset),
            form=form,
            action="hide_comments",
            template="admin/projects/comment/hide.html",
            title=gettext("Hide comments"),
        )


@admin.register(CommentReport)
class CommentReportAdmin(ScopedAdmin):
    scope_path = "comment__proposal__space__municipality"
    list_display = ["comment", "reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["comment", "reporter", "reason", "created_at"]

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False
