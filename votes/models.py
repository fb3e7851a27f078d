"""Campaigns, ballots and tallies.

A Campaign is one vote of one municipality for one year: its windows, its method and
limits, its selection rule. Entries are the proposals on its ballot. The register
(Participation) says who voted and refuses a second ballot of one person; the box
(Ballot) says what was voted and nothing of who. Tallies are
always recomputed from the stored ballots (never incremented), so counting can run
twice or die half-way without changing the result.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lib.constraints import ConstraintErrorsOnFields
from portal.accounts.models import Assurance
from projects.models import Municipality, Proposal, Space
from votes import rules

# Which field each check constraint's message belongs to (lib/constraints.py).
CONSTRAINT_FIELDS = {
    "campaign_voting_window_ordered": "voting_closes_at",
    "campaign_ideas_window_ordered": "ideas_close_at",
    "campaign_ideas_before_voting": "ideas_close_at",
    "campaign_choice_limits_ordered": "max_choices",
    "campaign_choose_one_is_one": "max_choices",
    "campaign_cumulative_has_points": "points",
    "campaign_budget_positive": "budget",
    "campaign_knapsack_has_budget": "budget",
    "campaign_budget_rule_has_budget": "budget",
    "campaign_top_k_has_winners": "winners",
    "campaign_threshold_rule_has_threshold": "score_threshold",
    "campaign_reserve_rule_has_share": "reserve_share",
    "campaign_lottery_has_seed": "tie_break_seed",
    "campaign_min_age_sane": "min_age",
    "campaign_design_names_its_territory": "design_space",
    "entry_cost_positive": "cost",
}


class Method(models.TextChoices):
    CHOOSE_ONE = rules.CHOOSE_ONE, _("choose one")
    APPROVAL = rules.APPROVAL, _("approval (several choices)")
    CUMULATIVE = rules.CUMULATIVE, _("cumulative (distribute points)")
    ORDINAL = rules.ORDINAL, _("ranking")
    KNAPSACK = rules.KNAPSACK, _("basket within the budget")


class SelectionRule(models.TextChoices):
    TOP_K = rules.TOP_K, _("most votes (top k)")
    GREEDY = rules.GREEDY, _("greedy within the budget")
    GREEDY_NO_SKIP = rules.GREEDY_NO_SKIP, _("greedy without skipping")
    GREEDY_THRESHOLD = rules.GREEDY_THRESHOLD, _("greedy with a minimum score")
    GREEDY_RESERVE = rules.GREEDY_RESERVE, _("greedy with a reserve for the next project")
    EQUAL_SHARES = rules.EQUAL_SHARES, _("Method of Equal Shares")
    EQUAL_SHARES_ADD1 = rules.EQUAL_SHARES_ADD1, _("Method of Equal Shares with completion")


class TieBreak(models.TextChoices):
    LOWER_ID = rules.TIE_LOWER_ID, _("the project with the lower number")
    MORE_VOTES = rules.TIE_MORE_VOTES, _("the project with more voters")
    CHEAPER = rules.TIE_CHEAPER, _("the cheaper project")
    DEARER = rules.TIE_DEARER, _("the dearer project")
    LOTTERY = rules.TIE_LOTTERY, _("a public lottery with a seed published before the count")


def new_tie_seed() -> str:
    """A fresh seed for the public lottery of ties (shown from creation, frozen at opening)."""
    return secrets.token_hex(16)


class OrdinalScoring(models.TextChoices):
    BORDA = rules.ORDINAL_BORDA, _("Borda: first place gets as many points as places on the ballot")
    FIRST_CHOICE = rules.ORDINAL_FIRST_CHOICE, _("first choices only")


BUDGET_RULES = frozenset(
    {
        SelectionRule.GREEDY,
        SelectionRule.GREEDY_NO_SKIP,
        SelectionRule.GREEDY_THRESHOLD,
        SelectionRule.GREEDY_RESERVE,
        SelectionRule.EQUAL_SHARES,
        SelectionRule.EQUAL_SHARES_ADD1,
    }
)


class VoteGroup(models.Model):
    """A municipality's lists of one year that form one vote, as in the federal vote: its
    territory list and the design-project lists of territories chosen earlier. Each
    resident casts one ballot in the group, in the list of their choice (the register of
    the secret-ballot issue carries that constraint); results stay per list."""

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="vote_groups"
    )
    year = models.PositiveSmallIntegerField(
        _("year of the works"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("vote of several lists")
        verbose_name_plural = _("votes of several lists")
        ordering = ["-year", "municipality__name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "year"], name="vote_group_one_per_municipality_year"),
            # Target of the composite foreign key from Campaign (see migrations): a list
            # joins only its own municipality's vote of its own year.
            models.UniqueConstraint(fields=["id", "municipality", "year"], name="vote_group_id_municipality_year"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.municipality}, {self.year})"


def design_group_label(space_id: int | None) -> str:
    """The exclusivity group every entry of a design list is counted in (at most one
    design project of a territory is selected)."""
    return f"design-{space_id}"


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def open(self, now=None) -> CampaignQuerySet:
        now = now or timezone.now()
        return self.filter(closed_at__isnull=True, voting_opens_at__lte=now, voting_closes_at__gt=now)

    def upcoming(self, now=None) -> CampaignQuerySet:
        now = now or timezone.now()
        return self.filter(closed_at__isnull=True, voting_opens_at__gt=now)

    def closed(self, now=None) -> CampaignQuerySet:
        now = now or timezone.now()
        return self.filter(Q(closed_at__isnull=False) | Q(voting_closes_at__lte=now))

    def collecting_ideas(self, now=None) -> CampaignQuerySet:
        now = now or timezone.now()
        return self.filter(ideas_open_at__lte=now, ideas_close_at__gt=now)

    def published(self) -> CampaignQuerySet:
        return self.filter(results_published_at__isnull=False)

    def with_live_count(self) -> CampaignQuerySet:
        """Annotated with the stored live tally: `live_ballots` (ballots it counted, 0 before
        the first count) and `live_computed_at` (when; None before). Turnout is read from
        the count the worker keeps, never by counting the ballot table in a request."""
        live = Tally.objects.filter(campaign=OuterRef("pk"), kind=Tally.Kind.LIVE)
        return self.annotate(
            live_ballots=Coalesce(Subquery(live.values("ballots_counted")[:1]), 0),
            live_computed_at=Subquery(live.values("computed_at")[:1]),
        )

    def assistable_by(self, user: Any) -> CampaignQuerySet:
        """Campaigns in which `user` may enter ballots for others: a volunteer in the region
        a superuser assigned them to (none assigned: nowhere yet), an official (paper
        ballots) in the municipalities they administer, a superuser everywhere. Which
        channel, if any, a user enters ballots on is `votes.permissions.assisted_channel`."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.role == user.Role.VOLUNTEER:
            if user.scope_region_id is None:
                return self.none()
            return self.filter(municipality__region_id=user.scope_region_id)
        if user.role in user.OFFICIAL_ROLES:
            return self.filter(municipality__in=Municipality.objects.administered_by(user))
        return self.none()


class Campaign(ConstraintErrorsOnFields, models.Model):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class ResidenceScope(models.TextChoices):
        MUNICIPALITY = "municipality", _("residents of the municipality")
        REGION = "region", _("residents of the whole region")

    class Kind(models.TextChoices):
        TERRITORIES = "territories", _("territories to improve")
        DESIGN = "design", _("design projects of one territory")

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="campaigns"
    )
    kind = models.CharField(_("kind of list"), max_length=12, choices=Kind.choices, default=Kind.TERRITORIES)
    design_space = models.ForeignKey(
        Space,
        verbose_name=_("territory whose design is chosen"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="design_campaigns",
        help_text=_("For a list of design projects: the territory, chosen earlier, that they are designs of."),
    )
    vote_group = models.ForeignKey(
        VoteGroup,
        verbose_name=_("part of the vote"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text=_("The municipality's vote of this year that this list belongs to, with its other lists."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    year = models.PositiveSmallIntegerField(
        _("year of the works"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    residence_scope = models.CharField(
        _("who may vote"), max_length=16, choices=ResidenceScope.choices, default=ResidenceScope.MUNICIPALITY
    )
    ideas_open_at = models.DateTimeField(_("idea collection opens at"), null=True, blank=True)
    ideas_close_at = models.DateTimeField(_("idea collection closes at"), null=True, blank=True)
    voting_opens_at = models.DateTimeField(_("voting opens at"))
    voting_closes_at = models.DateTimeField(_("voting closes at"))
    method = models.CharField(_("voting method"), max_length=16, choices=Method.choices, default=Method.APPROVAL)
    min_choices = models.PositiveSmallIntegerField(_("minimum choices"), default=1)
    max_choices = models.PositiveSmallIntegerField(_("maximum choices"), default=1)
    points = models.PositiveSmallIntegerField(
        _("points to distribute"), null=True, blank=True, help_text=_("Cumulative ballots only.")
    )
    budget = models.DecimalField(_("budget, ₽"), max_digits=14, decimal_places=2, null=True, blank=True)
    rule = models.CharField(
        _("selection rule"), max_length=24, choices=SelectionRule.choices, default=SelectionRule.GREEDY
    )
    winners = models.PositiveSmallIntegerField(
        _("number of winners"), null=True, blank=True, help_text=_("For the 'most votes' rule.")
    )
    score_threshold = models.PositiveIntegerField(
        _("minimum score"),
        null=True,
        blank=True,
        help_text=_("Required by 'greedy with a minimum score'; any greedy rule applies it when set."),
    )
    reserve_share = models.DecimalField(
        _("reserve share"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal(1))],
        help_text=_(
            "For 'greedy with a reserve': the next project that does not fit is funded from a reserve when the "
            "budget left covers at least this share of its cost (0.8 = 80 %)."
        ),
    )
    tie_break = models.CharField(_("ties go to"), max_length=16, choices=TieBreak.choices, default=TieBreak.LOWER_ID)
    tie_break_seed = models.CharField(
        _("lottery seed"),
        max_length=64,
        default=new_tie_seed,
        blank=True,
        help_text=_("Published on the campaign page before the count; anyone can redo the lottery with it."),
    )
    imported_rule = models.CharField(
        _("rule named in the imported file"),
        max_length=32,
        blank=True,
        help_text=_("When it differs from the selection rule, the rule was written in words or chosen at import."),
    )
    import_irregularities = models.JSONField(
        _("irregularities found at import"),
        default=list,
        blank=True,
        help_text=_("What the imported file departed from the format in, and how the import read it."),
    )
    ordinal_scoring = models.CharField(
        _("scoring of rankings"), max_length=16, choices=OrdinalScoring.choices, default=OrdinalScoring.BORDA
    )
    show_live_standings = models.BooleanField(_("show standings while open"), default=False)
    # The public half of the commission's key pair (manage.py commission_key): each
    # participation's link to its ballot is sealed with it; the private half is the
    # commission's and never stays on the server.
    commission_public_key = models.CharField(
        _("commission's public key"), max_length=64, blank=True, editable=False, default=""
    )
    min_age = models.PositiveSmallIntegerField(
        _("minimum age"), default=14, validators=[MinValueValidator(0), MaxValueValidator(120)]
    )
    min_assurance = models.CharField(
        _("lowest identity level accepted"),
        max_length=16,
        choices=Assurance.choices,
        default=Assurance.SELF_DECLARED,
        help_text=_("Accounts verified less surely may not vote (the federal vote asked for a verified phone)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    results_published_at = models.DateTimeField(_("results published at"), null=True, blank=True, editable=False)
    # The commission approved the screening after the close (votes.services.verification):
    # publication waits for it.
    verification_approved_at = models.DateTimeField(
        _("verification approved at"), null=True, blank=True, editable=False
    )
    verification_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verification approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-voting_opens_at", "-pk"]
        indexes = [models.Index(fields=["voting_opens_at", "voting_closes_at"], name="campaign_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(voting_closes_at__gt=F("voting_opens_at")),
                name="campaign_voting_window_ordered",
                violation_error_code="campaign_voting_window_ordered",
                violation_error_message=_("Voting must close after it opens."),
            ),
            models.CheckConstraint(
                condition=Q(ideas_open_at__isnull=True, ideas_close_at__isnull=True)
                | Q(ideas_open_at__isnull=False, ideas_close_at__isnull=False, ideas_close_at__gt=F("ideas_open_at")),
                name="campaign_ideas_window_ordered",
                violation_error_code="campaign_ideas_window_ordered",
                violation_error_message=_(
                    "Give both dates of idea collection, or neither; collection closes after it opens."
                ),
            ),
            models.CheckConstraint(
                condition=Q(ideas_close_at__isnull=True) | Q(ideas_close_at__lte=F("voting_opens_at")),
                name="campaign_ideas_before_voting",
                violation_error_code="campaign_ideas_before_voting",
                violation_error_message=_("Idea collection must close no later than voting opens."),
            ),
            models.CheckConstraint(
                condition=Q(min_choices__gte=1) & Q(max_choices__gte=F("min_choices")),
                name="campaign_choice_limits_ordered",
                violation_error_code="campaign_choice_limits_ordered",
                violation_error_message=_(
                    "A resident makes at least one choice, and the maximum cannot be below the minimum."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(method=rules.CHOOSE_ONE) | Q(min_choices=1, max_choices=1),
                name="campaign_choose_one_is_one",
                violation_error_code="campaign_choose_one_is_one",
                violation_error_message=_(
                    "In a choose-one vote the minimum and the maximum number of choices are both 1."
                ),
            ),
            models.CheckConstraint(
                # isnull=False: a NULL comparison is unknown, which a CHECK would let through.
                condition=~Q(method=rules.CUMULATIVE) | Q(points__isnull=False, points__gte=1),
                name="campaign_cumulative_has_points",
                violation_error_code="campaign_cumulative_has_points",
                violation_error_message=_("A vote by points needs the number of points to distribute (1 or more)."),
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gt=0),
                name="campaign_budget_positive",
                violation_error_code="campaign_budget_positive",
                violation_error_message=_("The budget must be more than zero."),
            ),
            models.CheckConstraint(
                condition=~Q(method=rules.KNAPSACK) | Q(budget__isnull=False),
                name="campaign_knapsack_has_budget",
                violation_error_code="campaign_knapsack_has_budget",
                violation_error_message=_("A basket within a budget needs the budget."),
            ),
            models.CheckConstraint(
                condition=~Q(rule__in=sorted(BUDGET_RULES)) | Q(budget__isnull=False),
                name="campaign_budget_rule_has_budget",
                violation_error_code="campaign_budget_rule_has_budget",
                violation_error_message=_("This selection rule needs the budget."),
            ),
            models.CheckConstraint(
                condition=~Q(rule=rules.TOP_K) | Q(winners__isnull=False, winners__gte=1),
                name="campaign_top_k_has_winners",
                violation_error_code="campaign_top_k_has_winners",
                violation_error_message=_("The 'most votes' rule needs the number of winners (1 or more)."),
            ),
            models.CheckConstraint(
                condition=~Q(rule=rules.GREEDY_THRESHOLD) | Q(score_threshold__isnull=False),
                name="campaign_threshold_rule_has_threshold",
                violation_error_code="campaign_threshold_rule_has_threshold",
                violation_error_message=_("This selection rule needs the minimum score."),
            ),
            models.CheckConstraint(
                condition=~Q(rule=rules.GREEDY_RESERVE)
                | Q(reserve_share__isnull=False, reserve_share__gt=0, reserve_share__lte=1),
                name="campaign_reserve_rule_has_share",
                violation_error_code="campaign_reserve_rule_has_share",
                violation_error_message=_("This selection rule needs the reserve share: more than 0 and at most 1."),
            ),
            models.CheckConstraint(
                condition=~Q(tie_break=rules.TIE_LOTTERY) | ~Q(tie_break_seed=""),
                name="campaign_lottery_has_seed",
                violation_error_code="campaign_lottery_has_seed",
                violation_error_message=_("A lottery needs its seed."),
            ),
            models.CheckConstraint(
                condition=Q(min_age__lte=120),
                name="campaign_min_age_sane",
                violation_error_code="campaign_min_age_sane",
                violation_error_message=_("The minimum age cannot be above 120."),
            ),
            # A list of design projects names the territory it decides; a list of
            # territories names none. (On PostgreSQL a composite foreign key also keeps
            # that territory in the campaign's municipality.)
            models.CheckConstraint(
                condition=Q(kind="design", design_space__isnull=False)
                | Q(kind="territories", design_space__isnull=True),
                name="campaign_design_names_its_territory",
                violation_error_code="campaign_design_names_its_territory",
                violation_error_message=_(
                    "A list of design projects names its territory; a list of territories names none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(results_published_at__isnull=True) | Q(closed_at__isnull=False),
                name="campaign_published_after_close",
                violation_error_code="campaign_published_after_close",
                violation_error_message=_("Results are published only after the vote has closed."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.municipality}, {self.year})"

    def get_absolute_url(self) -> str:
        return reverse("votes:campaign_detail", args=[self.pk])

    # Phases, derived from the timestamps (one source of truth).
    def phase(self, now=None) -> str:
        now = now or timezone.now()
        if self.closed_at is not None or now >= self.voting_closes_at:
            return "closed"
        if now >= self.voting_opens_at:
            return "voting"
        if self.ideas_open_at and self.ideas_open_at <= now < self.ideas_close_at:
            return "ideas"
        return "upcoming"

    def is_open(self, now=None) -> bool:
        return self.phase(now) == "voting"

    @property
    def is_closed(self) -> bool:
        return self.phase() == "closed"

    def ballot_is_frozen(self, now=None) -> bool:
        """Once voting has begun, the ballot and its rules are what voters voted on."""
        return self.opened_at is not None or (now or timezone.now()) >= self.voting_opens_at

    @property
    def lacks_commission_key(self) -> bool:
        """Before the vote opens, officials are told a vote without a key cannot annul ballots."""
        return not self.commission_public_key and not self.ballot_is_frozen()

    @property
    def uses_budget(self) -> bool:
        return self.rule in BUDGET_RULES or self.method == rules.KNAPSACK

    @property
    def is_design(self) -> bool:
        return self.kind == self.Kind.DESIGN


class Entry(ConstraintErrorsOnFields, models.Model):
    """A proposal on a campaign's ballot."""

    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="entries")
    proposal = models.ForeignKey(Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="entries")
    external_id = models.CharField(_("external id"), max_length=64, help_text=_("The project id in pabulib files."))
    cost = models.DecimalField(
        _("cost on the ballot, ₽"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    # Entries with one label exclude each other (votes.rules: "Exclusivity groups"):
    # Warszawa's projects on one plot, the design projects of one territory.
    exclusivity_group = models.CharField(
        _("exclusivity group"),
        max_length=64,
        blank=True,
        help_text=_("Entries with the same label exclude each other: at most one of them is selected."),
    )

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "proposal"], name="entry_proposal_once_per_campaign"),
            models.UniqueConstraint(fields=["campaign", "external_id"], name="entry_external_id_unique"),
            # Target of the composite foreign key from BallotChoice (see migrations).
            models.UniqueConstraint(fields=["id", "campaign"], name="entry_id_campaign_unique"),
            models.CheckConstraint(
                condition=Q(cost__gt=0),
                name="entry_cost_positive",
                violation_error_code="entry_cost_positive",
                violation_error_message=_("The cost must be more than zero."),
            ),
        ]

    def __str__(self) -> str:
        return self.proposal.title if self.proposal_id else self.external_id

    @property
    def exclusion_label(self) -> str:
        """The exclusivity group the entry is counted in: every entry of a design list
        shares its territory's group, whatever label is stored; else the stored label."""
        campaign = self.campaign
        if campaign.kind == Campaign.Kind.DESIGN:
            return design_group_label(campaign.design_space_id)
        return self.exclusivity_group


class Channel(models.TextChoices):
    WEB = "web", _("web")
    API = "api", _("API")
    VOLUNTEER = "volunteer", _("with a volunteer")
    PAPER = "paper", _("paper, entered by an official")
    IMPORT = "import", _("imported from a file")


def ballot_id_new() -> int:
    """A random 63-bit id: the box's ids say nothing of the order ballots came in."""
    return secrets.randbits(63) or 1


class ParticipationQuerySet(models.QuerySet["Participation"]):
    def in_vote_of(self, campaign: Campaign) -> ParticipationQuerySet:
        """Participations in the campaign's vote: its vote group's lists, or itself alone."""
        if campaign.vote_group_id is not None:
            return self.filter(vote_group_id=campaign.vote_group_id)
        return self.filter(campaign_id=campaign.pk)

    def of_voter_in_vote(self, voter_id: int, campaign: Campaign) -> ParticipationQuerySet:
        """The voter's participation in the campaign's vote (this list or another of its
        group), whatever the channel: at most one, by the register's constraints."""
        return self.in_vote_of(campaign).filter(voter_id=voter_id)


class Participation(models.Model):
    """The register: who took part in which vote, how and when; never what they chose.

    Like the signed list of voters at a polling station, it is kept apart from the
    ballot box (`Ballot`): no column relates a participation to its ballot. It carries
    the rule that matters most, one person one ballot: once per list, and once per vote
    group (a municipality's territory and design lists of one year). `vote_group` is the
    campaign's, stamped by the database on PostgreSQL (migration 0010) so that no insert
    can dodge the group's constraint. The only link to the ballot is `sealed_link`: its
    receipt hash sealed for the vote's commission (votes.sealing), opened only by the
    commission's private key, which never stays on the server.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="participations"
    )
    vote_group = models.ForeignKey(
        VoteGroup, verbose_name=_("vote"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participations",
    )
    # Participations imported from a pabulib file have no user, only the file's voter id.
    external_voter_id = models.CharField(_("voter id in the imported file"), max_length=64, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("volunteer or official who entered it"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assisted_participations",
    )
    voted_at = models.DateTimeField(_("voted at"), default=timezone.now)
    sealed_link = models.BinaryField(_("sealed link to the ballot"), null=True, blank=True, editable=False)
    # What the screening after the close needs and no more (votes.screening): keyed hashes
    # of the client's network (/24, /48) and user agent, and the 10-minute bucket. Erased
    # once the results are published and the retention passed (README, 152-ФЗ).
    client_hash = models.CharField(_("network hash"), max_length=64, null=True, blank=True, editable=False)
    agent_hash = models.CharField(_("user agent hash"), max_length=64, null=True, blank=True, editable=False)
    time_bucket = models.DateTimeField(_("time bucket"), null=True, blank=True, editable=False)

    objects = ParticipationQuerySet.as_manager()

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["voted_at", "pk"]
        constraints = [
            # One voter, one ballot, across all channels: in a list, and in a vote group.
            models.UniqueConstraint(fields=["campaign", "voter"], name="participation_one_per_voter"),
            models.UniqueConstraint(
                fields=["vote_group", "voter"],
                condition=Q(vote_group__isnull=False),
                name="participation_one_per_voter_in_vote",
            ),
            models.UniqueConstraint(
                fields=["campaign", "external_voter_id"], name="participation_one_per_external_voter"
            ),
            models.CheckConstraint(
                condition=Q(voter__isnull=False) | Q(channel="import", external_voter_id__isnull=False),
                name="participation_has_voter",
            ),
            models.CheckConstraint(
                condition=~Q(channel__in=["volunteer", "paper"]) | Q(volunteer__isnull=False),
                name="participation_assisted_names_helper",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.pk}"


class AnnulmentReason(models.TextChoices):
    """Why the commission annulled a ballot: a category, public in the ledger and results."""

    DUPLICATE_PERSON = "duplicate_person", _("one person, several accounts")
    BULK_ACCOUNTS = "bulk_accounts", _("accounts made in bulk")
    BURST = "burst", _("a burst from one network or device")
    VOLUNTEER_OUTLIER = "volunteer_outlier", _("a volunteer's ballots far outside the others")
    ELIGIBILITY_CHANGED = "eligibility_changed", _("eligibility changed during the vote")
    OTHER = "other", _("other")


class BallotQuerySet(models.QuerySet["Ballot"]):
    def counted(self) -> BallotQuerySet:
        """Ballots the commission did not annul: the ones every tally counts."""
        return self.filter(annulled_reason="")

    def annulled(self) -> BallotQuerySet:
        return self.exclude(annulled_reason="")


class Ballot(models.Model):
    """The ballot box: what was voted, with no voter, no time finer than the day and an id
    that reveals no order. Written in the same transaction as its participation.

    `annulled_reason` is empty for a counted ballot; the commission's annulment sets only
    its category here (who and why in detail stays in the register's `Annulment`)."""

    id = models.BigIntegerField(primary_key=True, default=ballot_id_new, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="ballots")
    cast_on = models.DateField(_("day cast"), default=timezone.localdate)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)
    annulled_reason = models.CharField(
        _("annulled for"), max_length=24, choices=AnnulmentReason.choices, blank=True, default="", editable=False
    )

    objects = BallotQuerySet.as_manager()

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        ordering = ["receipt_hash"]
        constraints = [
            # Target of the composite foreign key from BallotChoice (see migrations).
            models.UniqueConstraint(fields=["id", "campaign"], name="ballot_id_campaign_unique"),
            models.CheckConstraint(condition=Q(receipt_hash__regex=r"^[0-9a-f]{64}$"), name="ballot_receipt_hash_hex"),
        ]
        indexes = [
            # The few annulled ballots of a campaign, without reading the others: a tally
            # counts every choice by the (campaign, entry) index and takes these off.
            models.Index(fields=["campaign"], condition=~Q(annulled_reason=""), name="ballot_annulled_of_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.receipt_hash[:16]}"


class BallotChoice(models.Model):
    """One entry chosen on a ballot, with its points (cumulative) or rank (ordinal).

    `campaign` repeats the ballot's campaign so that PostgreSQL can refuse a choice of
    another campaign's entry with composite foreign keys, and so that counting is a
    GROUP BY over one table.
    """

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="choices")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", db_index=False)
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="choices")
    points = models.PositiveSmallIntegerField(_("points or rank"), default=1)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["ballot", "points", "pk"]
        indexes = [models.Index(fields=["campaign", "entry"], name="choice_campaign_entry")]
        constraints = [
            models.UniqueConstraint(fields=["ballot", "entry"], name="choice_entry_once_per_ballot"),
            models.CheckConstraint(condition=Q(points__gte=1), name="choice_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}×{self.points}"


class FindingQuerySet(models.QuerySet["Finding"]):
    def open(self) -> FindingQuerySet:
        return self.filter(status=Finding.Status.OPEN)


class Finding(models.Model):
    """What the screening after the close found in the register (votes.services.verification):
    its kind, the evidence (counts, hashes, times, never choices) and the participations
    concerned. The commission clears it or annuls ballots of its participations."""

    class Kind(models.TextChoices):
        DUPLICATE_PERSON = "duplicate_person", _("accounts that look like one person")
        BULK_ACCOUNTS = "bulk_accounts", _("accounts made in bulk")
        BURST = "burst", _("a burst from one network or device")
        VOLUNTEER_OUTLIER = "volunteer_outlier", _("a volunteer far outside the others")
        ELIGIBILITY_CHANGED = "eligibility_changed", _("eligibility changed during the vote")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLEARED = "cleared", _("cleared")
        ANNULLED = "annulled", _("ballots annulled")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="findings"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    participations = models.ManyToManyField(
        Participation, verbose_name=_("participations"), related_name="findings", blank=True
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(_("found at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["campaign", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", decided_at__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False, decided_by__isnull=False)),
                name="finding_decision_stamped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Annulment(models.Model):
    """The register's side of an annulled ballot: which participation, why, who decided.
    It names no ballot: the only link stays sealed (the box keeps the reason's category)."""

    participation = models.OneToOneField(
        Participation, verbose_name=_("participation"), on_delete=models.PROTECT, related_name="annulment"
    )
    reason = models.CharField(_("reason"), max_length=24, choices=AnnulmentReason.choices)
    note = models.TextField(_("note"), blank=True)
    finding = models.ForeignKey(
        Finding, verbose_name=_("finding"), on_delete=models.SET_NULL, null=True, blank=True, related_name="annulments"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    class Meta:
        verbose_name = _("annulment")
        verbose_name_plural = _("annulments")
        ordering = ["decided_at", "pk"]

    def __str__(self) -> str:
        return f"{self.participation_id}: {self.get_reason_display()}"


# A final tally whose count has finished; Tally.Kind and Tally.Status hold these values.
_FINAL_DONE = Q(kind="final", status="done")
_FINAL_KIND = Q(kind="final")


def live_standings_min_ballots() -> int:
    """How many ballots a live tally needs before anything per entry is shown."""
    return settings.LIVE_STANDINGS_MIN_BALLOTS


def _standings_disclosed() -> Q:
    # One ballot in, live standings are that voter's choices; a few in, they are nearly so
    # (with the register's times). A final tally is shown whatever its size: publishing is
    # the commission's decision, and the ledger lists every ballot anyway.
    return _FINAL_KIND | Q(ballots_counted__gte=live_standings_min_ballots())


def _open_live(now: datetime.datetime) -> Q:
    return Q(
        kind="live",
        computed_at__isnull=False,
        campaign__show_live_standings=True,
        campaign__results_published_at__isnull=True,
        campaign__closed_at__isnull=True,
        campaign__voting_opens_at__lte=now,
        campaign__voting_closes_at__gt=now,
    )


class TallyQuerySet(models.QuerySet["Tally"]):
    def final_done(self) -> TallyQuerySet:
        """Final tallies whose count has finished (sealed or not yet)."""
        return self.filter(_FINAL_DONE)

    def standings_disclosed(self) -> TallyQuerySet:
        """Tallies whose per-entry figures may be shown to anyone who may see the tally:
        final ones, and live ones with at least LIVE_STANDINGS_MIN_BALLOTS ballots
        (`Tally.standings_disclosed` is the same rule for one tally in hand)."""
        return self.filter(_standings_disclosed())

    def turnout_public(self, now: datetime.datetime | None = None) -> TallyQuerySet:
        """The tallies whose ballot count anyone may see: the final one once its results
        are published; the live one of a campaign that shows live standings, while its
        voting is open (the window at `now`, not only the close stamp: between the end of
        the window and the clock's close, standings are no longer shown). At most one per
        campaign. A count of ballots says nothing of any choice; per-entry figures need
        `public`."""
        now = now or timezone.now()
        published_final = _FINAL_DONE & Q(campaign__results_published_at__isnull=False)
        return self.filter(published_final | _open_live(now))

    def public(self, now: datetime.datetime | None = None) -> TallyQuerySet:
        """The tallies whose standings anyone may see, entry by entry: `turnout_public`
        ones whose standings are disclosed (a live one needs LIVE_STANDINGS_MIN_BALLOTS
        ballots). The results page, the API, the exports read this."""
        return self.turnout_public(now).filter(_standings_disclosed())

    def live_withheld(self, now: datetime.datetime | None = None) -> TallyQuerySet:
        """The live tallies that `public` would show but for too few ballots: their
        ballot count may be told, never a row."""
        return self.turnout_public(now).exclude(_standings_disclosed())


class Tally(models.Model):
    """The stored count of a campaign: one live (refreshed while open) and one final."""

    class Kind(models.TextChoices):
        LIVE = "live", _("live")
        FINAL = "final", _("final")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tallies")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    ballots_counted = models.PositiveIntegerField(_("ballots counted"), default=0)
    budget_used = models.DecimalField(_("budget used, ₽"), max_digits=14, decimal_places=2, default=Decimal(0))
    ledger_head = models.CharField(_("ledger head"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = TallyQuerySet.as_manager()

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="tally_one_per_kind"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(computed_at__isnull=False), name="tally_done_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.get_kind_display()}, {self.get_status_display()}"

    @property
    def standings_disclosed(self) -> bool:
        """`TallyQuerySet.standings_disclosed` for this tally."""
        return self.kind == self.Kind.FINAL or self.ballots_counted >= live_standings_min_ballots()


class TallyRow(models.Model):
    tally = models.ForeignKey(Tally, on_delete=models.CASCADE, related_name="rows")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    votes = models.PositiveIntegerField(_("votes"))
    score = models.DecimalField(_("score"), max_digits=20, decimal_places=4)
    rank = models.PositiveIntegerField(_("rank"))
    selected = models.BooleanField(_("selected"))
    # Funded from a reserve by the reserve rule, apart from the rule's own winners.
    selected_by_reserve = models.BooleanField(_("selected by the reserve"), default=False)
    # Machine-readable "why" from the rule, turned into sentences on the results page.
    explanation = models.JSONField(_("explanation"), default=dict, blank=True)

    class Meta:
        verbose_name = _("tally row")
        verbose_name_plural = _("tally rows")
        ordering = ["rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tally", "entry"], name="tally_row_entry_once"),
            models.CheckConstraint(
                condition=Q(selected_by_reserve=False) | Q(selected=True), name="tally_row_reserve_is_selected"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.score}"


class IdeaQuerySet(models.QuerySet["Idea"]):
    def pending(self) -> IdeaQuerySet:
        return self.filter(proposal__status=Proposal.Status.SUBMITTED)

    def by_author(self, user) -> IdeaQuerySet:
        return self.filter(proposal__author=user).select_related(
            "campaign", "proposal", "proposal__space", "proposal__merged_into"
        )


class Idea(models.Model):
    """A resident's proposal sent during a campaign's idea collection.

    The idea's state is its proposal's status (submitted → approved / merged /
    rejected), so there is one lifecycle to keep consistent, not two.
    """

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="ideas")
    proposal = models.OneToOneField(Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="idea")
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    objects = IdeaQuerySet.as_manager()

    class Meta:
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "submitted_at"], name="idea_campaign_submitted")]

    def __str__(self) -> str:
        return self.proposal.title if self.proposal_id else f"#{self.pk}"

    @property
    def state(self) -> str:
        return self.proposal.status


class TurnoutNotice(models.Model):
    """The day an official was last told that a vote of theirs is behind pace: at most one
    e-mail per campaign, official and local day (the unique constraint is the rule)."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="+")
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("official"), on_delete=models.CASCADE, related_name="+"
    )
    sent_on = models.DateField(_("day (local time)"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    projected_percent = models.DecimalField(_("projected turnout, %"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("turnout notice")
        verbose_name_plural = _("turnout notices")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "official", "sent_on"], name="turnout_notice_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.official_id} · {self.sent_on}"
