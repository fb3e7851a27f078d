"""Web pages of votes: campaigns, the ballot (form → review → receipt), the volunteer's desk."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from votes.forms import BallotForm, ResidentForm, ballot_token, ballot_token_choices
from votes.models import Ballot, Campaign, Channel, Entry
from votes.permissions import ballot_refusal, can_assist
from votes.services import AlreadyVoted, BallotError, CastBallot, ballot_cast, volunteer_ballot_cast

RECEIPT_SESSION_KEY = "votes.receipt"
VOLUNTEER_RECEIPT_SESSION_KEY = "votes.volunteer_receipt"
PROFILE_CODES = frozenset({"birth_date_missing", "residence_missing"})


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("municipality").order_by("-voting_opens_at")
    return render(request, "votes/campaign_list.html", {"campaigns": campaigns})


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality__region"), pk=pk)
    entries = campaign.entries.select_related("proposal__space")
    return render(request, "votes/campaign_detail.html", {"campaign": campaign, "entries": entries})


def _campaign_with_entries(pk: int) -> tuple[Campaign, list[Entry]]:
    campaign = get_object_or_404(
        Campaign.objects.select_related("municipality__region").prefetch_related(
            Prefetch("entries", Entry.objects.select_related("proposal__space").order_by("position", "pk"))
        ),
        pk=pk,
    )
    return campaign, list(campaign.entries.all())


def _chosen(entries: list[Entry], choices: list[tuple[int, int | None]]) -> list[tuple[Entry, int | None]]:
    """The chosen entries in ballot order (by rank for rankings), with their points."""
    by_id = {entry.pk: entry for entry in entries}
    rows = [(by_id[entry_id], points) for entry_id, points in choices if entry_id in by_id]
    return sorted(rows, key=lambda row: (row[1] or 0, row[0].position))


def _refused(request: HttpRequest, campaign: Campaign, *, code: str, message, status: int) -> HttpResponse:
    ballot = None
    if code == AlreadyVoted.code:
        ballot = Ballot.objects.filter(campaign=campaign, voter=request.user).first()
    context = {
        "campaign": campaign,
        "code": code,
        "message": message,
        "ballot": ballot,
        "fix_in_profile": code in PROFILE_CODES,
    }
    return render(request, "votes/ballot_refused.html", context, status=status)


def _ballot_page(
    request: HttpRequest, campaign: Campaign, form: BallotForm, *, status: int = 200, error=None
) -> HttpResponse:
    context = {"campaign": campaign, "form": form, "rows": form.rows(), "method": campaign.method, "error": error}
    return render(request, "votes/ballot.html", context, status=status)


def _receipt_for_session(cast: CastBallot) -> dict:
    return {
        "campaign": cast.ballot.campaign_id,
        "receipt": cast.receipt,
        "receipt_hash": cast.ballot.receipt_hash,
        "cast_at": cast.cast_at.isoformat(),
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    """The ballot: GET the form, POST step=review to see it, step=confirm to cast it."""
    campaign, entries = _campaign_with_entries(pk)
    if Ballot.objects.filter(campaign=campaign, voter=request.user).exists():
        return _refused(request, campaign, code=AlreadyVoted.code, message=AlreadyVoted.default_message, status=409)
    refusal = ballot_refusal(request.user, campaign)
    if refusal is not None:
        return _refused(request, campaign, code=refusal.code, message=refusal.message, status=403)

    step = request.POST.get("step", "") if request.method == "POST" else ""
    if step in ("confirm", "edit"):
        choices = ballot_token_choices(request.POST.get("token", ""), campaign=campaign, user_id=request.user.pk)
        if choices is None:  # tampered with or expired: start again
            form = BallotForm(campaign=campaign, entries=entries)
            notice = _("Your review expired or was changed. Please fill in the ballot again.")
            return _ballot_page(request, campaign, form, status=400, error=notice)
        if step == "edit":
            form = BallotForm(campaign=campaign, entries=entries, initial=BallotForm.initial_for(campaign, choices))
            return _ballot_page(request, campaign, form)
        try:
            cast = ballot_cast(campaign=campaign, voter=request.user, choices=choices, channel=Channel.WEB)
        except BallotError as error:
            if error.http_status == 400:
                form = BallotForm(campaign=campaign, entries=entries, initial=BallotForm.initial_for(campaign, choices))
                return _ballot_page(request, campaign, form, status=400, error=error.message)
            return _refused(request, campaign, code=error.code, message=error.message, status=error.http_status)
        request.session[RECEIPT_SESSION_KEY] = _receipt_for_session(cast)
        return redirect("votes:ballot_receipt", pk=campaign.pk)

    if step == "review":
        form = BallotForm(request.POST, campaign=campaign, entries=entries)
        if form.is_valid():
            choices = form.ballot_choices()
            chosen = _chosen(entries, choices)
            context = {
                "campaign": campaign,
                "chosen": chosen,
                "token": ballot_token(campaign=campaign, user_id=request.user.pk, choices=choices),
                "total_cost": sum(entry.cost for entry, _points in chosen),
            }
            return render(request, "votes/ballot_confirm.html", context)
        return _ballot_page(request, campaign, form, status=400)
    return _ballot_page(request, campaign, BallotForm(campaign=campaign, entries=entries))


@never_cache
@login_required
def ballot_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """The receipt code, shown once: it leaves the session as it is shown."""
    campaign = get_object_or_404(Campaign.objects.select_related("municipality"), pk=pk)
    shown = request.session.get(RECEIPT_SESSION_KEY)
    receipt = None
    if shown and shown.get("campaign") == campaign.pk:
        receipt = request.session.pop(RECEIPT_SESSION_KEY)
    ballot = Ballot.objects.filter(campaign=campaign, voter=request.user).first()
    return render(request, "votes/ballot_receipt.html", {"campaign": campaign, "receipt": receipt, "ballot": ballot})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def volunteer_desk(request: HttpRequest) -> HttpResponse:
    """A volunteer enters the ballot of the resident in front of them."""
    if not can_assist(request.user):
        raise PermissionDenied
    campaigns = list(Campaign.objects.open().select_related("municipality").order_by("municipality__name", "pk"))
    campaign_id = request.POST.get("campaign") or request.GET.get("campaign")
    if not campaign_id or not str(campaign_id).isdigit():
        return render(request, "votes/volunteer_desk.html", {"campaigns": campaigns})
    campaign, entries = _campaign_with_entries(int(campaign_id))
    status = 200
    error = None
    if request.method == "POST":
        resident_form = ResidentForm(request.POST, prefix="resident")
        ballot_form = BallotForm(request.POST, campaign=campaign, entries=entries, prefix="ballot")
        if resident_form.is_valid() and ballot_form.is_valid():
            data = resident_form.cleaned_data
            try:
                cast = volunteer_ballot_cast(
                    volunteer=request.user,
                    campaign=campaign,
                    phone=data["phone"],
                    full_name=data["full_name"],
                    birth_date=data["birth_date"],
                    municipality=data["municipality"],
                    choices=ballot_form.ballot_choices(),
                )
            except BallotError as failure:
                error, status = failure, failure.http_status
            else:
                request.session[VOLUNTEER_RECEIPT_SESSION_KEY] = _receipt_for_session(cast)
                return redirect("votes:volunteer_receipt")
        else:
            status = 400
    else:
        resident_form = ResidentForm(prefix="resident", initial={"municipality": campaign.municipality_id})
        ballot_form = BallotForm(campaign=campaign, entries=entries, prefix="ballot")
    context = {
        "campaigns": campaigns,
        "campaign": campaign,
        "resident_form": resident_form,
        "form": ballot_form,
        "rows": ballot_form.rows(),
        "method": campaign.method,
        "error": error,
    }
    return render(request, "votes/volunteer_desk.html", context, status=status)


@never_cache
@login_required
def volunteer_receipt(request: HttpRequest) -> HttpResponse:
    if not can_assist(request.user):
        raise PermissionDenied
    receipt = request.session.pop(VOLUNTEER_RECEIPT_SESSION_KEY, None)
    campaign = (
        Campaign.objects.select_related("municipality").filter(pk=receipt["campaign"]).first() if receipt else None
    )
    return render(request, "votes/volunteer_receipt.html", {"receipt": receipt, "campaign": campaign})
