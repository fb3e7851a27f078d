from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from projects.models import Municipality, Proposal, Space
from votes.models import Campaign


def home(request: HttpRequest) -> HttpResponse:
    figures = {
        "municipalities": Municipality.objects.count(),
        "spaces": Space.objects.count(),
        "proposals": Proposal.objects.public().count(),
        "open_campaigns": Campaign.objects.open().count(),
        "spaces_improved": Space.objects.improved().count(),
    }
    return render(request, "portal/home.html", {"figures": figures})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/about.html")
