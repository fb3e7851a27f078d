from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import OutOfScope, can_moderate
from portal.accounts.scoped_admin import ScopedAdmin, ScopedInline, action_form_response
from projects.models import Proposal
from votes import services
from votes.models import (
    Ballot,
    BallotChoice,
    Campaign,
    Entry,
    Idea,
    Participation,
    Tally,
    TallyRow,
    VoteGroup,
    design_group_label,
    live_standings_min_ballots,
)
from votes.permissions import can_download_protocol
from votes.results import live_tally_is_stale
from votes.turnout import turnout_by_day, turnout_of


def _warning_text() -> str:
    return gettext("The live tally is out of date: the worker or beat may be down.")


def _no_commission_key_text(campaign: Campaign) -> str:
    if campaign.ballot_is_frozen():
        return gettext("none: no ballot of this vote can be annulled after the close.")
    return gettext(
        "This vote has no commission key yet: without it, no ballot can be annulled after the close. "
        "Make it before the vote opens: manage.py commission_key %(id)s --out FOLDER (then hand the key to the "
        "commission and delete it from the server)."
    ) % {"id": campaign.pk}


def recount_refused_text(command: str) -> str:
    return gettext(
        "the recount was not queued: the task queue (Redis) is not answering. "
        "Try again in a few minutes, or count on the server: %(command)s"
    ) % {"command": command}


def tally_state_text(campaign: Campaign, kinds=None) -> str:
    """never run / running / done at T (final: ledger sealed or not yet) / failed: error, per kind;
    `kinds` (one) gives that kind's state alone, without its label."""
    tallies = {t.kind: t for t in campaign.tallies.all()}
    parts = []
    for kind, label in Tally.Kind.choices:
        if kinds is not None and kind not in kinds:
            continue
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
            if kind == Tally.Kind.FINAL:
                # The seal (the ledger head) follows the count in its own task; publish waits for it.
                state += ", " + (gettext("ledger sealed") if tally.ledger_head else gettext("ledger not sealed yet"))
        else:
            state = gettext("failed: %(error)s") % {"error": tally.error}
        parts.append(state if kinds is not None else f"{label}: {state}")
    return "; ".join(parts)


def irregularity_text(item: dict) -> str:
    """An import irregularity (votes.pabulib.Irregularity.as_dict) in the official's language;
    the stored English message where no sentence fits its code."""
    params = item.get("params") or {}
    if "more" in params:
        return ngettext("… and %(n)d more of this kind", "… and %(n)d more of this kind", params["more"]) % {
            "n": params["more"]
        }
    how = {
        "cumulative": gettext("its points are summed"),
        "ordinal": gettext("its first (best) rank is kept"),
    }.get(params.get("vote_type", ""), gettext("it is counted once"))
    sentences = {
        "repeated_project": lambda: (
            gettext("the vote names project %(projects)s more than once: %(how)s.")
            % {"projects": params["projects"], "how": how}
        ),
        "fractional_budget": lambda: gettext("the budget, %(value)s, has a fractional part: kept exactly.") % params,
        "fractional_cost": lambda: (
            gettext("project %(project)s costs %(value)s, with a fractional part: kept exactly.") % params
        ),
        "duplicate_voter_id": lambda: (
            gettext("voter %(voter)s appears again: both votes count, the second under a numbered id.") % params
        ),
        "short_row": lambda: (
            gettext("a %(section)s row has fewer fields than the header: the missing ones are empty.") % params
        ),
        "extra_empty_fields": lambda: (
            gettext("a %(section)s row ends with empty fields the header does not have.") % params
        ),
        "meta_without_value": lambda: gettext("the META key %(key)s has no value: ignored.") % params,
        "rule_chosen": lambda: (
            gettext("the file's rule is %(file_rule)s; counted with %(rule)s, chosen at import.") % params
        ),
        "exclusive_unnamed": lambda: gettext(
            "the file's rule greedy-exclusive names no exclusive projects: counted as plain greedy."
        ),
        "tie_break_chosen": lambda: gettext("ties are broken by %(tie_break)s, chosen at import.") % params,
    }
    if item.get("code") == "rule_in_words":
        if "share" in params:
            return (
                gettext(
                    "the rule %(file_rule)s is written in words: read as greedy with a reserve for the next project "
                    "when the budget left covers %(share)s %% of its cost."
                )
                % params
            )
        if "projects" in params:
            return (
                gettext(
                    "the rule %(file_rule)s is written in words: read as greedy with exclusive projects %(projects)s."
                )
                % params
            )
    try:
        return sentences[item["code"]]()
    except KeyError:
        return item.get("message", "")


class EntryForm(forms.ModelForm):
    """An entry fits its list: a list of territories offers improvements of territories;
    a list of design projects offers design projects of its territory, all in one
    exclusivity group (at most one is selected), whatever label is typed."""

    class Meta:
        model = Entry
        fields = ["proposal", "external_id", "cost", "position", "exclusivity_group"]

    def clean(self):
        cleaned = super().clean() or {}
        campaign = getattr(self.instance, "campaign", None)  # set by the inline formset
        proposal = cleaned.get("proposal")
        if campaign is None or proposal is None:
            return cleaned
        if campaign.kind == Campaign.Kind.DESIGN:
            if not proposal.is_design or proposal.space_id != campaign.design_space_id:
                self.add_error(
                    "proposal",
                    ValidationError(
                        _("A list of design projects offers only design projects of its territory."),
                        code="not_a_design_of_the_territory",
                    ),
                )
            cleaned["exclusivity_group"] = design_group_label(campaign.design_space_id)
        elif proposal.is_design:
            self.add_error(
                "proposal",
                ValidationError(
                    _("A design project goes on a list of design projects of its territory."),
                    code="design_on_a_territory_list",
                ),
            )
        return cleaned


class EntryInline(ScopedInline):
    model = Entry
    form = EntryForm
    fields = ["proposal", "external_id", "cost", "position", "exclusivity_group"]
    autocomplete_fields = ["proposal"]

    # The ballot is frozen once voting has begun: ballots already cast name these entries,
    # and the published ledger names their external ids and costs.
    def _ballot_frozen(self, obj) -> bool:
        return obj is not None and obj.ballot_is_frozen()

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return not self._ballot_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return not self._ballot_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not self._ballot_frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(Campaign)
class CampaignAdmin(ScopedAdmin):
    scope_path = "municipality"
    list_display = [
        "title",
        "municipality",
        "year",
        "kind",
        "vote_group",
        "method",
        "rule",
        "voting_opens_at",
        "voting_closes_at",
        "tally_state",
        "import_flag",
    ]
    list_filter = ["year", "kind", "method", "rule", "municipality__region", "municipality"]
    search_fields = ["title", "municipality__name"]
    autocomplete_fields = ["municipality", "design_space", "vote_group"]
    list_select_related = ["municipality", "vote_group"]
    date_hierarchy = "voting_opens_at"
    readonly_fields = [
        "opened_at",
        "closed_at",
        "results_published_at",
        "tally_state",
        "live_tally_warning",
        "imported_rule",
        "import_report",
        "commission_key_state",
    ]
    # What ballots were cast under, and what the count reads, cannot change once voting began.
    FROZEN_WHEN_OPEN = [
        "municipality",
        "kind",
        "design_space",
        "vote_group",
        "year",
        "residence_scope",
        "min_age",
        "min_assurance",
        "voting_opens_at",
        "method",
        "min_choices",
        "max_choices",
        "points",
        "budget",
        "rule",
        "winners",
        "score_threshold",
        "ordinal_scoring",
        "reserve_share",
        "tie_break",
        "tie_break_seed",
    ]
    inlines = [EntryInline]
    actions = ["recount_now", "seal_ledger", "publish_results"]
    change_form_template = "admin/votes/campaign/change_form.html"
    fieldsets = [
        (
            None,
            {"fields": ["municipality", "title", "description", "year", "residence_scope", "min_age", "min_assurance"]},
        ),
        (_("List"), {"fields": ["kind", "design_space", "vote_group"]}),
        (_("Dates"), {"fields": ["ideas_open_at", "ideas_close_at", "voting_opens_at", "voting_closes_at"]}),
        (
            _("Voting method and count"),
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
                    "reserve_share",
                    "tie_break",
                    "tie_break_seed",
                    "ordinal_scoring",
                    "show_live_standings",
                ]
            },
        ),
        (_("Commission"), {"fields": ["commission_key_state"]}),
        (_("Import"), {"fields": ["imported_rule", "import_report"]}),
        (_("Stages"), {"fields": ["opened_at", "closed_at", "results_published_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.ballot_is_frozen():
            fields += [name for name in self.FROZEN_WHEN_OPEN if name not in fields]
            if obj.closed_at is not None:
                fields.append("voting_closes_at")
        return fields

    # --- Counting: tally state, recount, publication ---

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("tallies")

    @admin.display(description=_("tally"))
    def tally_state(self, campaign: Campaign) -> str:
        return tally_state_text(campaign)

    @admin.display(description=_("import"))
    def import_flag(self, campaign: Campaign) -> str:
        if campaign.imported_rule and campaign.imported_rule != campaign.rule:
            return gettext("rule %(rule)s chosen (file: %(file)s)") % {
                "rule": campaign.rule,
                "file": campaign.imported_rule,
            }
        n = len(campaign.import_irregularities or [])
        return ngettext("%(n)d irregularity", "%(n)d irregularities", n) % {"n": n} if n else "—"

    @admin.display(description=_("irregularities found at import"))
    def import_report(self, campaign: Campaign) -> str:
        """What the imported file departed from the format in, line by line, for officials."""
        items = campaign.import_irregularities or []
        lines = []
        if campaign.imported_rule and campaign.imported_rule != campaign.rule:
            lines.append(
                gettext("Flagged: the file names the rule %(file)r; the count uses %(rule)r.")
                % {"file": campaign.imported_rule, "rule": campaign.rule}
            )
        for item in items:
            where = gettext("line %(n)s: ") % {"n": item["line"]} if item.get("line") is not None else ""
            lines.append(f"{where}{irregularity_text(item)}")
        if not lines:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines)))

    @admin.display(description=_("commission's key"))
    def commission_key_state(self, campaign: Campaign) -> str:
        if campaign.commission_public_key:
            return gettext("made; its public key is %(key)s") % {"key": campaign.commission_public_key[:16] + "…"}
        return _no_commission_key_text(campaign) if campaign.pk else "—"

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
            if campaign is not None and campaign.lacks_commission_key:
                messages.warning(request, _no_commission_key_text(campaign))
            days = turnout_by_day(campaign)
            extra_context = {
                **(extra_context or {}),
                "counting": self._counting_panel(request, campaign),
                "turnout_days": days,
                "turnout": turnout_of(campaign, participants=days[-1].cumulative if days else 0),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    # The campaign's own page shows its count and offers the same steps as the list's
    # actions, each a POST to its own URL calling the same service.
    COUNTING_STEPS = ("recount", "seal", "publish")

    def get_urls(self):
        urls = super().get_urls()
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/counting/<str:step>/",
                self.admin_site.admin_view(self.counting_view),
                name=f"{opts.app_label}_{opts.model_name}_counting",
            ),
            *urls,
        ]

    def _counting_panel(self, request: HttpRequest, campaign: Campaign) -> dict:
        tallies = {t.kind: t for t in campaign.tallies.all()}
        final = tallies.get(Tally.Kind.FINAL)
        final_done = final is not None and final.status == Tally.Status.DONE
        published = campaign.results_published_at is not None
        steps = []
        if self._can_write(request) and not published:
            steps.append(("recount", gettext("Recount now")))
            if final_done and final is not None and not final.ledger_head:
                steps.append(("seal", gettext("Seal the ballot ledger")))
            if campaign.closed_at is not None and final_done and final is not None and final.ledger_head:
                steps.append(("publish", gettext("Publish results")))
        rows = []
        for kind, label in Tally.Kind.choices:
            tally = tallies.get(kind)
            rows.append(
                {
                    "label": label,
                    "tally": tally,
                    "state": tally_state_text(campaign, kinds=[kind]),
                    "link": reverse("admin:votes_tally_change", args=[tally.pk]) if tally is not None else "",
                }
            )
        return {
            "rows": rows,
            "stale": live_tally_is_stale(campaign),
            "stale_text": _warning_text(),
            "published": published,
            "steps": steps,
            # The view decides who may download it; the link shows where it may.
            "protocol": final_done and can_download_protocol(request.user, campaign),
        }

    def counting_view(self, request: HttpRequest, object_id: str, step: str):
        if request.method != "POST" or step not in self.COUNTING_STEPS:
            raise Http404
        campaign = self.get_object(request, object_id)  # 404 outside the scope
        if not self._can_write(request):
            raise PermissionDenied
        queryset = Campaign.objects.filter(pk=campaign.pk)
        action = {"recount": self.recount_now, "seal": self.seal_ledger, "publish": self.publish_results}[step]
        with transaction.atomic():
            action(request, queryset)
        return redirect(reverse("admin:votes_campaign_change", args=[campaign.pk]))

    @admin.action(description=_("Recount now"))
    def recount_now(self, request: HttpRequest, queryset) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        recounts = [services.tally_recount(campaign=campaign, actor=request.user) for campaign in queryset]
        # The tasks go when the action's transaction commits: only then is it known
        # whether the broker took them, so the answer is given then too.
        transaction.on_commit(lambda: self._recount_report(request, recounts))

    def _recount_report(self, request: HttpRequest, recounts: list[services.Recount]) -> None:
        queued = 0
        for recount in recounts:
            campaign = recount.campaign
            if recount.results_stand:
                self.message_user(
                    request,
                    gettext("%(campaign)s: its results are published and stand.") % {"campaign": campaign},
                    level=messages.WARNING,
                )
            elif recount.queued is False:
                command = f"manage.py tally {campaign.pk}" + (" --final" if campaign.closed_at is not None else "")
                self.message_user(request, f"{campaign}: {recount_refused_text(command)}", level=messages.ERROR)
            else:
                queued += 1
        if queued:
            message = ngettext(
                "A recount was queued for %(n)d campaign.", "A recount was queued for %(n)d campaigns.", queued
            )
            self.message_user(request, message % {"n": queued})

    @admin.action(description=_("Seal the ballot ledger"))
    def seal_ledger(self, request: HttpRequest, queryset) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        for campaign in queryset:
            if services.ledger_seal_request(campaign=campaign, actor=request.user):
                self.message_user(request, gettext("%(campaign)s: the seal was queued.") % {"campaign": campaign})
            else:
                self.message_user(
                    request,
                    gettext("%(campaign)s: nothing to seal (no finished final tally, or it is sealed).")
                    % {"campaign": campaign},
                    level=messages.WARNING,
                )

    @admin.action(description=_("Publish results"))
    def publish_results(self, request: HttpRequest, queryset) -> None:
        if not self._can_write(request):
            raise PermissionDenied
        for campaign in queryset:
            try:
                services.results_publish(campaign=campaign, actor=request.user)
            except services.ResultsError as exc:
                self.message_user(request, f"{campaign}: {exc}", level=messages.ERROR)
            else:
                self.message_user(request, gettext("%(campaign)s: results published.") % {"campaign": campaign})


class VoteGroupCampaignInline(admin.TabularInline):
    """The lists of a vote, each a link to its own page (they are edited there)."""

    model = Campaign
    extra = 0
    can_delete = False
    fields = readonly_fields = ("list_link", "kind", "voting_opens_at", "voting_closes_at")
    verbose_name = _("list of this vote")
    verbose_name_plural = _("lists of this vote")

    @admin.display(description=_("list"))
    def list_link(self, campaign: Campaign) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:votes_campaign_change", args=[campaign.pk]), campaign)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(VoteGroup)
class VoteGroupAdmin(ScopedAdmin):
    """A municipality's vote of one year with its lists: a list joins it from its own page
    (the campaign's "part of the vote")."""

    scope_path = "municipality"
    list_display = ["title", "municipality", "year", "list_count"]
    list_filter = ["year", "municipality__region", "municipality"]
    search_fields = ["title", "municipality__name"]
    autocomplete_fields = ["municipality"]
    list_select_related = ["municipality"]
    inlines = [VoteGroupCampaignInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(list_total=Count("campaigns"))

    @admin.display(description=_("lists"), ordering="list_total")
    def list_count(self, group: VoteGroup) -> int:
        return group.list_total  # type: ignore[attr-defined]  # annotated by get_queryset

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # Lists already voted on name the group; it no longer moves between towns or years.
        if obj is not None and obj.campaigns.filter(opened_at__isnull=False).exists():
            return ["municipality", "year"]
        return []


class ReadOnlyInline(admin.TabularInline):
    """Rows that only a service writes (ballot choices, tally rows): shown, never edited."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CampaignListFilter(admin.RelatedOnlyFieldListFilter):
    """The campaign filter of rows whose model names no verbose name for it (ballots,
    tallies: their models are left as the counting code has them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = gettext("campaign")


class CampaignColumn:
    @admin.display(description=_("campaign"), ordering="campaign")
    def campaign_name(self, obj) -> str:
        return str(obj.campaign)


class EntryColumn:
    @admin.display(description=_("project on the ballot"))
    def entry_name(self, obj) -> str:
        return str(obj.entry)


class BallotChoiceInline(EntryColumn, ReadOnlyInline):
    model = BallotChoice
    fields = readonly_fields = ("entry_name", "points")


@admin.register(Ballot)
class BallotAdmin(CampaignColumn, ScopedAdmin):
    """The ballot box, read-only: what was voted, for counting. Nothing here says who voted
    or when (the box holds no voter and only the day), and nothing is reachable through
    the URL beyond the campaign: Django accepts any one-level lookup unless told otherwise."""

    scope_path = "campaign__municipality"
    read_only = True
    list_display = ["receipt_hash", "campaign_name"]
    list_filter = [("campaign", CampaignListFilter)]
    search_fields = ["=receipt_hash"]
    list_select_related = ["campaign"]
    fields = readonly_fields = ("campaign_name", "receipt_hash")
    inlines = [BallotChoiceInline]
    sortable_by = ["receipt_hash"]
    ordering = ["receipt_hash"]
    ALLOWED_LOOKUPS = ("campaign", "campaign__id", "campaign__id__exact", "campaign__exact")

    def lookup_allowed(self, lookup: str, value, request=None) -> bool:
        return lookup in self.ALLOWED_LOOKUPS


@admin.register(Participation)
class ParticipationAdmin(ScopedAdmin):
    """The register: who voted, in which channel, with whose help, when (turnout and the
    volunteers' work). It never shows or reaches a ballot: the sealed link stays hidden."""

    scope_path = "campaign__municipality"
    read_only = True
    list_display = ["voter", "campaign", "channel", "volunteer", "voted_at"]
    list_filter = ["channel", "campaign"]
    search_fields = ["voter__email", "voter__full_name"]
    list_select_related = ["campaign", "voter", "volunteer"]
    fields = readonly_fields = ("campaign", "voter", "external_voter_id", "channel", "volunteer", "voted_at")
    date_hierarchy = "voted_at"


class TallyRowInline(EntryColumn, ReadOnlyInline):
    model = TallyRow
    fields = readonly_fields = ("entry_name", "votes", "score", "rank", "selected")

    def get_queryset(self, request: HttpRequest):
        # Staff do not count (Celery does): a live tally's rows with few ballots in would
        # show an official the choices of the voters they saw in the register.
        return super().get_queryset(request).filter(tally__in=Tally.objects.standings_disclosed())


@admin.register(Tally)
class TallyAdmin(CampaignColumn, ScopedAdmin):
    scope_path = "campaign__municipality"
    read_only = True
    list_display = ["campaign_name", "kind", "status", "computed_at", "ballots_counted"]
    list_filter = ["kind", "status"]
    list_select_related = ["campaign__municipality"]
    fields = readonly_fields = (
        "campaign_name",
        "kind",
        "status",
        "started_at",
        "computed_at",
        "ballots_counted",
        "budget_used",
        "ledger_head",
        "error",
        "standings",
    )
    inlines = [TallyRowInline]

    @admin.display(description=_("standings"))
    def standings(self, tally: Tally) -> str:
        if tally.standings_disclosed:
            return gettext("shown below")
        count = live_standings_min_ballots()
        return ngettext("withheld until %(count)d ballot is in", "withheld until %(count)d ballots are in", count) % {
            "count": count
        }


# --- Ideas ----------------------------------------------------------------------
# The moderation queue: approve onto the ballot, reject with a reason, or merge into a
# similar proposal of the same municipality (the last two through a confirmation page).


class IdeaRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the author will read it)"), widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


class IdeaMergeForm(forms.Form):
    into = forms.ModelChoiceField(label=_("Merge into"), queryset=Proposal.objects.none())

    def __init__(self, *args, municipality_ids, exclude_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = (  # type: ignore[attr-defined]
            Proposal.objects.filter(space__municipality_id__in=municipality_ids)
            .exclude(pk__in=exclude_ids)
            .exclude(status__in=[Proposal.Status.REJECTED, Proposal.Status.MERGED])
            .select_related("space")
        )


class IdeaStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        states = [
            Proposal.Status.SUBMITTED,
            Proposal.Status.APPROVED,
            Proposal.Status.MERGED,
            Proposal.Status.REJECTED,
        ]
        return [(state.value, state.label) for state in states]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(proposal__status=self.value())
        return queryset


@admin.register(Idea)
class IdeaAdmin(ScopedAdmin):
    scope_path = "campaign__municipality"
    list_display = ["proposal", "space", "campaign", "author", "submitted_at", "state_display"]
    list_filter = [IdeaStateFilter, "campaign"]
    search_fields = ["proposal__title", "proposal__description", "proposal__space__name"]
    list_select_related = ["proposal", "proposal__space", "proposal__author", "campaign"]
    fields = readonly_fields = (
        "campaign",
        "proposal",
        "submitted_at",
        "state_display",
        "description",
        "rejection_reason",
    )
    actions = ["approve_ideas", "reject_ideas", "merge_ideas"]

    @admin.display(description=_("space"))
    def space(self, idea: Idea):
        return idea.proposal.space

    @admin.display(description=_("author"))
    def author(self, idea: Idea):
        return idea.proposal.author

    @admin.display(description=_("state"), ordering="proposal__status")
    def state_display(self, idea: Idea) -> str:
        return idea.proposal.get_status_display()

    @admin.display(description=_("description"))
    def description(self, idea: Idea) -> str:
        return idea.proposal.description

    @admin.display(description=_("reason for rejection"))
    def rejection_reason(self, idea: Idea) -> str:
        return idea.proposal.rejection_reason

    # Ideas come from residents; officials moderate them, they do not write them.
    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def _can_moderate(self, request: HttpRequest) -> bool:
        return can_moderate(request.user)

    def _can_read(self, request: HttpRequest) -> bool:
        # Moderators triage ideas: the queryset (and so the change pages and actions)
        # must include their scope's ideas, not only the module link.
        return super()._can_read(request) or self._can_moderate(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._can_moderate(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or self._can_moderate(request)

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return self._can_moderate(request)

    def _apply(self, request: HttpRequest, queryset, action) -> None:
        done = 0
        for idea in queryset.select_related("proposal"):
            try:
                action(idea)
            except ValidationError as error:
                self.message_user(request, f"{idea}: {' '.join(error.messages)}", messages.ERROR)
            except OutOfScope:
                self.message_user(request, f"{idea}: {gettext('not in your scope')}", messages.ERROR)
            else:
                done += 1
        if done:
            message = ngettext("%(count)d idea moderated.", "%(count)d ideas moderated.", done)
            self.message_user(request, message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Approve onto the campaign's ballot"), permissions=["moderate"])
    def approve_ideas(self, request: HttpRequest, queryset):
        self._apply(request, queryset, lambda idea: services.idea_approve(idea=idea, official=request.user))

    @admin.action(description=_("Reject with a reason…"), permissions=["moderate"])
    def reject_ideas(self, request: HttpRequest, queryset):
        form = IdeaRejectForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._apply(
                request,
                queryset,
                lambda idea: services.idea_reject(idea=idea, official=request.user, reason=reason),
            )
            return None
        return self._intermediate(request, queryset, form, "admin/votes/idea/reject.html", "reject_ideas")

    @admin.action(description=_("Merge into a similar proposal…"), permissions=["moderate"])
    def merge_ideas(self, request: HttpRequest, queryset):
        municipality_ids = set(queryset.values_list("campaign__municipality_id", flat=True))
        if len(municipality_ids) != 1:
            self.message_user(request, gettext("Merge ideas of one municipality at a time."), messages.ERROR)
            return None
        form = IdeaMergeForm(
            request.POST if "confirm" in request.POST else None,
            municipality_ids=municipality_ids,
            exclude_ids=list(queryset.values_list("proposal_id", flat=True)),
        )
        if form.is_valid():
            target = form.cleaned_data["into"]
            self._apply(
                request,
                queryset,
                lambda idea: services.idea_merge(idea=idea, into=target, official=request.user),
            )
            return None
        return self._intermediate(request, queryset, form, "admin/votes/idea/merge.html", "merge_ideas")

    def _intermediate(self, request: HttpRequest, queryset, form, template: str, action: str):
        ideas = queryset.select_related("proposal", "proposal__space")
        return action_form_response(
            self,
            request,
            items=((idea.pk, f"{idea.proposal.title} — {idea.proposal.space.name}") for idea in ideas),
            form=form,
            action=action,
            template=template,
            title=gettext("Moderate ideas"),
        )
