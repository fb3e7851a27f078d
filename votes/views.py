"""Web pages of votes: campaigns, the ballot (form → review → receipt), the volunteer's desk,
residents' ideas, the results and the ballot ledger."""

from __future__ import annotations

import csv
import io
import math
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from lib.client_address import client_of
from lib.spreadsheets import csv_row, xlsx_append
from portal.accounts.models import User
from portal.accounts.permissions import is_commission_member, is_official
from portal.accounts.phones import phone_display
from portal.accounts.requests import AuthenticatedHttpRequest
from portal.replica import reads_from_replica
from portal.views import too_many_requests
from projects.models import Municipality, Space
from votes import pabulib, receipts, services
from votes.ballot_campaign import campaign_to_cast
from votes.forms import BallotForm, DeskPhoneForm, IdeaForm, ResidentForm, ballot_token, ballot_token_choices
from votes.models import (
    Annulment,
    AnnulmentReason,
    Ballot,
    Campaign,
    Channel,
    Entry,
    Finding,
    Idea,
    Participation,
    Tally,
    live_standings_min_ballots,
)
from votes.permissions import (
    assisted_channel,
    ballot_refusal,
    can_decide_verification,
    can_download_protocol,
    can_view_verification,
    idea_refusal,
)
from votes.protocol import protocol_final_tally, protocol_pdf
from votes.results import (
    annulled_by_reason,
    campaign_election,
    ledger_lines,
    public_tally,
    results_dict,
    results_page_cached,
    results_page_seconds,
    results_page_storable,
    results_page_store,
    withheld_live_tally,
)
from votes.services import (
    AlreadyVoted,
    AlreadyVotedInVote,
    BallotError,
    CastBallot,
    InvalidBallot,
    VerificationError,
    ballot_cast,
    desk_phone_code_send,
    finding_clear,
    participation_annul,
    verification_approve,
    volunteer_ballot_cast,
)
from votes.services.errors import CommissionKeyError
from votes.throttles import LedgerLookupThrottle
from votes.wording import SCORED_METHODS, annulled_by_label, money, tie_break_text, worded_results

RECEIPT_SESSION_KEY = "votes.receipt"
VOLUNTEER_RECEIPT_SESSION_KEY = "votes.volunteer_receipt"
PROFILE_CODES = frozenset({"birth_date_missing", "residence_missing", "profile_changed"})


def campaign_list(request: HttpRequest) -> HttpResponse:
    """All votes, grouped by phase: open now, coming, and past ones with their results."""
    campaigns = list(Campaign.objects.select_related("municipality").order_by("-voting_opens_at", "-pk"))
    now = timezone.now()
    groups: dict[str, list[Campaign]] = {"voting": [], "ideas": [], "upcoming": [], "closed": []}
    for campaign in campaigns:
        groups[campaign.phase(now)].append(campaign)
    return render(request, "votes/campaign_list.html", {"groups": groups})


def _entries_with_pictures() -> QuerySet[Entry]:
    """Entries in ballot order with what their pictures and "more" need, in a few queries."""
    return (
        Entry.objects.select_related("proposal__space")
        .prefetch_related("proposal__photos", "proposal__space__photos")
        .order_by("position", "pk")
    )


def other_lists(campaign: Campaign) -> list[Campaign]:
    """The other lists of the campaign's vote (its vote group), in a stable order."""
    if campaign.vote_group_id is None:
        return []
    return list(
        Campaign.objects.filter(vote_group_id=campaign.vote_group_id)
        .exclude(pk=campaign.pk)
        .select_related("design_space")
        .order_by("kind", "pk")
    )


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("municipality__region", "design_space", "vote_group"), pk=pk
    )
    entries = _entries_with_pictures().filter(campaign=campaign)
    now = timezone.now()
    context = {
        "campaign": campaign,
        "entries": entries,
        "other_lists": other_lists(campaign),
        "phase": campaign.phase(now),
        "refusal": ballot_refusal(request.user, campaign, now=now) if request.user.is_authenticated else None,
        # Where the resident voted in this vote (this list or another of its group).
        "participation": _participation_in_vote(request, campaign),
        "results_public": public_tally(campaign, now=now) is not None,
        # Named before the vote; a lottery's seed is published here before the count.
        "tie_break_text": tie_break_text(campaign),
    }
    return render(request, "votes/campaign_detail.html", context)


def _campaign_with_entries(pk: int) -> tuple[Campaign, list[Entry]]:
    campaign = get_object_or_404(
        Campaign.objects.select_related("municipality__region", "design_space").prefetch_related(
            Prefetch("entries", _entries_with_pictures())
        ),
        pk=pk,
    )
    return campaign, list(campaign.entries.all())


def _chosen(entries: list[Entry], choices: list[tuple[int, int | None]]) -> list[tuple[Entry, int | None]]:
    """The chosen entries in ballot order (by rank for rankings), with their points."""
    by_id = {entry.pk: entry for entry in entries}
    rows = [(by_id[entry_id], points) for entry_id, points in choices if entry_id in by_id]
    return sorted(rows, key=lambda row: (row[1] or 0, row[0].position))


def _participation_in_vote(request: HttpRequest, campaign: Campaign) -> Participation | None:
    if not request.user.is_authenticated:
        return None
    return Participation.objects.of_voter_in_vote(request.user.pk, campaign).select_related("campaign").first()


def _refused(request: AuthenticatedHttpRequest, campaign: Campaign, *, code: str, message, status: int) -> HttpResponse:
    participation = None
    if code in (AlreadyVoted.code, AlreadyVotedInVote.code):
        participation = _participation_in_vote(request, campaign)
    context = {
        "campaign": campaign,
        "code": code,
        "message": message,
        "participation": participation,
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


def _ballot_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse | BallotError | None:
    """The confirm step, reading only what casting needs: the campaign as the API reads it
    (votes/ballot_campaign.py), no entries and no "already voted?" query (the register's
    constraint answers it). The redirect to the receipt, or the refusal (nothing written),
    or None for a review that expired; the full page is then built for the last two."""
    campaign = campaign_to_cast(pk)
    if campaign is None:
        raise Http404
    choices = ballot_token_choices(request.POST.get("token", ""), campaign=campaign, user_id=request.user.pk)
    if choices is None:
        return None
    try:
        cast = ballot_cast(
            campaign=campaign, voter=request.user, choices=choices, channel=Channel.WEB, client=client_of(request)
        )
    except BallotError as error:
        return error
    request.session[RECEIPT_SESSION_KEY] = _receipt_for_session(cast)
    return redirect("votes:ballot_receipt", pk=campaign.pk)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def ballot(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The ballot: GET the form, POST step=review to see it, step=confirm to cast it."""
    step = request.POST.get("step", "") if request.method == "POST" else ""
    refused: BallotError | None = None
    if step == "confirm":
        confirmed = _ballot_confirm(request, pk)
        if isinstance(confirmed, HttpResponse):
            return confirmed
        refused = confirmed  # the page below says why, in the order it always has (or the review expired)
    campaign, entries = _campaign_with_entries(pk)
    voted = _participation_in_vote(request, campaign)
    if voted is not None:
        error = AlreadyVoted() if voted.campaign_id == campaign.pk else AlreadyVotedInVote()
        return _refused(request, campaign, code=error.code, message=error.message, status=409)
    refusal = ballot_refusal(request.user, campaign)
    if refusal is not None:
        return _refused(request, campaign, code=refusal.code, message=refusal.message, status=403)

    if step in ("confirm", "edit"):
        choices = ballot_token_choices(request.POST.get("token", ""), campaign=campaign, user_id=request.user.pk)
        if choices is None:  # tampered with or expired: start again
            form = BallotForm(campaign=campaign, entries=entries)
            notice = _("Your review expired or was changed. Please fill in the ballot again.")
            return _ballot_page(request, campaign, form, status=400, error=notice)
        if step == "edit":
            form = BallotForm(campaign=campaign, entries=entries, initial=BallotForm.initial_for(campaign, choices))
            return _ballot_page(request, campaign, form)
        # The confirm step cast in _ballot_confirm, the one place a web ballot is cast; a
        # valid review reaches here only when that refused it (expiry is not undone).
        assert refused is not None  # noqa: S101
        if refused.http_status == 400:
            form = BallotForm(campaign=campaign, entries=entries, initial=BallotForm.initial_for(campaign, choices))
            return _ballot_page(request, campaign, form, status=400, error=refused.message)
        return _refused(request, campaign, code=refused.code, message=refused.message, status=refused.http_status)

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
def ballot_receipt(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The receipt code, shown once: it leaves the session as it is shown."""
    campaign = get_object_or_404(Campaign.objects.select_related("municipality"), pk=pk)
    shown = request.session.get(RECEIPT_SESSION_KEY)
    receipt = None
    if shown and shown.get("campaign") == campaign.pk:
        receipt = request.session.pop(RECEIPT_SESSION_KEY)
    context = {"campaign": campaign, "receipt": receipt, "participation": _participation_in_vote(request, campaign)}
    return render(request, "votes/ballot_receipt.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def volunteer_desk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A volunteer enters the ballot of the resident in front of them; an official enters
    a paper ballot the same way (channel 'paper', their own municipalities only)."""
    channel = assisted_channel(request.user)
    if channel is None:
        raise PermissionDenied
    # One query, however many campaigns are open: the helper's scope is part of it.
    campaigns = list(
        Campaign.objects.open()
        .assistable_by(request.user)
        .select_related("municipality__region")
        .order_by("municipality__name", "pk")
    )
    campaign_id = request.POST.get("campaign") or request.GET.get("campaign")
    if not campaign_id or not str(campaign_id).isdigit():
        return render(request, "votes/volunteer_desk.html", {"campaigns": campaigns, "channel": channel})
    campaign, entries = _campaign_with_entries(int(campaign_id))
    if campaign not in campaigns:
        raise Http404  # not open, or outside the helper's region or municipalities
    status = 200
    error = None
    code_sent_to = None
    if request.method == "POST" and request.POST.get("action") == "send_code":
        # Step one for a phone not verified on the portal: the resident gets a code by
        # SMS and reads it to the volunteer. The rest of the form is kept as typed.
        typed = {name: request.POST.get(f"resident-{name}", "") for name in ResidentForm.base_fields}
        typed.pop("code", None)
        typed.pop("passport_checked", None)
        resident_form = ResidentForm(prefix="resident", initial=typed)
        ballot_form = BallotForm(campaign=campaign, entries=entries, prefix="ballot")
        phone_form = DeskPhoneForm(request.POST, prefix="resident")
        if phone_form.is_valid():
            try:
                desk_phone_code_send(volunteer=request.user, phone=phone_form.cleaned_data["phone"])
            except BallotError as failure:
                error, status = failure, failure.http_status
            else:
                code_sent_to = phone_display(phone_form.cleaned_data["phone"])
        else:
            error = InvalidBallot(_("Enter a Russian mobile number, e.g. +7 912 345-67-89."), code="invalid_phone")
            status = 400
    elif request.method == "POST":
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
                    document_type=data["document_type"],
                    document_number=data["document_number"],
                    code=data["code"] or None,
                    choices=ballot_form.ballot_choices(),
                    channel=channel,
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
        "channel": channel,
        "campaign": campaign,
        "resident_form": resident_form,
        "form": ballot_form,
        "rows": ballot_form.rows(),
        "method": campaign.method,
        "error": error,
        "code_sent_to": code_sent_to,
    }
    return render(request, "votes/volunteer_desk.html", context, status=status)


@never_cache
@login_required
def volunteer_receipt(request: AuthenticatedHttpRequest) -> HttpResponse:
    if assisted_channel(request.user) is None:
        raise PermissionDenied
    receipt = request.session.pop(VOLUNTEER_RECEIPT_SESSION_KEY, None)
    campaign = (
        Campaign.objects.select_related("municipality").filter(pk=receipt["campaign"]).first() if receipt else None
    )
    return render(request, "votes/volunteer_receipt.html", {"receipt": receipt, "campaign": campaign})


# --- The widget for municipal websites ---


@xframe_options_exempt  # the CSP's frame-ancestors below decides, per municipality
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A municipality's open vote for its own website: its lists, their entries with
    pictures, and buttons that open the portal's ballot in a new window. Only the
    websites the municipality lists (EmbedOrigin) may frame it; with none listed,
    nobody may. Every other page keeps X-Frame-Options DENY and frame-ancestors 'none'."""
    municipality = get_object_or_404(Municipality, slug=slug)
    campaigns = list(
        Campaign.objects.open()
        .filter(municipality=municipality)
        .select_related("design_space", "vote_group")
        .prefetch_related(Prefetch("entries", _entries_with_pictures()))
        .order_by("kind", "voting_closes_at", "pk")
    )
    upcoming = Campaign.objects.upcoming().filter(municipality=municipality).order_by("voting_opens_at").first()
    origins = list(municipality.embed_origins.values_list("origin", flat=True))
    context = {"municipality": municipality, "campaigns": campaigns, "upcoming": upcoming}
    response = render(request, "votes/embed.html", context)
    response._csp_replace = {"frame-ancestors": origins or ["'none'"]}  # type: ignore[attr-defined]  # read by django-csp
    return response


# --- Ideas ---
# A resident's idea for their municipality's campaign, and "my ideas".


@login_required
def idea_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality"), pk=pk)
    user = request.user
    refusal = idea_refusal(user, campaign)
    if refusal is not None:
        context = {"campaign": campaign, "refusal": refusal.message}
        return render(request, "votes/idea_form.html", context, status=403)

    form = IdeaForm(request.POST or None, request.FILES or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.idea_submit(campaign=campaign, author=user, **form.service_kwargs())
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, gettext("Thank you! Your idea is waiting for moderation."))
            return redirect("votes:my_ideas")
    spaces = cast("QuerySet[Space]", form.space_field.queryset).only("pk", "name", "address", "latitude", "longitude")
    map_points = [
        {"lat": float(space.latitude), "lon": float(space.longitude), "label": f"{space.name}, {space.address}"}
        for space in spaces
    ]
    center = map_points[0] if map_points else _municipality_center(campaign)
    page: dict[str, object] = {"campaign": campaign, "form": form, "map_points": map_points, "map_center": center}
    return render(request, "votes/idea_form.html", page, status=400 if form.errors else 200)


def _municipality_center(campaign: Campaign) -> dict:
    municipality = campaign.municipality
    if municipality.latitude is not None and municipality.longitude is not None:
        return {"lat": float(municipality.latitude), "lon": float(municipality.longitude)}
    return {"lat": 56.8389, "lon": 60.6057}  # Yekaterinburg, the regional centre


@login_required
def my_ideas(request: AuthenticatedHttpRequest) -> HttpResponse:
    ideas = Idea.objects.by_author(request.user).order_by("-submitted_at", "-pk")
    return render(request, "votes/my_ideas.html", {"ideas": ideas})


# --- Results and the ballot ledger (counting) ---
# Everything below reads the stored tally; nothing counts in a request.


# Each project takes two lines: its name, then its bar with the number.
CHART_ROW_HEIGHT = 46
CHART_WIDTH = 420
CHART_LABEL_CHARS = 52


def _chart(rows: list[dict], key: str) -> dict:
    """Coordinates of a horizontal bar chart, drawn as inline SVG by the template."""
    top = max((r[key] for r in rows), default=0) or 1
    span = CHART_WIDTH - 80
    bars = []
    for i, r in enumerate(rows):
        width = round(span * r[key] / top, 1)
        bars.append(
            {
                "label_y": i * CHART_ROW_HEIGHT + 14,
                "y": i * CHART_ROW_HEIGHT + 20,
                "text_y": i * CHART_ROW_HEIGHT + 35,
                "width": max(width, 1 if r[key] else 0),
                "value_x": width + 6,
                "label": r["title"],
                "label_chars": CHART_LABEL_CHARS,
                "value": r[key],
                "selected": r["selected"],
            }
        )
    return {"width": CHART_WIDTH, "height": len(rows) * CHART_ROW_HEIGHT + 4, "bars": bars}


def _campaign_or_404(pk: int):
    return get_object_or_404(Campaign.objects.select_related("municipality__region"), pk=pk)


def _results_page_shared(request: HttpRequest) -> bool:
    """True when the visitor sees the page everyone sees: no session (so anonymous, with
    no pending message), a plain GET without a query string."""
    return (
        request.method == "GET"
        and not request.META.get("QUERY_STRING")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


@reads_from_replica
def campaign_results(request: HttpRequest, pk: int) -> HttpResponse:
    # Anonymous visitors get the whole page from the cache (votes.results): no query on a
    # hit. It took the page from 0.07-0.09 of a static file's rate to 0.52-0.65 (bench/NOTES.md).
    shared = _results_page_shared(request)
    language = get_language()
    version = None
    if shared:
        version, page = results_page_cached(pk, language)
        if page is not None:
            return HttpResponse(page)
    campaign = _campaign_or_404(pk)
    tally = public_tally(campaign)
    context: dict[str, object] = {"campaign": campaign, "tally": tally}
    if tally is None:
        # Standings the campaign shows, but too few ballots in yet: how many, nothing more.
        withheld = withheld_live_tally(campaign)
        context |= {"withheld": withheld, "live": withheld is not None, "min_ballots": live_standings_min_ballots()}
    else:
        live = tally.kind == Tally.Kind.LIVE
        data, rows = worded_results(campaign, tally, provisional=live)
        scored = campaign.method in SCORED_METHODS
        population = campaign.municipality.population
        budget_left = (campaign.budget - tally.budget_used) if campaign.budget is not None else None
        context |= {
            "tie_break_text": tie_break_text(campaign),
            "reserve_count": sum(1 for r in rows if r.get("selected_by_reserve")),
            "reserve_percent": format((campaign.reserve_share * 100).normalize(), "f")
            if campaign.reserve_share is not None
            else "",
            "rows": rows,
            "live": live,
            "scored": scored,
            "chart": _chart(rows, "score" if scored else "votes"),
            "budget": money(campaign.budget) if campaign.budget is not None else None,
            "budget_used": money(tally.budget_used),
            "budget_left": money(budget_left) if budget_left is not None else None,
            "population": population,
            "turnout": 100 * tally.ballots_counted / population if population else None,
            "selected_count": sum(1 for r in rows if r["selected"]),
            # Ballots the commission annulled, by reason (their category is public).
            "annulled": annulled_by_label(data.get("annulled")),
        }
    response = render(request, "votes/results.html", context)
    seconds = results_page_seconds(campaign)
    if version is not None and seconds > 0 and results_page_storable(version):
        results_page_store(pk, language, version, response.content, seconds)
    return response


def _public_tally_or_404(pk: int):
    campaign = _campaign_or_404(pk)
    tally = public_tally(campaign)
    if tally is None:
        raise Http404
    return campaign, tally


_CSV_COLUMNS = ["rank", "external_id", "title", "cost", "votes", "score", "selected", "selected_by_reserve"]
_FLAGS = ("selected", "selected_by_reserve")


@reads_from_replica
def results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for row in results_dict(campaign, tally)["entries"]:
        writer.writerow(csv_row(int(row[c]) if c in _FLAGS else row[c] for c in _CSV_COLUMNS))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.csv"'
    return response


@reads_from_replica
def results_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "results"
    sheet.append(_CSV_COLUMNS)
    data = results_dict(campaign, tally)
    for row in data["entries"]:
        xlsx_append(sheet, [int(row[c]) if c in _FLAGS else row[c] for c in _CSV_COLUMNS])
    annulled = workbook.create_sheet("annulled")  # ballots the commission annulled, by reason
    annulled.append(["reason", "ballots"])
    for reason, count in (data.get("annulled") or {}).items():
        xlsx_append(annulled, [reason, count])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.xlsx"'
    return response


@reads_from_replica
def results_json(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    return JsonResponse(results_dict(campaign, tally), json_dumps_params={"ensure_ascii": False})


@reads_from_replica
def results_pb(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    if tally.kind != Tally.Kind.FINAL:
        raise Http404
    response = HttpResponse(pabulib.dump(campaign_election(campaign)), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.pb"'
    return response


def _published_final_or_404(pk: int):
    campaign = _campaign_or_404(pk)
    if campaign.results_published_at is None:
        raise Http404
    tally = Tally.objects.final_done().filter(campaign=campaign).first()
    if tally is None:
        raise Http404
    return campaign, tally


@reads_from_replica
def ledger_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign, tally = _published_final_or_404(pk)
    response = StreamingHttpResponse(ledger_lines(campaign, tally), content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-ledger.jsonl"'
    return response


@never_cache  # before publication only the commission and officials may have it
def protocol_download(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(pk)
    tally = protocol_final_tally(campaign)
    if tally is None or not can_download_protocol(request.user, campaign):
        raise Http404
    response = HttpResponse(protocol_pdf(campaign, tally), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-protocol.pdf"'
    return response


@never_cache  # the answer names a ballot's choices: no cache along the way keeps it
@require_http_methods(["GET", "POST"])
@reads_from_replica  # the form (GET); a lookup (POST) reads the primary
def ledger_lookup(request: HttpRequest, pk: int) -> HttpResponse:
    """The ledger's lookup form; the receipt code comes only in a POST body (CSRF-checked),
    so it stays out of access logs, browser history and Referer headers. A code in the
    query string is ignored, never looked up."""
    campaign, tally = _published_final_or_404(pk)
    if request.method != "POST" and "receipt" in request.GET:
        # An old bookmark or a forwarded link: to the bare form, so that no link on the
        # page (the language switch) carries the code on.
        return redirect("votes:ledger_lookup", pk=campaign.pk)
    receipt = request.POST.get("receipt", "").strip() if request.method == "POST" else ""
    context = {"campaign": campaign, "tally": tally, "searched": bool(receipt)}
    if receipt:
        throttle = LedgerLookupThrottle()
        if not throttle.allow_request(request, None):
            return too_many_requests(request, retry_after=math.ceil(throttle.wait() or 60))
        candidates = receipts.receipt_lookup_hashes(receipt)
        ballot = Ballot.objects.filter(campaign=campaign, receipt_hash__in=candidates).first()
        if ballot is not None:
            position = Ballot.objects.filter(campaign=campaign, receipt_hash__lt=ballot.receipt_hash).count() + 1
            choices = sorted(
                ballot.choices.select_related("entry__proposal").values_list(
                    "entry__external_id", "entry__proposal__title", "points"
                ),
            )
            context |= {"ballot": ballot, "position": position, "choices": choices}
    return render(request, "votes/ledger.html", context)


# --- The verification after the close (votes.services.verification) -----------------


@never_cache
@login_required
def commission_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The closed campaigns whose verification the user sees (their commission's or
    their municipalities'), newest first."""
    scope = Municipality.objects.administered_by(request.user)
    if is_commission_member(request.user):
        scope = scope | Municipality.objects.filter(pk__in=request.user.scope_municipalities.values("pk"))
    campaigns = list(
        Campaign.objects.closed()
        .filter(municipality__in=scope)
        .select_related("municipality")
        .annotate(open_findings=Count("findings", filter=Q(findings__status=Finding.Status.OPEN)))
        .order_by("-voting_closes_at", "-pk")
    )
    if not campaigns and not (is_commission_member(request.user) or is_official(request.user)):
        raise Http404
    return render(request, "votes/commission_index.html", {"campaigns": campaigns})


_EVIDENCE_LABELS = {
    "signal": _("signal"),
    "accounts": _("accounts"),
    "participations": _("participations"),
    "threshold": _("threshold"),
    "bucket": _("time bucket"),
    "bucket_minutes": _("bucket, minutes"),
    "window_minutes": _("window, minutes"),
    "network_hash": _("network (hash)"),
    "agent_hash": _("device (hash)"),
    "pattern": _("e-mail pattern"),
    "volunteer": _("volunteer"),
    "hour": _("hour"),
    "median": _("median of the others"),
    "mad": _("spread (MAD)"),
    "median_age": _("median age"),
    "others_median": _("median age of the others"),
    "changes": _("changes"),
    "first": _("first change"),
}
_SIGNAL_LABELS = {
    "name_birth_date": _("same full name and birth date"),
    "phone": _("same phone"),
    "document": _("same identity document"),
    "network": _("one network"),
    "email_pattern": _("one e-mail pattern"),
    "per_hour": _("ballots per hour"),
    "ages": _("ages of the residents"),
    "eligibility_correct": _("birth date or residence corrected"),
}


def _evidence_lines(evidence: dict) -> list[tuple[str, str]]:
    lines = []
    for key, value in evidence.items():
        if key == "signal":
            value = _SIGNAL_LABELS.get(value, value)
        elif key.endswith("_hash"):
            value = str(value)[:12] + "…"
        elif key == "volunteer":
            value = str(User.objects.filter(pk=value).first() or value)
        lines.append((str(_EVIDENCE_LABELS.get(key, key)), str(value)))
    return lines


def _posted_id(request: HttpRequest, name: str) -> int:
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Http404
    return int(value)


# A key file or a share is a line of text; anything much bigger is not one.
_KEY_FILE_MAX_BYTES = 4096


@csrf_exempt  # protected below: the upload handlers are set before CSRF reads the body
@never_cache
def verification(request: HttpRequest, pk: int) -> HttpResponse:
    # The commission's key is read in memory and never written to disk or the database.
    request.upload_handlers = [MemoryFileUploadHandler(request)]
    return _verification(request, pk)


@csrf_protect
@login_required
@require_http_methods(["GET", "POST"])
def _verification(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality"), pk=pk)
    if not can_view_verification(request.user, campaign):
        raise Http404
    decides = can_decide_verification(request.user, campaign)
    error: VerificationError | CommissionKeyError | None = None
    if request.method == "POST":
        if not decides:
            raise Http404
        action = request.POST.get("action")
        try:
            if action == "clear":
                finding = get_object_or_404(campaign.findings, pk=_posted_id(request, "finding"))
                finding_clear(finding=finding, actor=request.user, note=request.POST.get("note", ""))
                done = _("The finding is cleared: its ballots are counted.")
            elif action == "annul":
                participation = get_object_or_404(
                    Participation.objects.select_related("campaign"),
                    campaign=campaign,
                    pk=_posted_id(request, "participation"),
                )
                finding_id = request.POST.get("finding", "")
                concerned = campaign.findings.filter(pk=int(finding_id)).first() if finding_id.isdigit() else None
                key_texts = [
                    upload.read(_KEY_FILE_MAX_BYTES).decode("ascii", errors="replace")
                    for upload in request.FILES.getlist("key")
                ]
                participation_annul(
                    participation=participation,
                    actor=request.user,
                    reason=request.POST.get("reason", ""),
                    note=request.POST.get("note", ""),
                    key_texts=key_texts,
                    finding=concerned,
                )
                done = _("The ballot is annulled; the votes are being recounted.")
            elif action == "approve":
                verification_approve(campaign=campaign, actor=request.user)
                done = _("The verification is approved: the results may be published.")
            else:
                raise Http404
        except (VerificationError, CommissionKeyError) as refused:
            error = refused
        else:
            messages.success(request, done)
            return redirect("votes:verification", pk=campaign.pk)
    findings = list(
        campaign.findings.select_related("decided_by").prefetch_related(
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("voter", "volunteer", "annulment").order_by("voted_at"),
            )
        )
    )
    for finding in findings:
        finding.evidence_lines = _evidence_lines(finding.evidence)  # type: ignore[attr-defined]
    context = {
        "campaign": campaign,
        "findings": findings,
        "open_count": sum(1 for f in findings if f.status == Finding.Status.OPEN),
        "decides": decides,
        "error": error,
        "reasons": AnnulmentReason.choices,
        "annulled": annulled_by_label(annulled_by_reason(campaign.pk)),
        "annulments": Annulment.objects.filter(participation__campaign=campaign).select_related(
            "participation__voter", "decided_by"
        ),
        "closed": campaign.phase() == "closed",
        "protocol": protocol_final_tally(campaign) is not None,  # the viewers here may download it
    }
    return render(request, "votes/verification.html", context, status=400 if error else 200)
