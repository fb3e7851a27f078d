"""Residents' pages for ideas: the idea form of a campaign and "my ideas"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from votes import services
from votes.forms import IdeaForm
from votes.models import Campaign, Idea


@login_required
def idea_new(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality"), pk=pk)
    user = request.user
    refusal = None
    if not Campaign.objects.collecting_ideas().filter(pk=campaign.pk).exists():
        refusal = _("This campaign is not collecting ideas now.")
    elif not user.is_verified:
        refusal = _("Only verified residents can propose ideas. Confirm your e-mail address first.")
    elif user.municipality_id != campaign.municipality_id:
        refusal = _("Only residents of %(municipality)s can propose ideas for this campaign.") % {
            "municipality": campaign.municipality
        }
    if refusal:
        return render(request, "votes/idea_form.html", {"campaign": campaign, "refusal": refusal}, status=403)

    form = IdeaForm(request.POST or None, request.FILES or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.idea_submit(campaign=campaign, author=user, **form.service_kwargs())
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Thank you! Your idea is waiting for moderation."))
            return redirect("votes:my_ideas")
    spaces = form.fields["space"].queryset.only("pk", "name", "address", "latitude", "longitude")
    map_points = [
        {"lat": float(space.latitude), "lon": float(space.longitude), "label": f"{space.name}, {space.address}"}
        for space in spaces
    ]
    center = map_points[0] if map_points else _municipality_center(campaign)
    context = {"campaign": campaign, "form": form, "map_points": map_points, "map_center": center}
    return render(request, "votes/idea_form.html", context, status=400 if form.errors else 200)


def _municipality_center(campaign: Campaign) -> dict:
    municipality = campaign.municipality
    if municipality.latitude is not None and municipality.longitude is not None:
        return {"lat": float(municipality.latitude), "lon": float(municipality.longitude)}
    return {"lat": 56.8389, "lon": 60.6057}  # Yekaterinburg, the regional centre


@login_required
def my_ideas(request: HttpRequest) -> HttpResponse:
    ideas = Idea.objects.by_author(request.user).order_by("-submitted_at", "-pk")
    return render(request, "votes/my_ideas.html", {"ideas": ideas})
