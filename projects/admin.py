import functools
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import OutOfScope, can_edit_places, can_moderate
from portal.accounts.scoped_admin import AuditedAdminMixin, ScopedAdmin, ScopedInline, action_form_response
from projects import services
from projects.fields import MoneyField
from projects.forms import EmbedOriginForm
from projects.models import (
    Comment,
    CommentReport,
    EmbedOrigin,
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


class EmbedOriginInline(ScopedInline):
    """The municipality's websites that may show its widget; its officials keep the list."""

    model = EmbedOrigin
    form = EmbedOriginForm
    fields = ["origin"]


@admin.register(Municipality)
class MunicipalityAdmin(ScopedAdmin):
    """Officials read their own municipalities (for choices) and keep the list of their
    websites that show the widget; only superusers edit the municipality itself."""

    scope_path = "pk"
    list_display = ["name", "region", "kind", "population", "oktmo"]
    list_filter = ["region", "kind"]
    search_fields = ["name", "oktmo"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["district"]
    inlines = [EmbedOriginInline]
    MUNICIPALITY_FIELDS = ["region", "name", "slug", "kind", "district", "population", "oktmo", "latitude", "longitude"]

    def _can_write(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The change page is where officials keep the widget's websites (the inline);
        # every field of the municipality stays read-only for them.
        return request.user.is_superuser or can_edit_places(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = ["widget_snippet"] if obj is not None else []
        if not request.user.is_superuser:
            readonly = [*self.MUNICIPALITY_FIELDS, *readonly]
        return readonly

    def get_fields(self, request: HttpRequest, obj=None):
        fields = list(self.MUNICIPALITY_FIELDS)
        return [*fields, "widget_snippet"] if obj is not None else fields

    def get_prepopulated_fields(self, request: HttpRequest, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    @admin.display(description=_("widget for the municipality's website"))
    def widget_snippet(self, municipality: Municipality) -> str:
        url = settings.SITE_URL.rstrip("/") + reverse("votes:embed", args=[municipality.slug])
        title = gettext("Vote on the improvement of public spaces")
        snippet = (
            f'<iframe src="{url}" title="{title}" '
            'width="100%" height="720" loading="lazy" style="border:0;max-width:960px"></iframe>'
        )
        origins = [origin.origin for origin in municipality.embed_origins.all()]
        where = (
            gettext("It is shown only on: %(origins)s.") % {"origins": ", ".join(origins)}
            if origins
            else gettext("No website is listed yet: add yours below, or browsers will refuse to show the widget.")
        )
        return format_html(
            '<p>{}</p><textarea readonly rows="3" cols="90" aria-label="{}">{}</textarea><p>{}</p>',
            gettext("Paste this into a page of the municipality's website:"),
            gettext("Widget code"),
            snippet,
            where,
        )


class PhotoForm(forms.ModelForm):
    """Checks an uploaded photo by its content and stores it re-encoded (no EXIF, no GPS);
    a photo needs a text alternative: its description, or a caption that says it."""

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and not getattr(image, "_committed", False):
            return photo_store(file=image)
        return image

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("image") and not (cleaned.get("alt_text") or "").strip() and not cleaned.get("caption"):
            self.add_error(
                "alt_text",
                ValidationError(
                    _("Describe what the photo shows (or give it a caption) for those who cannot see it."),
                    code="alt_text_required",
                ),
            )
        return cleaned


class PhotoRenditionsMixin:
    """After the photo inlines are saved, each new or replaced photo gets its smaller copies."""

    PHOTO_MODELS: tuple[type[models.Model], ...] = (SpacePhoto, ProposalPhoto)

    def save_formset(self, request: HttpRequest, form, formset, change):
        result = super().save_formset(request, form, formset, change)  # type: ignore[misc]
        if formset.model in self.PHOTO_MODELS:
            replaced = [obj for obj, fields in formset.changed_objects if "image" in fields]
            for photo in [*formset.new_objects, *replaced]:
                services.photo_renditions_store(photo=photo)
        return result


class SpacePhotoInline(ScopedInline):
    model = SpacePhoto
    form = PhotoForm
    fields = ["image", "alt_text", "caption"]


@admin.register(Space)
class SpaceAdmin(PhotoRenditionsMixin, ScopedAdmin):
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
    fields = ["image", "alt_text", "caption", "kind"]


class ProgressUpdateForm(forms.ModelForm):
    """Money spent far above the estimate is asked about on the row itself: the reason
    confirms the figure (the service checks the same, for every other caller)."""

    class Meta:
        model = ProgressUpdate
        fields = ["stage", "happened_on", "text", "spent_to_date", "overrun_reason"]
        widgets = {"overrun_reason": forms.Textarea(attrs={"rows": 2, "cols": 30})}
        field_classes = {"spent_to_date": MoneyField}  # "50 000 000" as officials type it

    def clean(self):
        cleaned = super().clean() or {}
        proposal = getattr(self.instance, "proposal", None) if self.instance.proposal_id else None
        spent = cleaned.get("spent_to_date")
        if proposal is not None:
            try:
                services.spent_check(proposal=proposal, spent=spent, reason=cleaned.get("overrun_reason") or "")
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class ProgressUpdateInline(ScopedInline):
    model = ProgressUpdate
    form = ProgressUpdateForm
    fields = ["stage", "happened_on", "text", "spent_to_date", "overrun_reason"]


@admin.register(Proposal)
class ProposalAdmin(PhotoRenditionsMixin, ScopedAdmin):
    scope_path = "space__municipality"
    list_display = ["title", "kind", "space", "status", "estimated_cost", "submitted_at"]
    list_filter = ["kind", "status", "space__kind", "space__municipality__region", "space__municipality"]
    search_fields = ["title", "description", "space__name", "space__address"]
    autocomplete_fields = ["space", "merged_into"]
    raw_id_fields = ["author"]
    list_select_related = ["space", "space__municipality"]
    date_hierarchy = "submitted_at"
    inlines = [ProposalPhotoInline, ProgressUpdateInline]
    # What was spent comes from the progress updates (with their reasons), not typed here.
    readonly_fields = ["author", "spent"]
    actions = ["correct_ballot_text"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and Proposal.objects.on_open_ballot().filter(pk=obj.pk).exists():
            # Voters are reading these on an open ballot: a typo goes through the
            # correction (with a reason, audited), not through this form.
            fields += [name for name in services.BALLOT_TEXT_FIELDS if name not in fields]
        return fields

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if request.method == "GET" and Proposal.objects.on_open_ballot().filter(pk=obj.pk).exists():
            self.message_user(
                request,
                gettext(
                    "This proposal is on the ballot of an open vote: its title and description are frozen. "
                    "To correct a typo, use the action “Correct a typo on the ballot…” in the list."
                ),
                messages.WARNING,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Correct a typo on the ballot…"))
    def correct_ballot_text(self, request: HttpRequest, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Correct one proposal at a time."), messages.ERROR)
            return None
        proposal = queryset.get()
        form = BallotTextCorrectionForm(
            request.POST if "confirm" in request.POST else None,
            initial={"title": proposal.title, "description": proposal.description},
        )
        if form.is_valid():
            try:
                services.proposal_ballot_text_correct(proposal=proposal, official=request.user, **form.cleaned_data)
            except (ValidationError, OutOfScope) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else gettext("not in your scope")
                self.message_user(request, text, messages.ERROR)
            else:
                self.message_user(request, gettext("The correction is saved and recorded."), messages.SUCCESS)
            return None
        return action_form_response(
            self,
            request,
            items=[(proposal.pk, proposal.title)],
            form=form,
            action="correct_ballot_text",
            template="admin/projects/proposal/correct.html",
            title=gettext("Correct a typo on the ballot"),
        )

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
                "overrun_reason": update.overrun_reason,
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


class BallotTextCorrectionForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    description = forms.CharField(label=_("description"), widget=forms.Textarea(attrs={"rows": 6, "cols": 60}))
    reason = forms.CharField(label=_("What is corrected and why (recorded in the audit log)"), max_length=300)


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
