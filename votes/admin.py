from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_scope import ScopedAdmin, ScopedInline
from votes import services
from votes.models import Ballot, BallotChoice, Campaign, Entry, Tally, TallyRow
from votes.results import live_tally_is_stale


def _warning_text() -> str:
    return gettext("The live tally is out of date: the worker or beat may be down.")


def tally_state_text(campaign: Campaign) -> str:
    """never run / running / done at T / failed: error, for each kind of tally."""
    tallies = {t.kind: t for t in campaign.tallies.all()}
    parts = []
    for kind, label in Tally.Kind.choices:
        tally = tallies.get(kind)
        if tally is None:
            state = gettext("never run")
        elif tally.status == Tally.Status.RUNNING:
            state = gettext("running since %(t)s") % {
                "t": date_format(timezone.localtime(tally.started_at), "SHORT_DATETIME_FORMAT")
            }
        elif tally.status == Tally.Status.DONE:
            state = gettext("done at %(t)s") % {
                "t": date_format(timezone.localtime(tally.computed_at), "SHORT_DATETIME_FORMAT")
            }
        else:
            state = gettext("failed: %(error)s") % {"error": tally.error}
        parts.append(f"{label}: {state}")
    return "; ".join(parts)


class EntryInline(ScopedInline):
    model = Entry
    fields = ["proposal", "external_id", "cost", "position"]
    autocomplete_fields = ["proposal"]


@admin.register(Campaign)
class CampaignAdmin(ScopedAdmin):
    scope_path = "municipality"
    list_display = [
        "title",
        "municipality",
        "year",
        "method",
        "rule",
        "voting_opens_at",
        "voting_closes_at",
        "tally_state",
    ]
    list_filter = ["year", "method", "rule", "municipality__region", "municipality"]
    search_fields = ["title", "municipality__name"]
    autocomplete_fields = ["municipality"]
    list_select_related = ["municipality"]
    date_hierarchy = "voting_opens_at"
    readonly_fields = ["opened_at", "closed_at", "results_published_at", "tally_state", "live_tally_warning"]
    inlines = [EntryInline]
    actions = ["recount_now", "publish_results"]
    fieldsets = [
        (None, {"fields": ["municipality", "title", "description", "year", "residence_scope", "min_age"]}),
        ("Windows", {"fields": ["ideas_open_at", "ideas_close_at", "voting_opens_at", "voting_closes_at"]}),
        (
            "Method",
            {
                "fields": [
                    "method",
                    "min_choices",
                    "max_choices",
                    "points",
                    "budget",
                    "rule",
                    "winners",
                    "score_threshold",
                    "ordinal_scoring",
                    "show_live_standings",
                ]
            },
        ),
        ("Lifecycle", {"fields": ["opened_at", "closed_at", "results_published_at"]}),
        (_("Counting"), {"fields": ["tally_state", "live_tally_warning"]}),
    ]

    # --- Counting: tally state, recount, publication ---

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("tallies")

    @admin.display(description=_("tally"))
    def tally_state(self, campaign: Campaign) -> str:
        return tally_state_text(campaign)

    @admin.display(description=_("live tally"))
    def live_tally_warning(self, campaign: Campaign) -> str:
        if campaign.pk and live_tally_is_stale(campaign):
            return _warning_text()
        return "—"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id and request.method == "GET":
            campaign = self.get_object(request, object_id)
            if live_tally_is_stale(campaign):
                messages.warning(request, _warning_text())
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Recount now"))
    def recount_now(self, request: HttpRequest, queryset) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        for campaign in queryset:
            services.tally_enqueue(campaign=campaign, final=campaign.closed_at is not None)
        self.message_user(request, gettext("A recount was queued for %(n)d campaign(s).") % {"n": queryset.count()})

    @admin.action(description=_("Publish results"))
    def publish_results(self, request: HttpRequest, queryset) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        for campaign in queryset:
            try:
                services.results_publish(campaign=campaign)
            except services.ResultsError as exc:
                self.message_user(request, f"{campaign}: {exc}", level=messages.ERROR)
            else:
                self.message_user(request, gettext("%(campaign)s: results published.") % {"campaign": campaign})


class BallotChoiceInline(admin.TabularInline):
    model = BallotChoice
    fields = ["entry", "points"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Ballot)
class BallotAdmin(ScopedAdmin):
    """Ballots are read-only, and never show who cast them: secrecy holds in the admin too."""

    scope_path = "campaign__municipality"
    read_only = True
    list_display = ["receipt_hash", "campaign", "channel", "cast_at"]
    list_filter = ["channel", "campaign"]
    search_fields = ["receipt_hash"]
    list_select_related = ["campaign"]
    fields = ["campaign", "channel", "cast_at", "receipt_hash"]
    readonly_fields = fields
    inlines = [BallotChoiceInline]


class TallyRowInline(admin.TabularInline):
    model = TallyRow
    fields = ["entry", "votes", "score", "rank", "selected"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Tally)
class TallyAdmin(ScopedAdmin):
    scope_path = "campaign__municipality"
    read_only = True
    list_display = ["campaign", "kind", "status", "computed_at", "ballots_counted"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "campaign",
        "kind",
        "status",
        "started_at",
        "computed_at",
        "ballots_counted",
        "budget_used",
        "ledger_head",
        "error",
    ]
    inlines = [TallyRowInline]
