from django.contrib import admin
from django.http import HttpRequest

from portal.admin_scope import ScopedAdmin, ScopedInline
from votes.models import Ballot, BallotChoice, Campaign, Entry, Tally, TallyRow


class EntryInline(ScopedInline):
    model = Entry
    fields = ["proposal", "external_id", "cost", "position"]
    autocomplete_fields = ["proposal"]


@admin.register(Campaign)
class CampaignAdmin(ScopedAdmin):
    scope_path = "municipality"
    list_display = ["title", "municipality", "year", "method", "rule", "voting_opens_at", "voting_closes_at"]
    list_filter = ["year", "method", "rule", "municipality__region", "municipality"]
    search_fields = ["title", "municipality__name"]
    autocomplete_fields = ["municipality"]
    list_select_related = ["municipality"]
    date_hierarchy = "voting_opens_at"
    readonly_fields = ["opened_at", "closed_at", "results_published_at"]
    inlines = [EntryInline]
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
    ]


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
