from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from projects.models import Municipality, Proposal, Space
from votes.models import Campaign


def home(request: HttpRequest) -> HttpResponse:
    open_campaigns = list(Campaign.objects.open().select_related("municipality").order_by("voting_closes_at"))
    idea_campaigns = list(
        Campaign.objects.collecting_ideas().select_related("municipality").order_by("ideas_close_at")
    )
    figures = {
        "municipalities": Municipality.objects.count(),
        "spaces": Space.objects.public().count(),
        "proposals": Proposal.objects.public().count(),
        "open_campaigns": len(open_campaigns),
        "spaces_improved": Space.objects.improved().count(),
    }
    return render(
        request,
        "portal/home.html",
        {
            "figures": figures,
            "open_campaigns": open_campaigns,
            "idea_campaigns": idea_campaigns,
            "municipalities": Municipality.objects.only("name", "slug"),
        },
    )


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/about.html")
