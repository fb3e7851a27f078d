"""Public pages of places and proposals: the catalogue, a proposal with its gallery, works
and discussion, a space with its map; and the discussion's two actions (comment, report)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.replica import reads_from_replica
from projects import services
from projects.filters import ProposalFilter
from projects.forms import CommentForm, CommentReportForm
from projects.models import Comment, ProgressUpdate, Proposal, ProposalPhoto, Space

PROPOSALS_PER_PAGE = 20
MORE_FILTERS = ("region", "kind", "status", "year", "cost_min", "cost_max")


@reads_from_replica
def proposal_list(request: HttpRequest) -> HttpResponse:
    filterset = ProposalFilter(request.GET or None, queryset=Proposal.objects.public().with_place().with_pictures())
    # Bad filter values show their error and no results, rather than silently
    # ignoring the filter and listing everything.
    valid = not filterset.is_bound or filterset.is_valid()
    proposals = filterset.qs if valid else Proposal.objects.none()
    page = Paginator(proposals, PROPOSALS_PER_PAGE).get_page(request.GET.get("page"))
    # The less used filters fold away (the page stays short on a phone) unless in use.
    more_filters_open = not valid or any(request.GET.get(name) for name in MORE_FILTERS)
    return render(
        request,
        "projects/proposal_list.html",
        {"filter": filterset, "page": page, "valid": valid, "more_filters_open": more_filters_open},
    )


def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(
        Proposal.objects.public()
        .with_place()
        .select_related("merged_into")
        .prefetch_related("photos", "progress_updates"),
        pk=pk,
    )
    context = {"proposal": proposal, "timeline": _timeline(proposal), **proposal_extras(request, proposal)}
    return render(request, "projects/proposal_detail.html", context)


def _timeline(proposal: Proposal) -> list[tuple[str, object]]:
    """The lifecycle dates the proposal has reached, in order."""
    steps = [
        (_("Submitted"), proposal.submitted_at),
        (_("Approved for a ballot"), proposal.approved_at),
        (_("Selected"), proposal.selected_at),
        (_("Design started"), proposal.design_at),
        (_("Construction started"), proposal.construction_at),
        (_("Completed"), proposal.completed_at),
        (_("Merged into another proposal") if proposal.merged_into_id else _("Rejected"), proposal.rejected_at),
    ]
    return [(label, when) for label, when in steps if when is not None]


@reads_from_replica
def space_detail(request: HttpRequest, pk: int) -> HttpResponse:
    space = get_object_or_404(
        Space.objects.public().select_related("municipality__region").prefetch_related("photos"), pk=pk
    )
    proposals = Proposal.objects.public().filter(space=space)
    context = {"space": space, "proposals": proposals, **space_extras(request, space)}
    return render(request, "projects/space_detail.html", context)


_STAGES = [
    # (stage, the proposal timestamp that dates it when no update reports it)
    (ProgressUpdate.Stage.DESIGN, "design_at"),
    (ProgressUpdate.Stage.CONTRACT, None),
    (ProgressUpdate.Stage.CONSTRUCTION, "construction_at"),
    (ProgressUpdate.Stage.COMPLETED, "completed_at"),
]


def _works_context(proposal: Proposal) -> dict | None:
    if proposal.status not in services.WORKS_STATUSES:
        return None
    updates = list(proposal.progress_updates.all())
    first_update_of: dict[str, ProgressUpdate] = {}
    for update in updates:
        first_update_of.setdefault(update.stage, update)
    reached = services.WORKS_STATUSES.index(Proposal.Status(proposal.status))
    stages = []
    for stage, date_field in _STAGES:
        stage_update = first_update_of.get(stage)
        date = stage_update.happened_on if stage_update else (getattr(proposal, date_field) if date_field else None)
        status_reached = reached >= services.WORKS_STATUSES.index(services.STAGE_STATUS[stage])
        # A contract is done when reported, or implied once construction has begun.
        done = (
            stage_update is not None
            or (status_reached and stage != ProgressUpdate.Stage.CONTRACT)
            or (
                stage == ProgressUpdate.Stage.CONTRACT
                and reached >= services.WORKS_STATUSES.index(Proposal.Status.UNDER_CONSTRUCTION)
            )
        )
        stages.append({"stage": stage, "label": ProgressUpdate.Stage(stage).label, "date": date, "done": done})
    current = next((item for item in stages if not item["done"]), None)
    if current:
        current["current"] = True
    estimate = proposal.estimated_cost
    spent = proposal.spent
    percent = int(min(Decimal(100), spent * 100 / estimate)) if estimate else 0
    return {
        "stages": stages,
        "updates": list(reversed(updates)),
        "spent": spent,
        "estimate": estimate,
        "spent_percent": percent,
        "overrun": spent > estimate,
        "photos_before": [p for p in proposal.photos.all() if p.kind == ProposalPhoto.Kind.BEFORE],
        "photos_after": [p for p in proposal.photos.all() if p.kind == ProposalPhoto.Kind.AFTER],
    }


def proposal_extras(request: HttpRequest, proposal: Proposal) -> dict:
    """Context for `_gallery.html`, `_works.html` and `_discussion.html` on a proposal page."""
    comments = (
        proposal.comments.filter(parent__isnull=True)
        .select_related("author")
        .prefetch_related(Prefetch("replies", queryset=Comment.objects.select_related("author")))
    )
    user = request.user
    can_comment = bool(user.is_authenticated and user.is_verified)
    photos = list(proposal.photos.all())
    return {
        "comments": comments,
        "comment_form": CommentForm(),
        "can_comment": can_comment,
        "gallery_photos": [p for p in photos if p.kind == ProposalPhoto.Kind.GENERAL],
        "plan_photos": [p for p in photos if p.kind == ProposalPhoto.Kind.PLAN],
        "works": _works_context(proposal),
    }


def space_extras(request: HttpRequest, space: Space) -> dict:
    """Context for `_map.html` on a space page: the space and its proposals' places."""
    return {
        "map_points": [
            {"lat": float(space.latitude), "lon": float(space.longitude), "label": f"{space.name}, {space.address}"}
        ],
        "map_places": [space],
    }


def _public_proposal(pk: int) -> Proposal:
    return get_object_or_404(Proposal.objects.public(), pk=pk)


@login_required
@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _public_proposal(pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        parent = None
        if form.cleaned_data.get("parent"):
            parent = get_object_or_404(Comment, pk=form.cleaned_data["parent"], proposal=proposal)
        try:
            comment = services.comment_post(
                proposal=proposal, author=request.user, body=form.cleaned_data["body"], parent=parent
            )
        except services.CommentRateLimited as error:
            messages.error(request, " ".join(error.messages))
            return _back(proposal, status=429, request=request, form=form)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return _back(proposal, status=400, request=request, form=form)
        messages.success(request, _("Your comment is published."))
        return redirect(f"{proposal.get_absolute_url()}#comment-{comment.pk}")
    messages.error(request, _("The comment is empty or too long."))
    return _back(proposal, status=400, request=request, form=form)


def _back(proposal: Proposal, *, status: int, request: HttpRequest, form) -> HttpResponse:
    # Without JS the resident lands on a small page that keeps their text, rather than
    # losing it on a redirect.
    return render(
        request,
        "projects/comment_form_page.html",
        {"proposal": proposal, "comment_form": form, "can_comment": True},
        status=status,
    )


@login_required
def comment_report(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(
        Comment.objects.select_related("proposal").filter(proposal__in=Proposal.objects.public()), pk=pk
    )
    form = CommentReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_report(comment=comment, reporter=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Thank you: a moderator will look at this comment."))
            return redirect(f"{comment.proposal.get_absolute_url()}#comment-{comment.pk}")
    status = 400 if form.errors else 200
    return render(request, "projects/comment_report.html", {"comment": comment, "form": form}, status=status)
