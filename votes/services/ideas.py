"""Residents' ideas and their moderation."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.permissions import OutOfScope, can_moderate_in
from portal.audit.services import audit_decision, audit_snapshot_from_db
from projects.models import Proposal, Space
from projects.services import proposal_approve, proposal_merge, proposal_reject, proposal_submit, space_create
from projects.validators import validate_image_upload
from votes.models import Campaign, Entry, Idea
from votes.permissions import idea_refusal
from votes.services.notifications import notifications_idea_decided_enqueue

# --- Ideas ----------------------------------------------------------------------
# A resident's idea becomes a Proposal (status "submitted") linked to the campaign that
# collected it; officials approve it onto that campaign's ballot, merge it into a
# similar proposal, or reject it with a reason the author sees on "my ideas".
IDEA_MAX_PHOTOS = 5


def _idea_require_moderator(user, campaign: Campaign) -> None:
    """Officials and moderators act on ideas of their own municipalities only."""
    if not can_moderate_in(user, campaign.municipality_id):
        raise OutOfScope("not a moderator of this municipality")


def idea_validate_photos(photos: Sequence[UploadedFile]) -> None:
    """Refuse the whole set before anything is written (files are not transactional)."""
    if len(photos) > IDEA_MAX_PHOTOS:
        raise ValidationError(_("At most %(count)d photos per idea.") % {"count": IDEA_MAX_PHOTOS}, code="too_many")
    for photo in photos:
        validate_image_upload(photo)


def idea_submit(
    *,
    campaign: Campaign,
    author,
    title: str,
    description: str,
    estimated_cost: Decimal,
    space: Space | None = None,
    new_space: dict | None = None,
    photos: Sequence[UploadedFile] = (),
    now: datetime.datetime | None = None,
) -> Idea:
    """Record a resident's idea for an existing `space`, or for a `new_space` (a dict
    with name, kind, address, latitude, longitude, area_m2), with optional photos."""
    now = now or timezone.now()
    refusal = idea_refusal(author, campaign, now=now)
    if refusal is not None:
        raise ValidationError(str(refusal.message), code=refusal.code)
    if (space is None) == (new_space is None):
        raise ValidationError(_("Choose an existing space or describe a new one."), code="space")
    if space is not None and space.municipality_id != campaign.municipality_id:
        raise ValidationError(_("This space is in another municipality."), code="space")
    idea_validate_photos(photos)

    with transaction.atomic():
        if new_space is not None:
            space = space_create(municipality_id=campaign.municipality_id, **new_space)
        assert space is not None  # noqa: S101  (one of the two, checked above)
        proposal = proposal_submit(
            space=space,
            author=author,
            title=title,
            description=description,
            estimated_cost=estimated_cost,
            photos=photos,
            at=now,
        )
        idea = Idea.objects.create(campaign=campaign, proposal=proposal, submitted_at=now)
    return idea


@transaction.atomic
def idea_approve(*, idea: Idea, official) -> Entry:
    """Approve the idea and put it on its campaign's ballot at its estimated cost."""
    # The campaign row is locked so that the clock cannot open the vote between this
    # check and the new entry: the ballot must not change under the first voters.
    campaign = Campaign.objects.select_for_update().get(pk=idea.campaign_id)
    _idea_require_moderator(official, campaign)
    if campaign.ballot_is_frozen():
        raise ValidationError(_("Voting has started: the ballot can no longer change."), code="ballot_frozen")
    before = audit_snapshot_from_db(Proposal, idea.proposal_id)
    proposal = proposal_approve(proposal=Proposal(pk=idea.proposal_id))
    last = campaign.entries.aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                campaign=campaign,
                proposal=proposal,
                external_id=str(proposal.pk),
                cost=proposal.estimated_cost,
                position=0 if last is None else last + 1,
            )
    except IntegrityError:
        raise ValidationError(
            _("The ballot already has an entry with id %(id)s.") % {"id": proposal.pk}, code="duplicate"
        ) from None
    audit_decision(actor=official, name="idea_approve", obj=proposal, before=before)
    idea.proposal = proposal
    notifications_idea_decided_enqueue(idea=idea)
    return entry


def _idea_close(*, idea: Idea, official: Any, name: str, decide: Callable[[Proposal], Proposal]) -> Proposal:
    """Merge or reject: the moderator's check, the proposal's decision, its audit event and
    the author's e-mail, in the caller's transaction."""
    campaign = Campaign.objects.get(pk=idea.campaign_id)
    _idea_require_moderator(official, campaign)
    before = audit_snapshot_from_db(Proposal, idea.proposal_id)
    proposal = decide(Proposal(pk=idea.proposal_id))
    audit_decision(actor=official, name=name, obj=proposal, before=before)
    idea.proposal = proposal
    notifications_idea_decided_enqueue(idea=idea)
    return proposal


@transaction.atomic
def idea_merge(*, idea: Idea, into: Proposal, official: Any) -> Proposal:
    """Fold the idea into a similar proposal of the same municipality."""
    return _idea_close(
        idea=idea, official=official, name="idea_merge", decide=lambda p: proposal_merge(proposal=p, into=into)
    )


@transaction.atomic
def idea_reject(*, idea: Idea, official: Any, reason: str) -> Proposal:
    """Reject the idea; the author reads `reason` on "my ideas" and in the e-mail."""
    return _idea_close(
        idea=idea, official=official, name="idea_reject", decide=lambda p: proposal_reject(proposal=p, reason=reason)
    )
