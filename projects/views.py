from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from projects.models import Proposal, Space


def proposal_list(request: HttpRequest) -> HttpResponse:
    proposals = Proposal.objects.public().with_place()
    return render(request, "projects/proposal_list.html", {"proposals": proposals})


def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.public().with_place(), pk=pk)
    return render(request, "projects/proposal_detail.html", {"proposal": proposal})


def space_detail(request: HttpRequest, pk: int) -> HttpResponse:
    space = get_object_or_404(Space.objects.select_related("municipality__region"), pk=pk)
    return render(request, "projects/space_detail.html", {"space": space})
