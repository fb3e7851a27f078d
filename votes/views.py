from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from votes.models import Campaign


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("municipality").order_by("-voting_opens_at")
    return render(request, "votes/campaign_list.html", {"campaigns": campaigns})


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality__region"), pk=pk)
    entries = campaign.entries.select_related("proposal__space")
    return render(request, "votes/campaign_detail.html", {"campaign": campaign, "entries": entries})
