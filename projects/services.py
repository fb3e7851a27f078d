"""Writes on places, proposals, comments and works (keyword-only `<entity>_<action>`)."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from lib.integrity import violated_constraint
from portal.accounts.permissions import OutOfScope, can_moderate_in, is_official_for
from portal.audit.models import AuditEvent
from portal.audit.services import audit_decision, audit_record, audit_snapshot
from projects.images import image_size, rendition_name, renditions_make
from projects.models import (
    Comment,
    CommentReport,
    Municipality,
    Photo,
    ProgressUpdate,
    Proposal,
    ProposalPhoto,
    Region,
    Space,
)
from projects.municipality_import import MunicipalityFileError, MunicipalityRow, slug_from_name
from projects.validators import open_checked_image

# --- Lifecycle ------------------------------------------------------------------
# The one owner of a proposal's status: submitted → approved (onto a ballot) → selected
# (by a published vote) → design → construction → completed, or rejected / merged into
# another. The votes app calls these; the database's check constraints require the
# `*_at` timestamp (and the reason, the merge target) of each status.


def _proposal_require_submitted(locked: Proposal) -> Proposal:
    """The (locked) proposal, if it still waits for moderation (else "already moderated")."""
    if locked.status != Proposal.Status.SUBMITTED:
        raise ValidationError(
            _("This idea has already been moderated (%(status)s).") % {"status": locked.get_status_display()},
            code="moderated",
        )
    return locked


def _proposal_lock_submitted(proposal: Proposal) -> Proposal:
    """The proposal, locked, if it still waits for moderation (else "already moderated")."""
    return _proposal_require_submitted(Proposal.objects.select_for_update().select_related("space").get(pk=proposal.pk))


@transaction.atomic
def proposal_approve(*, proposal: Proposal) -> Proposal:
    """Approve a submitted proposal for a ballot."""
    locked = _proposal_lock_submitted(proposal)
    locked.status = Proposal.Status.APPROVED
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_at"])
    return locked


@transaction.atomic
def proposal_merge(*, proposal: Proposal, into: Proposal) -> Proposal:
    """Fold a submitted proposal into a similar one of the same municipality that still stands."""
    if into.pk == proposal.pk:
        raise ValidationError(_("An idea cannot be merged into itself."), code="self")
    # Both proposals are locked, in id order, before anything is checked: a target being
    # merged or rejected at this moment is seen as it ends up, and two merges crossing
    # each other (A into B, B into A) wait for one another instead of making a cycle.
    both = {
        row.pk: row
        for row in Proposal.objects.select_for_update(of=("self",))
        .select_related("space")
        .filter(pk__in=[proposal.pk, into.pk])
        .order_by("pk")
    }
    target = both[into.pk]
    if target.space.municipality_id != both[proposal.pk].space.municipality_id:
        raise ValidationError(_("Merge only into a proposal of the same municipality."), code="other_municipality")
    if target.status in (Proposal.Status.REJECTED, Proposal.Status.MERGED):
        raise ValidationError(_("Merge only into a proposal that is still standing."), code="target_closed")
    locked = _proposal_require_submitted(both[proposal.pk])
    locked.status = Proposal.Status.MERGED
    locked.merged_into = target
    locked.rejected_at = timezone.now()
    locked.save(update_fields=["status", "merged_into", "rejected_at"])
    return locked


@transaction.atomic
def proposal_reject(*, proposal: Proposal, reason: str) -> Proposal:
    """Reject a submitted proposal; the author reads `reason`."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the author a reason for the rejection."), code="reason")
    locked = _proposal_lock_submitted(proposal)
    locked.status = Proposal.Status.REJECTED
    locked.rejected_at = timezone.now()
    locked.rejection_reason = reason
    locked.save(update_fields=["status", "rejected_at", "rejection_reason"])
    return locked


def proposals_select(*, proposal_ids: Iterable[int] | QuerySet, at: datetime.datetime) -> int:
    """The winners of a published vote enter the works: approved proposals become
    "selected" (the status officials' progress updates start from). The number selected."""
    return Proposal.objects.filter(pk__in=proposal_ids, status=Proposal.Status.APPROVED).update(
        status=Proposal.Status.SELECTED, selected_at=at
    )


# --- Places and proposals (creation) ----------------------------------------------
# A resident's idea (votes.services.ideas) submits a proposal, for an existing space or
# one it names; a published vote imported from a pabulib file (votes.services.imports)
# brings its projects as approved proposals, each on its own space.


@transaction.atomic
def municipality_get_or_create(
    *, region_slug: str, region_name: str, region_code: str, name: str, slug: str, oktmo: str, population: int
) -> Municipality:
    """The municipality named `name` in the region `region_slug`, each created when missing
    (a vote imported from a pabulib file may be a city the portal does not know)."""
    region, _created = Region.objects.get_or_create(
        slug=region_slug, defaults={"name": region_name, "code": region_code}
    )
    municipality = Municipality.objects.filter(region=region, name=name).first()
    if municipality is None:
        municipality = Municipality.objects.create(
            region=region, name=name, slug=slug, population=population, oktmo=oktmo
        )
    return municipality


def space_create(
    *,
    municipality_id: int,
    name: str,
    kind: str,
    address: str,
    latitude: Decimal,
    longitude: Decimal,
    area_m2: Decimal,
    description: str = "",
) -> Space:
    """A new space; a name already used in the municipality is refused ("duplicate")."""
    space = Space(
        municipality_id=municipality_id,
        name=name,
        kind=kind,
        address=address,
        latitude=latitude,
        longitude=longitude,
        area_m2=area_m2,
        description=description,
    )
    # The unique name is left to the database, which also decides between two residents
    # naming one space at the same moment.
    space.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            space.save()
    except IntegrityError as error:
        if violated_constraint(error) != "space_unique_name_in_municipality":
            raise
        raise ValidationError(
            _("A space with this name already exists here: choose it from the list."), code="duplicate"
        ) from None
    return space


def _proposal_photo_alt(title: str, number: int, count: int) -> str:
    if count == 1:
        return title[:300]
    return (_("%(title)s, photo %(number)d of %(count)d") % {"title": title, "number": number, "count": count})[:300]


@transaction.atomic
def proposal_submit(
    *,
    space: Space,
    author,
    title: str,
    description: str,
    estimated_cost: Decimal,
    photos: Sequence[UploadedFile] = (),
    at: datetime.datetime | None = None,
) -> Proposal:
    """A proposal waiting for moderation, with its photos (validated by the caller before
    anything is written: files are not transactional) stored re-encoded with their copies."""
    proposal = Proposal(
        space=space,
        title=title.strip(),
        description=description.strip(),
        estimated_cost=estimated_cost,
        author=author,
        status=Proposal.Status.SUBMITTED,
        submitted_at=at or timezone.now(),
    )
    proposal.full_clean()
    proposal.save()
    for number, photo in enumerate(photos, start=1):
        stored = ProposalPhoto.objects.create(
            proposal=proposal,
            image=photo_store(file=photo),
            kind=ProposalPhoto.Kind.GENERAL,
            # Residents send photos without a description: the title says what they
            # show, numbered when there are several.
            alt_text=_proposal_photo_alt(proposal.title, number, len(photos)),
        )
        photo_renditions_store(photo=stored)
    return proposal


@dataclass(frozen=True)
class ImportedProposal:
    """One project of a vote held elsewhere: the space it is for and what it costs."""

    space_name: str
    address: str
    space_description: str
    latitude: Decimal
    longitude: Decimal
    title: str
    description: str
    cost: Decimal


@transaction.atomic
def proposals_import(
    *, municipality: Municipality, rows: Sequence[ImportedProposal], approved_at: datetime.datetime
) -> list[Proposal]:
    """A space and an approved proposal per row, in bulk, in the rows' order (an imported
    file may hold thousands of projects); they were approved when that vote opened."""
    spaces = Space.objects.bulk_create(
        Space(
            municipality=municipality,
            kind=Space.Kind.PUBLIC_SPACE,
            name=row.space_name,
            address=row.address,
            description=row.space_description,
            latitude=row.latitude,
            longitude=row.longitude,
            area_m2=Decimal(1),  # unknown: the files record no area
        )
        for row in rows
    )
    return Proposal.objects.bulk_create(
        Proposal(
            space=space,
            title=row.title,
            description=row.description,
            estimated_cost=row.cost,
            status=Proposal.Status.APPROVED,
            submitted_at=approved_at,
            approved_at=approved_at,
        )
        for space, row in zip(spaces, rows, strict=True)
    )


# --- Discussion -----------------------------------------------------------------
# Comments on public proposals by verified residents, one level of replies, abuse
# reports (once per reporter) and hiding by moderators with a reason that stays visible.


def _max_length(model: type[models.Model], name: str) -> int:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{name} is not a text field with a max_length")
    return field.max_length


class CommentRateLimited(ValidationError):
    """Too many comments in a minute from one user."""


def _comment_rate_check(user) -> None:
    if not settings.THROTTLE:
        return
    limit = settings.COMMENT_RATE_PER_MINUTE
    minute = int(timezone.now().timestamp() // 60)
    key = f"comment-rate:{user.pk}:{minute}"
    # add() then incr() keeps the counter atomic in Redis across web processes.
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        raise CommentRateLimited(
            _("You are commenting too fast: at most %(limit)d comments a minute. Please wait a little.")
            % {"limit": limit},
            code="rate_limited",
        )


def comment_post(*, proposal: Proposal, author, body: str, parent: Comment | None = None) -> Comment:
    """Post a comment (or a reply: a reply to a reply attaches to the thread's first comment)."""
    if not getattr(author, "is_authenticated", False) or not author.is_active or not author.is_verified:
        raise ValidationError(_("Only verified residents can comment."), code="unverified")
    if not Proposal.objects.public().filter(pk=proposal.pk).exists():
        raise ValidationError(_("This proposal is not open for discussion."), code="not_public")
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write something first."), code="empty")
    max_length = _max_length(Comment, "body")
    if len(body) > max_length:
        raise ValidationError(
            _("A comment can be at most %(max)d characters long.") % {"max": max_length}, code="too_long"
        )
    if parent is not None and parent.proposal_id != proposal.pk:
        raise ValidationError(_("You can only reply to a comment on the same proposal."), code="parent")
    _comment_rate_check(author)
    with transaction.atomic():
        if parent is not None:
            # The thread's first comment, locked: a moderator hiding it at this moment
            # (comment_hide holds FOR UPDATE) is waited for, and the reply then refused.
            thread_id = parent.parent_id or parent.pk  # one level of replies
            parent = Comment.objects.select_for_update(no_key=True).get(pk=thread_id)
            if parent.hidden_at is not None:
                raise ValidationError(_("This comment was hidden by a moderator."), code="parent_hidden")
        return Comment.objects.create(proposal=proposal, author=author, parent=parent, body=body)


# The one-report-per-reporter constraint as PostgreSQL and SQLite name it.
REPORT_ONCE = frozenset(
    {"comment_report_once_per_reporter", "projects_commentreport.comment_id, projects_commentreport.reporter_id"}
)


def comment_report(*, comment: Comment, reporter, reason: str) -> CommentReport:
    """Report a comment as abusive; each user reports a comment once."""
    if not getattr(reporter, "is_authenticated", False) or not reporter.is_verified:
        raise ValidationError(_("Only verified residents can report comments."), code="unverified")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say what is wrong with this comment."), code="reason")
    if len(reason) > _max_length(CommentReport, "reason"):
        raise ValidationError(_("The reason is too long."), code="reason_too_long")
    if comment.author_id == reporter.pk:
        raise ValidationError(_("You cannot report your own comment."), code="own")
    with transaction.atomic():
        # Locked: a moderator hiding the comment at this moment resolves its open reports,
        # so a report must not slip in after them; it waits and is refused.
        if Comment.objects.select_for_update(no_key=True).values_list("hidden_at", flat=True).get(pk=comment.pk):
            raise ValidationError(_("A moderator has already hidden this comment."), code="hidden")
        try:
            with transaction.atomic():
                return CommentReport.objects.create(comment=comment, reporter=reporter, reason=reason)
        except IntegrityError as error:
            if violated_constraint(error) not in REPORT_ONCE:
                raise
            raise ValidationError(_("You have already reported this comment."), code="duplicate") from None


@transaction.atomic
def comment_hide(*, comment: Comment, moderator, reason: str) -> Comment:
    """Hide a comment; readers see "hidden by a moderator: <reason>". Open reports are resolved."""
    municipality_id = (
        Proposal.objects.filter(pk=comment.proposal_id).values_list("space__municipality_id", flat=True).get()
    )
    if not can_moderate_in(moderator, municipality_id):
        raise OutOfScope("not a moderator of this municipality")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for hiding the comment."), code="reason")
    max_length = _max_length(Comment, "hidden_reason")
    if len(reason) > max_length:
        raise ValidationError(_("The reason can be at most %(max)d characters.") % {"max": max_length}, code="long")
    now = timezone.now()
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    before = audit_snapshot(comment)
    comment.hidden_at = comment.hidden_at or now
    comment.hidden_reason = reason
    comment.hidden_by = moderator
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    comment.reports.filter(resolved_at__isnull=True).update(resolved_at=now)
    audit_decision(actor=moderator, name="comment_hide", obj=comment, before=before)
    return comment


# --- Works ----------------------------------------------------------------------
# After a vote, officials post dated progress updates on a selected proposal; each
# update moves the proposal forward (never back) and fills the `*_at` timestamps the
# database check constraints require for the new status.

WORKS_STATUSES: list[str] = [
    Proposal.Status.SELECTED,
    Proposal.Status.IN_DESIGN,
    Proposal.Status.UNDER_CONSTRUCTION,
    Proposal.Status.COMPLETED,
]
# The status a proposal reaches with an update of each stage (a signed contract is
# still the design-and-procurement phase: the status has no separate step for it).
STAGE_STATUS: dict[str, str] = {
    ProgressUpdate.Stage.DESIGN: Proposal.Status.IN_DESIGN,
    ProgressUpdate.Stage.CONTRACT: Proposal.Status.IN_DESIGN,
    ProgressUpdate.Stage.CONSTRUCTION: Proposal.Status.UNDER_CONSTRUCTION,
    ProgressUpdate.Stage.COMPLETED: Proposal.Status.COMPLETED,
}
# Timestamps needed by each status, in lifecycle order.
_STATUS_DATES = [
    (Proposal.Status.IN_DESIGN, "design_at"),
    (Proposal.Status.UNDER_CONSTRUCTION, "construction_at"),
    (Proposal.Status.COMPLETED, "completed_at"),
]


def _stage_moment(day: datetime.date) -> datetime.datetime:
    # A dated update stands for the day it happened: noon local time keeps the date
    # (and the year in statistics) the same in every time zone of the region.
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


def spent_needs_reason(*, proposal: Proposal, spent: Decimal | None) -> bool:
    """Money spent far above the estimate (SPENT_OVERRUN_RATIO times it) is a typo as often
    as an overrun: it is taken only with the official's reason."""
    if spent is None or not proposal.estimated_cost:
        return False
    return spent > proposal.estimated_cost * Decimal(str(settings.SPENT_OVERRUN_RATIO))


def spent_check(*, proposal: Proposal, spent: Decimal | None, reason: str) -> None:
    if spent_needs_reason(proposal=proposal, spent=spent) and not reason.strip():
        raise ValidationError(
            {
                "overrun_reason": ValidationError(
                    _(
                        "%(spent)s ₽ is far above the estimated %(estimate)s ₽. If the figure is right, say why; "
                        "otherwise correct it."
                    )
                    % {
                        "spent": f"{spent:,.0f}".replace(",", "\u00a0"),
                        "estimate": f"{proposal.estimated_cost:,.0f}".replace(",", "\u00a0"),
                    },
                    code="spent_far_above_estimate",
                )
            }
        )


@transaction.atomic
def progress_update_add(
    *,
    proposal: Proposal,
    author,
    stage: str,
    text: str,
    happened_on: datetime.date,
    spent_to_date: Decimal | None = None,
    overrun_reason: str = "",
) -> ProgressUpdate:
    """Record a dated update of the works and move the proposal's status forward. Money
    spent far above the estimate needs `overrun_reason` (recorded with the update)."""
    proposal = Proposal.objects.select_for_update().select_related("space").get(pk=proposal.pk)
    if not is_official_for(author, proposal.space.municipality_id):
        raise OutOfScope("not an official of this municipality")
    if proposal.status not in WORKS_STATUSES:
        raise ValidationError(
            _("Progress can be reported only on a proposal selected by the vote (this one is %(status)s).")
            % {"status": proposal.get_status_display()},
            code="not_selected",
        )
    if stage not in STAGE_STATUS:
        raise ValidationError(_("Unknown stage."), code="stage")
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Describe what happened."), code="text")
    if spent_to_date is not None and spent_to_date < 0:
        raise ValidationError(_("Money spent cannot be negative."), code="spent")
    if happened_on > timezone.localdate():
        raise ValidationError(_("An update cannot be dated in the future."), code="future")
    spent_check(proposal=proposal, spent=spent_to_date, reason=overrun_reason)

    update = ProgressUpdate.objects.create(
        proposal=proposal,
        stage=stage,
        text=text,
        happened_on=happened_on,
        spent_to_date=spent_to_date,
        overrun_reason=overrun_reason.strip(),
        author=author,
    )
    audit_decision(actor=author, name="progress_update_add", obj=update, before=None)
    fields = []
    target = STAGE_STATUS[stage]
    if WORKS_STATUSES.index(target) > WORKS_STATUSES.index(proposal.status):
        proposal.status = target
        fields.append("status")
        moment = _stage_moment(happened_on)
        for status, field in _STATUS_DATES:
            if WORKS_STATUSES.index(status) <= WORKS_STATUSES.index(target) and getattr(proposal, field) is None:
                setattr(proposal, field, moment)
                fields.append(field)
    if spent_to_date is not None:
        proposal.spent = spent_to_date
        fields.append("spent")
    if fields:
        proposal.save(update_fields=fields)
    return update


def _progress_update_check(*, update: ProgressUpdate, official) -> None:
    municipality_id = (
        Proposal.objects.filter(pk=update.proposal_id).values_list("space__municipality_id", flat=True).get()
    )
    if not is_official_for(official, municipality_id):
        raise OutOfScope("not an official of this municipality")


@transaction.atomic
def progress_update_change(
    *,
    update: ProgressUpdate,
    official,
    stage: str,
    text: str,
    happened_on: datetime.date,
    spent_to_date: Decimal | None = None,
    overrun_reason: str = "",
) -> ProgressUpdate:
    """Correct an update's own stage, text, date and figure; the proposal's status and dates
    stay as they are (they only ever move forward, with new updates)."""
    _progress_update_check(update=update, official=official)
    locked = ProgressUpdate.objects.select_for_update().select_related("proposal").get(pk=update.pk)
    spent_check(proposal=locked.proposal, spent=spent_to_date, reason=overrun_reason)
    before = audit_snapshot(locked)
    locked.stage, locked.text, locked.happened_on, locked.spent_to_date = stage, text, happened_on, spent_to_date
    locked.overrun_reason = overrun_reason.strip()
    locked.full_clean(exclude=["proposal", "author"])
    locked.save(update_fields=["stage", "text", "happened_on", "spent_to_date", "overrun_reason"])
    if audit_snapshot(locked) != before:
        audit_decision(actor=official, name="progress_update_change", obj=locked, before=before)
    return locked


@transaction.atomic
def progress_update_delete(*, update: ProgressUpdate, official) -> None:
    """Remove an update (a note posted by mistake); the proposal's status stays."""
    _progress_update_check(update=update, official=official)
    locked = ProgressUpdate.objects.select_for_update().get(pk=update.pk)
    # Recorded first, while the update still has its id; a failed delete rolls both back.
    audit_record(actor=official, action=AuditEvent.DELETE, obj=locked, before=audit_snapshot(locked), after=None)
    locked.delete()


# --- Texts on an open ballot -------------------------------------------------------
# While a vote is open its ballot shows each proposal's title and description: they are
# frozen (the admin shows them read-only). A typo may still be corrected, with a reason,
# recorded in the audit log with the texts before and after.

BALLOT_TEXT_FIELDS = ("title", "description")


@transaction.atomic
def proposal_ballot_text_correct(
    *, proposal: Proposal, official, title: str, description: str, reason: str
) -> Proposal:
    locked = Proposal.objects.select_for_update().select_related("space").get(pk=proposal.pk)
    if not is_official_for(official, locked.space.municipality_id):
        raise OutOfScope("not an official of this municipality")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": ValidationError(_("Say what is corrected and why."), code="reason_required")})
    before = {field: getattr(locked, field) for field in BALLOT_TEXT_FIELDS}
    locked.title, locked.description = title.strip(), description.strip()
    after = {field: getattr(locked, field) for field in BALLOT_TEXT_FIELDS}
    if after == before:
        return locked
    locked.full_clean(exclude=[f.name for f in Proposal._meta.fields if f.name not in BALLOT_TEXT_FIELDS])
    locked.save(update_fields=list(BALLOT_TEXT_FIELDS))
    audit_record(
        actor=official,
        action=f"{AuditEvent.ACTION_PREFIX}proposal_ballot_text_correct",
        obj=locked,
        before=before,
        after={**after, "reason": reason},
    )
    return locked


# --- Photos (uploads) ---------------------------------------------------------------
# Uploaded photos are never stored as sent: they are validated by content and
# re-encoded to a fresh JPEG, which drops EXIF metadata (GPS position, camera serial),
# any trailing payload and anything a browser might sniff as HTML or script.

PHOTO_MAX_SIDE = 4096  # stored photos are at most this wide or tall
PHOTO_JPEG_QUALITY = 85


def photo_store(*, file) -> ContentFile:
    """Validate an uploaded photo and return it re-encoded as a metadata-free JPEG.

    Raises django.core.exceptions.ValidationError for anything that is not a JPEG, PNG
    or WebP image within the size limits. The returned file's name is neutral; the
    models' upload_to gives it a random one when it is saved.
    """
    image = open_checked_image(file)
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    buffer = io.BytesIO()
    # No exif=, icc_profile= or comment=: the new file carries pixels only.
    image.save(buffer, format="JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True)
    return ContentFile(buffer.getvalue(), name="photo.jpg")


def photo_renditions_store(*, photo: Photo) -> Photo:
    """Make and store the photo's smaller WebP copies (projects.images) and record their
    sizes, and the photo's own, on it. Safe to run again: the copies are remade under
    the same names."""
    storage = photo.image.storage
    name = str(photo.image.name)
    with storage.open(name, "rb") as handle:
        source = handle.read()
    photo.width, photo.height = image_size(source)
    sizes = []
    for width, height, data in renditions_make(source):
        copy_name = rendition_name(name, width)
        if storage.exists(copy_name):
            storage.delete(copy_name)
        storage.save(copy_name, ContentFile(data))
        sizes.append([width, height])
    type(photo)._default_manager.filter(pk=photo.pk).update(renditions=sizes, width=photo.width, height=photo.height)
    photo.renditions = sizes
    return photo


# --- end of photos ------------------------------------------------------------------


# --- Municipalities (import) ----------------------------------------------------------
# A region's municipal formations from a checked file (projects.municipality_import).


@dataclass(frozen=True)
class MunicipalitiesImported:
    created: int
    updated: int
    unchanged: int


_IMPORTED_FIELDS = ("name", "kind", "oktmo", "population", "latitude", "longitude")


def _municipality_find(row: MunicipalityRow, region: Region) -> Municipality | None:
    """The stored formation a row describes: by its slug, or in its region by its OKTMO
    code or its name (a code held in another region is a clash, reported)."""
    if row.slug_given:
        found = Municipality.objects.filter(slug=row.slug).first()
        if found is not None:
            return found
    if row.oktmo:
        found = Municipality.objects.filter(region=region, oktmo=row.oktmo).first()
        if found is not None:
            return found
    return Municipality.objects.filter(region=region, name=row.name).first()


@transaction.atomic
def municipalities_import(*, rows: list[MunicipalityRow]) -> MunicipalitiesImported:
    """Create or update the formations of checked rows (idempotent; an empty optional
    cell keeps the stored value). Raises MunicipalityFileError, writing nothing, when a
    row would clash with a formation the file does not describe."""
    regions: dict[str, Region] = {}
    for row in rows:
        if row.region_code not in regions:
            regions[row.region_code], _created = Region.objects.get_or_create(
                code=row.region_code, defaults={"name": row.region_name, "slug": slug_from_name(row.region_name)}
            )
    matched = [(row, _municipality_find(row, regions[row.region_code])) for row in rows]
    problems = []
    mine = {found.pk for _row, found in matched if found is not None}
    for row, found in matched:
        slug_owner = Municipality.objects.filter(slug=row.slug).exclude(pk__in=mine).first()
        if found is None and slug_owner is not None:
            problems.append(
                _("line %(line)d: slug %(slug)r belongs to %(other)s")
                % {"line": row.line, "slug": row.slug, "other": slug_owner}
            )
        oktmo_owner = Municipality.objects.filter(oktmo=row.oktmo).exclude(pk__in=mine).first() if row.oktmo else None
        if oktmo_owner is not None:
            problems.append(
                _("line %(line)d: OKTMO code %(code)s belongs to %(other)s")
                % {"line": row.line, "code": row.oktmo, "other": oktmo_owner}
            )
    if problems:
        raise MunicipalityFileError(problems)
    # Codes move between formations the file describes (a corrected code): free them
    # first, so the unique constraint sees only the end state.
    changing = [found.pk for row, found in matched if found is not None and row.oktmo and row.oktmo != found.oktmo]
    Municipality.objects.filter(pk__in=changing).update(oktmo=None)
    created = updated = unchanged = 0
    stored: dict[tuple[str, str], Municipality] = {}
    # Districts first: their settlements point to them.
    order = sorted(matched, key=lambda pair: pair[0].kind in Municipality.SETTLEMENT_KINDS)
    for row, found in order:
        values = {"name": row.name, "kind": row.kind}
        for field in ("oktmo", "population", "latitude", "longitude"):
            if getattr(row, field) is not None:
                values[field] = getattr(row, field)
        district = stored[(row.region_code, row.district)] if row.district else None
        if found is None:
            municipality = Municipality.objects.create(
                region=regions[row.region_code], slug=row.slug, district=district, **values
            )
            created += 1
        else:
            municipality = found
            if found.pk in changing:
                found.oktmo = None  # freed above; the row's code goes back in below
            before = {field: getattr(found, field) for field in (*_IMPORTED_FIELDS, "district_id", "region_id")}
            for field, value in values.items():
                setattr(municipality, field, value)
            municipality.district = district
            municipality.region = regions[row.region_code]
            after = {field: getattr(municipality, field) for field in (*_IMPORTED_FIELDS, "district_id", "region_id")}
            if after != before:
                municipality.full_clean(validate_unique=False, validate_constraints=False)
                municipality.save()
                updated += 1
            else:
                unchanged += 1
        stored[(row.region_code, row.name)] = municipality
    return MunicipalitiesImported(created=created, updated=updated, unchanged=unchanged)
