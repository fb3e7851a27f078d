import csv
import io

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from votes import ledger as ledger_format
from votes import pabulib
from votes.models import Ballot, Campaign, Tally
from votes.results import campaign_election, ledger_lines, public_tally, results_dict


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("municipality").order_by("-voting_opens_at")
    return render(request, "votes/campaign_list.html", {"campaigns": campaigns})


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("municipality__region"), pk=pk)
    entries = campaign.entries.select_related("proposal__space")
    return render(request, "votes/campaign_detail.html", {"campaign": campaign, "entries": entries})


# --- Results and the ballot ledger (counting) ---
# Everything below reads the stored tally; nothing counts in a request.


def money(value) -> str:
    """12 345 678 ₽ (kopecks only when there are some); a narrow no-break space groups digits."""
    if value is None:
        return "—"
    number = float(value)
    text = f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return text.replace(",", "\u202f") + "\u00a0₽"


def explain(explanation: dict, selected: bool, campaign) -> str:
    """A plain-language sentence from a TallyRow's machine-readable explanation."""
    e = explanation
    reason = e.get("reason", "")
    values = {
        "position": e.get("position"),
        "round": e.get("round"),
        "cost": money(e.get("cost")),
        "left": money(e.get("budget_left")),
        "score": e.get("score"),
        "votes": e.get("votes"),
        "threshold": e.get("threshold"),
        "supporters": e.get("supporters"),
        "supporters_budget": money(e.get("supporters_budget")),
        "winners": campaign.winners,
    }
    sentences = {
        "fits_budget": _(
            "Selected because it was number %(position)s by score and its cost, %(cost)s, fitted in the "
            "budget left, %(left)s."
        ),
        "budget_exhausted": _(
            "Not selected because the budget left was %(left)s and it costs %(cost)s; counting went on to "
            "cheaper projects."
        ),
        "stopped_no_skip": _(
            "Not selected because the budget left was %(left)s and it costs %(cost)s; under this rule counting "
            "stops at the first project that does not fit."
        ),
        "not_reached": _(
            "Not selected because counting had stopped at a higher-ranked project that did not fit the budget "
            "(%(left)s left)."
        ),
        "below_threshold": _("Not selected because its score, %(score)s, is below the minimum of %(threshold)s."),
        "top_k": _("Selected because it is among the %(winners)s projects with the most votes."),
        "not_in_top_k": _("Not selected because it is not among the %(winners)s projects with the most votes."),
        "equal_shares_round": _(
            "Selected in round %(round)s of the Method of Equal Shares: its %(supporters)s supporters could pay "
            "its cost, %(cost)s, from their equal shares of the budget."
        ),
        "too_expensive_for_supporters": _(
            "Not selected because its supporters had %(supporters_budget)s left of their equal shares, less than "
            "its cost, %(cost)s."
        ),
        "no_supporters": _("Not selected because nobody voted for it."),
        "free_project": _("Selected because it costs nothing and has supporters."),
        "completion": _("Selected when the budget left, %(left)s, was filled by score: its cost, %(cost)s, fitted."),
    }
    template = sentences.get(reason)
    if template is None:
        return _("Selected.") if selected else _("Not selected.")
    return template % values


CHART_ROW_HEIGHT = 28
CHART_LABEL_WIDTH = 60
CHART_WIDTH = 640


def _chart(rows: list[dict], key: str) -> dict:
    """Coordinates of a horizontal bar chart, drawn as inline SVG by the template."""
    top = max((r[key] for r in rows), default=0) or 1
    span = CHART_WIDTH - CHART_LABEL_WIDTH - 90
    bars = []
    for i, r in enumerate(rows):
        width = round(span * r[key] / top, 1)
        bars.append(
            {
                "y": i * CHART_ROW_HEIGHT,
                "text_y": i * CHART_ROW_HEIGHT + 18,
                "width": max(width, 1 if r[key] else 0),
                "value_x": CHART_LABEL_WIDTH + width + 6,
                "label": r["external_id"],
                "value": r[key],
                "selected": r["selected"],
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(rows) * CHART_ROW_HEIGHT + 4,
        "label_width": CHART_LABEL_WIDTH,
        "bars": bars,
    }


def _campaign_or_404(pk: int):
    return get_object_or_404(Campaign.objects.select_related("municipality__region"), pk=pk)


def campaign_results(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(pk)
    tally = public_tally(campaign)
    context = {"campaign": campaign, "tally": tally}
    if tally is not None:
        data = results_dict(campaign, tally)
        scored = campaign.method in ("cumulative", "ordinal")
        explanations = {row.entry_id: row.explanation for row in tally.rows.all()}
        rows = []
        for item in data["entries"]:
            item = dict(item)
            item["explanation"] = explain(explanations.get(item["entry"], {}), item["selected"], campaign)
            item["cost_text"] = money(item["cost"])
            rows.append(item)
        population = campaign.municipality.population
        budget_left = (campaign.budget - tally.budget_used) if campaign.budget is not None else None
        context |= {
            "rows": rows,
            "scored": scored,
            "chart": _chart(rows, "score" if scored else "votes"),
            "budget": money(campaign.budget) if campaign.budget is not None else None,
            "budget_used": money(tally.budget_used),
            "budget_left": money(budget_left) if budget_left is not None else None,
            "population": population,
            "turnout": 100 * tally.ballots_counted / population if population else None,
            "selected_count": sum(1 for r in rows if r["selected"]),
        }
    return render(request, "votes/results.html", context)


def _public_tally_or_404(pk: int):
    campaign = _campaign_or_404(pk)
    tally = public_tally(campaign)
    if tally is None:
        raise Http404
    return campaign, tally


_CSV_COLUMNS = ["rank", "external_id", "title", "cost", "votes", "score", "selected"]


def results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for row in results_dict(campaign, tally)["entries"]:
        writer.writerow([row[c] if c != "selected" else int(row[c]) for c in _CSV_COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.csv"'
    return response


def results_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    from openpyxl import Workbook

    campaign, tally = _public_tally_or_404(pk)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "results"
    sheet.append(_CSV_COLUMNS)
    for row in results_dict(campaign, tally)["entries"]:
        sheet.append([row[c] if c != "selected" else int(row[c]) for c in _CSV_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.xlsx"'
    return response


def results_json(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _public_tally_or_404(pk)
    return JsonResponse(results_dict(campaign, tally), json_dumps_params={"ensure_ascii": False})


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
    tally = Tally.objects.filter(campaign=campaign, kind=Tally.Kind.FINAL, status=Tally.Status.DONE).first()
    if tally is None:
        raise Http404
    return campaign, tally


def ledger_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign, tally = _published_final_or_404(pk)
    response = StreamingHttpResponse(ledger_lines(campaign, tally), content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-ledger.jsonl"'
    return response


def _receipt_candidates(text: str) -> list[str]:
    # Voters copy codes with spaces, dashes or in another case; try the usual variants.
    raw = text.strip()
    variants = {raw, raw.upper(), raw.replace(" ", ""), raw.replace(" ", "").upper()}
    variants |= {v.replace("-", "") for v in variants}
    return sorted({ledger_format.receipt_hash(v) for v in variants if v})


def ledger_lookup(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, tally = _published_final_or_404(pk)
    receipt = request.GET.get("receipt", "").strip()
    context = {"campaign": campaign, "tally": tally, "receipt": receipt, "searched": bool(receipt)}
    if receipt:
        ballot = Ballot.objects.filter(campaign=campaign, receipt_hash__in=_receipt_candidates(receipt)).first()
        if ballot is not None:
            position = Ballot.objects.filter(campaign=campaign, receipt_hash__lt=ballot.receipt_hash).count() + 1
            choices = sorted(
                ballot.choices.select_related("entry__proposal").values_list(
                    "entry__external_id", "entry__proposal__title", "points"
                ),
            )
            context |= {"ballot": ballot, "position": position, "choices": choices}
    return render(request, "votes/ledger.html", context)
