"""The commission's protocol of a vote: a Russian A4 PDF (WeasyPrint), tagged (PDF/UA-1).

A read: it takes the stored final tally, the register's counts by channel, the box's
annulled ballots by reason and the commission's members, and never counts anything.
"""

from __future__ import annotations

from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.accounts.models import User
from votes.models import Campaign, Channel, Participation, Tally
from votes.turnout import turnout_of
from votes.wording import SCORED_METHODS, annulled_by_label, money, tie_break_text, worded_results


def protocol_final_tally(campaign: Campaign) -> Tally | None:
    """The final tally the protocol is made from, None before the count is done."""
    return Tally.objects.final_done().filter(campaign=campaign).first()


def protocol_context(campaign: Campaign, tally: Tally) -> dict:
    data, rows = worded_results(campaign, tally)
    by_channel = dict(
        Participation.objects.in_vote_of(campaign).values_list("channel").annotate(n=Count("pk")).order_by()
    )
    participants = sum(by_channel.values())
    lists = (
        list(campaign.vote_group.campaigns.order_by("pk").values_list("title", flat=True))
        if campaign.vote_group is not None
        else [campaign.title]
    )
    members = (
        User.objects.filter(
            role=User.Role.COMMISSION_MEMBER, is_active=True, scope_municipalities=campaign.municipality_id
        )
        .distinct()
        .order_by("full_name", "email")
    )
    return {
        "campaign": campaign,
        "tally": tally,
        "lists": lists,
        "rows": rows,
        "scored": campaign.method in SCORED_METHODS,
        "tie_break_text": tie_break_text(campaign),
        "budget": money(campaign.budget) if campaign.budget is not None else None,
        "budget_used": money(tally.budget_used),
        "turnout": turnout_of(campaign, participants=participants, now=campaign.voting_closes_at),
        "channels": [(label, by_channel[value]) for value, label in Channel.choices if by_channel.get(value)],
        "annulled": annulled_by_label(data["annulled"]),
        "annulled_total": sum(data["annulled"].values()),
        "members": members,
        "made_at": timezone.localtime(),
    }


def protocol_pdf(campaign: Campaign, tally: Tally) -> bytes:
    """The protocol of `campaign` (select_related("municipality__region")) from its final `tally`."""
    # WeasyPrint loads pango at import: only the protocol's callers pay for it.
    from weasyprint import HTML

    with translation.override("ru"):  # the protocol is an official document in Russian
        html = render_to_string("votes/protocol.html", protocol_context(campaign, tally))
    # PDF/UA-1: tagged (a structure tree, /MarkInfo), with the document's language and title.
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
