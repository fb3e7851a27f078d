"""Places and what is proposed for them.

Region → Municipality → Space (a public space or a courtyard) → Proposal (a
beautification project with a cost and a lifecycle). Reads live here as QuerySet
methods; every write goes through `projects.services` (the admin's forms write through
the audited admin of `portal.accounts.scoped_admin`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lib.constraints import ConstraintErrorsOnFields
from projects.validators import WEB_ORIGIN_REGEX, validate_image_upload, validate_web_origin

# Which field each check constraint's message belongs to (lib/constraints.py).
CONSTRAINT_FIELDS = {
    "municipality_oktmo_digits": "oktmo",
    "municipality_population_positive": "population",
    "municipality_settlement_in_district": "district",
    "embed_origin_is_an_origin": "origin",
    "space_area_positive": "area_m2",
    "space_coordinates_on_earth": "latitude",
    "text_alternative_missing": "alt_text",
    "proposal_cost_positive": "estimated_cost",
    "proposal_spent_not_negative": "spent",
    "proposal_approved_has_date": "approved_at",
    "proposal_selected_has_date": "selected_at",
    "proposal_design_has_date": "design_at",
    "proposal_construction_has_date": "construction_at",
    "proposal_completed_has_date": "completed_at",
    "proposal_rejected_has_date_and_reason": "rejection_reason",
    "proposal_merged_has_target": "merged_into",
    "proposal_not_merged_into_itself": "merged_into",
    "progress_spent_not_negative": "spent_to_date",
    "comment_hidden_has_reason": "hidden_reason",
}


class Region(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    code = models.CharField(_("ISO 3166-2 code"), max_length=10, unique=True)
    # The federal vote's rule of thumb: a municipality with at least 20 % of its residents
    # aged 14 and over voting had better chances of the subsidy; regions set their own.
    turnout_threshold = models.PositiveSmallIntegerField(
        _("turnout threshold, %"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Turnout of residents aged 14 and over that a municipality should reach."),
    )
    # The municipal data (projects/data/municipalities) has the total population only; this
    # share turns it into residents aged 14 and over where a municipality has no own figure.
    # 83 %: Rosstat's age tables put about 17 % of Russia's residents under 14 (2021-2023);
    # an assumption to check against the region's own table.
    share_14_plus = models.DecimalField(
        _("share of residents aged 14 and over, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(83),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(100))],
        help_text=_("Used where a municipality has no figure of its own for residents aged 14 and over."),
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MunicipalityQuerySet(models.QuerySet["Municipality"]):
    def administered_by(self, user: Any) -> MunicipalityQuerySet:
        """The municipalities whose spaces, proposals, campaigns and audit events `user`
        administers: a superuser all; a regional official, moderator or auditor of a
        region its municipalities; a municipal official (or auditor) those assigned;
        anyone else none. The one definition of an official's scope."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        role = user.Role
        if user.role in (role.REGIONAL_OFFICIAL, role.MODERATOR, role.AUDITOR) and user.scope_region_id:
            return self.filter(region_id=user.scope_region_id)
        if user.role in (role.MUNICIPAL_OFFICIAL, role.AUDITOR):
            return self.filter(officials=user)
        return self.none()


class Municipality(ConstraintErrorsOnFields, models.Model):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class Kind(models.TextChoices):
        URBAN_OKRUG = "urban_okrug", _("urban okrug")
        MUNICIPAL_OKRUG = "municipal_okrug", _("municipal okrug")
        MUNICIPAL_DISTRICT = "municipal_district", _("municipal district")
        URBAN_SETTLEMENT = "urban_settlement", _("urban settlement")
        RURAL_SETTLEMENT = "rural_settlement", _("rural settlement")

    # Settlements are the second level: each lies in a municipal district.
    SETTLEMENT_KINDS = (Kind.URBAN_SETTLEMENT, Kind.RURAL_SETTLEMENT)

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="municipalities"
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.URBAN_OKRUG)
    # Unknown (None) where no source confirms a figure (projects/data/municipalities):
    # pages then show no turnout rather than one against a guessed population.
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    population_14_plus = models.PositiveIntegerField(
        _("residents aged 14 and over"),
        null=True,
        blank=True,
        help_text=_("Empty: the population times the region's share of residents aged 14 and over."),
    )
    oktmo = models.CharField(_("OKTMO code"), max_length=11, unique=True, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    district = models.ForeignKey(
        "self",
        verbose_name=_("municipal district"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        help_text=_("For a settlement: the municipal district it lies in."),
    )

    objects = MunicipalityQuerySet.as_manager()

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="municipality_unique_name_in_region"),
            # OKTMO codes are 8 digits (municipality) or 11 (settlement level).
            models.CheckConstraint(
                condition=Q(oktmo__regex=r"^([0-9]{8}|[0-9]{11})$"),
                name="municipality_oktmo_digits",
                violation_error_code="municipality_oktmo_digits",
                violation_error_message=_("An OKTMO code has 8 or 11 digits."),
            ),
            models.CheckConstraint(
                condition=Q(population__gt=0),
                name="municipality_population_positive",
                violation_error_code="municipality_population_positive",
                violation_error_message=_("The population must be more than zero."),
            ),
            # A settlement lies in a district; nothing else does.
            models.CheckConstraint(
                condition=Q(kind__in=["urban_settlement", "rural_settlement"], district__isnull=False)
                | (~Q(kind__in=["urban_settlement", "rural_settlement"]) & Q(district__isnull=True)),
                name="municipality_settlement_in_district",
                violation_error_code="municipality_settlement_in_district",
                violation_error_message=_(
                    "A settlement lies in a municipal district; other kinds of municipality lie in none."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def residents_14_plus(self) -> int | None:
        """Residents aged 14 and over: the municipality's own figure, else its population
        times the region's share (select_related("region") to avoid a query); None when
        neither is known, and then no turnout is shown."""
        if self.population_14_plus:
            return self.population_14_plus
        if not self.population:
            return None
        return int(self.population * self.region.share_14_plus / 100)


class EmbedOrigin(ConstraintErrorsOnFields, models.Model):
    """A website of the municipality allowed to show its widget (`/embed/<slug>/`) in a frame.

    Each is an origin (scheme, host and port, no path), because that is what the
    browser compares with the CSP `frame-ancestors` list the widget is served with."""

    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="embed_origins"
    )
    origin = models.CharField(
        _("website"),
        max_length=255,
        validators=[validate_web_origin],
        help_text=_("The address of the site that shows the widget, without a path: https://www.example-city.ru"),
    )

    class Meta:
        verbose_name = _("website allowed to show the widget")
        verbose_name_plural = _("websites allowed to show the widget")
        ordering = ["origin"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "origin"], name="embed_origin_once_per_municipality"),
            # Anything else in a CSP source list (a path, a wildcard, a quote, a space)
            # would widen or break the policy.
            models.CheckConstraint(
                condition=Q(origin__regex=WEB_ORIGIN_REGEX),
                name="embed_origin_is_an_origin",
                violation_error_code="embed_origin_is_an_origin",
                violation_error_message=_("Give a website's address only, such as https://ekb.ru (no path)."),
            ),
        ]

    def __str__(self) -> str:
        return self.origin


class SpaceQuerySet(models.QuerySet["Space"]):
    def public(self) -> SpaceQuerySet:
        """What residents may see: spaces an official made, or with a published proposal.
        A space proposed in a resident's idea stays hidden while the idea waits for
        moderation (or once it is merged into another)."""
        public_statuses = [s for s in Proposal.Status.values if s not in Proposal.HIDDEN_STATUSES]
        with_public = Proposal.objects.filter(status__in=public_statuses).values("space_id")
        return self.filter(Q(proposals__isnull=True) | Q(pk__in=with_public)).distinct()

    def improved(self) -> SpaceQuerySet:
        """Spaces with at least one completed project."""
        return self.filter(proposals__status=Proposal.Status.COMPLETED).distinct()


class Space(ConstraintErrorsOnFields, models.Model):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class Kind(models.TextChoices):
        PUBLIC_SPACE = "public_space", _("public space")
        COURTYARD = "courtyard", _("courtyard")

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="spaces"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
    )
    area_m2 = models.DecimalField(
        _("area, m²"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = SpaceQuerySet.as_manager()

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["municipality__name", "name"]
        constraints = [
            models.UniqueConstraint("municipality", Lower("name"), name="space_unique_name_in_municipality"),
            # Target of the composite foreign key from a design campaign (votes migrations).
            models.UniqueConstraint(fields=["id", "municipality"], name="space_id_municipality_unique"),
            models.CheckConstraint(
                condition=Q(area_m2__gt=0),
                name="space_area_positive",
                violation_error_code="space_area_positive",
                violation_error_message=_("The area must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="space_coordinates_on_earth",
                violation_error_code="space_coordinates_on_earth",
                violation_error_message=_("Latitude is between −90 and 90, longitude between −180 and 180."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.municipality})"

    def get_absolute_url(self) -> str:
        return reverse("projects:space_detail", args=[self.pk])


def _photo_path(instance: models.Model, filename: str) -> str:
    # The stored name never comes from the uploader: it is random, with a safe suffix.
    return f"photos/{instance._meta.model_name}/{uuid.uuid4().hex}.jpg"


class Photo(ConstraintErrorsOnFields, models.Model):
    """What every stored photo has: a validated, re-encoded image, its size, a text for
    those who cannot see it, and the smaller copies pages load (`projects.images`)."""

    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    image = models.ImageField(
        _("image"),
        upload_to=_photo_path,
        validators=[validate_image_upload],
        help_text=_("A JPEG, PNG or WebP photo; it is stored re-encoded, without its metadata."),
    )
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    alt_text = models.CharField(
        _("description for screen readers"),
        max_length=300,
        blank=True,
        help_text=_("What the photo shows, for those who cannot see it. Required unless the caption says it."),
    )
    # Set with the copies (services.photo_renditions_store), not by ImageField's
    # width_field: that opens the file whenever a row without them is loaded.
    width = models.PositiveIntegerField(_("width, px"), null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(_("height, px"), null=True, blank=True, editable=False)
    # [[width, height], ...] of the WebP copies made on upload, smallest first; their
    # files sit beside the image (projects.images.rendition_name).
    renditions = models.JSONField(_("smaller copies"), default=list, blank=True, editable=False)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["uploaded_at", "pk"]
        constraints = [
            # Every picture a page shows has a text alternative: its own, or the caption.
            models.CheckConstraint(
                condition=~Q(alt_text="") | ~Q(caption=""),
                name="%(app_label)s_%(class)s_has_text_alternative",
                violation_error_code="text_alternative_missing",
                violation_error_message=_(
                    "Describe what the photo shows (or give it a caption) for those who cannot see it."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.caption or f"#{self.pk}"

    @property
    def text_alternative(self) -> str:
        return self.alt_text or self.caption


class SpacePhoto(Photo):
    space = models.ForeignKey(Space, verbose_name=_("space"), on_delete=models.CASCADE, related_name="photos")

    class Meta(Photo.Meta):
        verbose_name = _("space photo")
        verbose_name_plural = _("space photos")


class ProposalQuerySet(models.QuerySet["Proposal"]):
    def designs(self) -> ProposalQuerySet:
        """Design projects (concepts) of a territory, as opposed to what to improve."""
        return self.filter(kind=Proposal.Kind.DESIGN)

    def on_open_ballot(self, now=None) -> ProposalQuerySet:
        """Proposals on the ballot of a vote that has begun and not closed: what voters read
        is frozen (looked up by name: projects does not import votes)."""
        now = now or timezone.now()
        return self.filter(
            entries__campaign__closed_at__isnull=True,
            entries__campaign__voting_opens_at__lte=now,
            entries__campaign__voting_closes_at__gt=now,
        ).distinct()

    def with_pictures(self) -> ProposalQuerySet:
        """Photos prefetched (the proposal's own, then its space's) for cards and ballots."""
        return self.prefetch_related("photos", "space__photos")

    def public(self) -> ProposalQuerySet:
        """What residents may see: everything but ideas still waiting for moderation
        and ideas merged into another one."""
        return self.exclude(status__in=Proposal.HIDDEN_STATUSES)

    def with_place(self) -> ProposalQuerySet:
        return self.select_related("space", "space__municipality", "space__municipality__region")


class Proposal(ConstraintErrorsOnFields, models.Model):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class Kind(models.TextChoices):
        TERRITORY = "territory", _("improvement of a territory")
        DESIGN = "design", _("design project")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved for a ballot")
        SELECTED = "selected", _("selected")
        IN_DESIGN = "in_design", _("in design")
        UNDER_CONSTRUCTION = "under_construction", _("under construction")
        COMPLETED = "completed", _("completed")
        REJECTED = "rejected", _("rejected")
        MERGED = "merged", _("merged into another")

    # Ideas waiting for moderation, and ideas merged into another, are not shown.
    HIDDEN_STATUSES = (Status.SUBMITTED, Status.MERGED)

    # Each status, and the timestamp that must be set once a proposal has reached it.
    STATUS_TIMESTAMPS = {
        Status.SUBMITTED: "submitted_at",
        Status.APPROVED: "approved_at",
        Status.SELECTED: "selected_at",
        Status.IN_DESIGN: "design_at",
        Status.UNDER_CONSTRUCTION: "construction_at",
        Status.COMPLETED: "completed_at",
        Status.REJECTED: "rejected_at",
        Status.MERGED: "rejected_at",
    }

    space = models.ForeignKey(Space, verbose_name=_("space"), on_delete=models.PROTECT, related_name="proposals")
    # A design project (концепция) is one of the alternative designs of a territory
    # already chosen: its photos are renderings, and it has a plan (ProposalPhoto.Kind.PLAN).
    kind = models.CharField(_("kind of proposal"), max_length=12, choices=Kind.choices, default=Kind.TERRITORY)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    estimated_cost = models.DecimalField(
        _("estimated cost, ₽"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    spent = models.DecimalField(_("spent so far, ₽"), max_digits=14, decimal_places=2, default=Decimal(0))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
    )
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField(_("submitted at"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    selected_at = models.DateTimeField(_("selected at"), null=True, blank=True)
    design_at = models.DateTimeField(_("design started at"), null=True, blank=True)
    construction_at = models.DateTimeField(_("construction started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_ideas",
    )

    objects = ProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["status", "submitted_at"], name="proposal_status_submitted")]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_cost__gt=0),
                name="proposal_cost_positive",
                violation_error_code="proposal_cost_positive",
                violation_error_message=_("The estimated cost must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(spent__gte=0),
                name="proposal_spent_not_negative",
                violation_error_code="proposal_spent_not_negative",
                violation_error_message=_("Money spent cannot be negative."),
            ),
            # Lifecycle timestamps follow the status: a proposal cannot be "completed"
            # without the date it was completed, nor rejected without a reason.
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "selected", "in_design", "under_construction", "completed"])
                | Q(approved_at__isnull=False),
                name="proposal_approved_has_date",
                violation_error_code="proposal_approved_has_date",
                violation_error_message=_("A proposal in this status needs the date it was approved."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["selected", "in_design", "under_construction", "completed"])
                | Q(selected_at__isnull=False),
                name="proposal_selected_has_date",
                violation_error_code="proposal_selected_has_date",
                violation_error_message=_("A proposal in this status needs the date it was selected."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_design", "under_construction", "completed"]) | Q(design_at__isnull=False),
                name="proposal_design_has_date",
                violation_error_code="proposal_design_has_date",
                violation_error_message=_("A proposal in this status needs the date its design started."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["under_construction", "completed"]) | Q(construction_at__isnull=False),
                name="proposal_construction_has_date",
                violation_error_code="proposal_construction_has_date",
                violation_error_message=_("A proposal in this status needs the date its construction started."),
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="proposal_completed_has_date",
                violation_error_code="proposal_completed_has_date",
                violation_error_message=_("A completed proposal needs the date it was completed."),
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | (Q(rejected_at__isnull=False) & ~Q(rejection_reason="")),
                name="proposal_rejected_has_date_and_reason",
                violation_error_code="proposal_rejected_has_date_and_reason",
                violation_error_message=_("A rejected proposal needs the date and the reason for rejection."),
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False),
                name="proposal_merged_has_target",
                violation_error_code="proposal_merged_has_target",
                violation_error_message=_("A merged proposal names the proposal it was merged into."),
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=models.F("pk")),
                name="proposal_not_merged_into_itself",
                violation_error_code="proposal_not_merged_into_itself",
                violation_error_message=_("A proposal cannot be merged into itself."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("projects:proposal_detail", args=[self.pk])

    @property
    def municipality(self) -> Municipality:
        return self.space.municipality

    @property
    def is_design(self) -> bool:
        return self.kind == self.Kind.DESIGN

    def pictures(self) -> list[Photo]:
        """What a card or a ballot shows, best first: the proposal's general photos (a
        design project's renderings), its plan, then photos of its space. Reads the
        prefetched photos (`with_pictures`) when there are any."""
        own = list(self.photos.all())
        general = [p for p in own if p.kind == ProposalPhoto.Kind.GENERAL]
        plans = [p for p in own if p.kind == ProposalPhoto.Kind.PLAN]
        return [*general, *plans, *self.space.photos.all()]

    @property
    def cover(self) -> Photo | None:
        pictures = self.pictures()
        return pictures[0] if pictures else None


class ProposalPhoto(Photo):
    class Kind(models.TextChoices):
        GENERAL = "general", _("general (a rendering, for a design project)")
        PLAN = "plan", _("plan")
        BEFORE = "before", _("before")
        AFTER = "after", _("after")

    proposal = models.ForeignKey(Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.GENERAL)

    class Meta(Photo.Meta):
        verbose_name = _("proposal photo")
        verbose_name_plural = _("proposal photos")


class ProgressUpdate(ConstraintErrorsOnFields, models.Model):
    """A dated note from an official on the works of a selected proposal."""

    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    class Stage(models.TextChoices):
        DESIGN = "design", _("design")
        CONTRACT = "contract", _("contract")
        CONSTRUCTION = "construction", _("construction")
        COMPLETED = "completed", _("completed")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="progress_updates"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    text = models.TextField(_("text"))
    spent_to_date = models.DecimalField(_("spent to date, ₽"), max_digits=14, decimal_places=2, null=True, blank=True)
    overrun_reason = models.TextField(
        _("why more was spent than estimated"),
        blank=True,
        help_text=_("Required when the money spent is far above the estimated cost; shown with the works."),
    )
    happened_on = models.DateField(_("date"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        ordering = ["happened_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(spent_to_date__isnull=True) | Q(spent_to_date__gte=0),
                name="progress_spent_not_negative",
                violation_error_code="progress_spent_not_negative",
                violation_error_message=_("Money spent cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.happened_on}"


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible(self) -> CommentQuerySet:
        return self.filter(hidden_at__isnull=True)

    def reported(self) -> CommentQuerySet:
        """Visible comments with a report no moderator has resolved yet."""
        return self.visible().filter(reports__resolved_at__isnull=True).distinct()

    def by_author(self, user) -> CommentQuerySet:
        """A resident's own comments, newest first, with where they were written."""
        return self.filter(author=user).select_related("proposal").order_by("-created_at", "-pk")


class Comment(ConstraintErrorsOnFields, models.Model):
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = CONSTRAINT_FIELDS

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("in reply to"), on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField(_("comment"), max_length=4000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    hidden_at = models.DateTimeField(_("hidden at"), null=True, blank=True)
    hidden_reason = models.CharField(_("reason for hiding"), max_length=300, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("hidden by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""),
                name="comment_hidden_has_reason",
                violation_error_code="comment_hidden_has_reason",
                violation_error_message=_("A hidden comment needs the reason shown in its place."),
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]


class CommentReport(models.Model):
    comment = models.ForeignKey(Comment, verbose_name=_("comment"), on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("comment report")
        verbose_name_plural = _("comment reports")
        constraints = [models.UniqueConstraint(fields=["comment", "reporter"], name="comment_report_once_per_reporter")]

    def __str__(self) -> str:
        return self.reason[:60]
