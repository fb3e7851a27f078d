from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from portal.replica import reads_from_replica
from projects.extras import proposal_extras, space_extras
from projects.filters import ProposalFilter
from projects.models import Proposal, Space

PROPOSALS_PER_PAGE = 20
MORE_FILTERS = ("region", "kind", "status", "year", "cost_min", "cost_max")


@reads_from_replica
def proposal_list(request: HttpRequest) -> HttpResponse:
    filterset = ProposalFilter(request.GET or None, queryset=Proposal.objects.public().with_place())
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
