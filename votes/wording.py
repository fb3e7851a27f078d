"""The results in plain words: amounts, each project's explanation, the tie-break, and
the worded rows that the results page and the commission's protocol both show.

Reads of a stored tally only; no request, no counting (votes/results.py gives the data).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext

from lib.money import rubles
from votes import rules
from votes.models import AnnulmentReason, Campaign, Tally
from votes.results import results_dict, tally_rows


def money(value) -> str:
    """An amount in roubles for the active language, "—" for none."""
    return rubles(value, empty="—")


# Methods whose standings are points or ranks rather than a count of votes.
SCORED_METHODS = ("cumulative", "ordinal")


def explain(explanation: dict, selected: bool, campaign) -> str:
    """A plain-language sentence from a TallyRow's machine-readable explanation."""
    e = explanation
    reason = e.get("reason", "")
    scored = campaign.method in SCORED_METHODS
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
        "excluded_by": e.get("excluded_by"),
        "reserve_used": money(e.get("reserve_used")),
        "share": f"{round(100 * (e.get('reserve_share') or 0)):d}",
    }
    sentences = {
        "fits_budget": gettext(
            "Selected because it was number %(position)s by score and its cost, %(cost)s, fitted in the "
            "budget left, %(left)s."
        )
        if scored
        else gettext(
            "Selected because it was number %(position)s by votes and its cost, %(cost)s, fitted in the "
            "budget left, %(left)s."
        ),
        "budget_exhausted": gettext(
            "Not selected because the budget left was %(left)s and it costs %(cost)s; counting went on to "
            "cheaper projects."
        ),
        "stopped_no_skip": gettext(
            "Not selected because the budget left was %(left)s and it costs %(cost)s; under this rule counting "
            "stops at the first project that does not fit."
        ),
        "not_reached": gettext(
            "Not selected because counting had stopped at a higher-ranked project that did not fit the budget "
            "(%(left)s left)."
        ),
        "below_threshold": gettext("Not selected because its score, %(score)s, is below the minimum of %(threshold)s."),
        "top_k": gettext("Selected because it is among the %(winners)s projects with the most votes."),
        "not_in_top_k": gettext("Not selected because it is not among the %(winners)s projects with the most votes."),
        "equal_shares_round": gettext(
            "Selected in round %(round)s of the Method of Equal Shares: its %(supporters)s supporters could pay "
            "its cost, %(cost)s, from their equal shares of the budget."
        ),
        "too_expensive_for_supporters": gettext(
            "Not selected because its supporters had %(supporters_budget)s left of their equal shares, less than "
            "its cost, %(cost)s."
        ),
        "no_supporters": gettext("Not selected because nobody voted for it."),
        "excluded_by_group": gettext(
            "Not selected because it excludes project %(excluded_by)s, which was selected first: at most one of "
            "them can be carried out."
        ),
        "reserve": gettext(
            "Selected from the reserve: it did not fit in the budget left, %(left)s, but that covers at least "
            "%(share)s %% of its cost, %(cost)s; the reserve pays the remaining %(reserve_used)s."
        ),
        "free_project": gettext("Selected because it costs nothing and has supporters."),
        "completion": gettext(
            "Selected when the budget left, %(left)s, was filled by score: its cost, %(cost)s, fitted."
        )
        if scored
        else gettext("Selected when the budget left, %(left)s, was filled by votes: its cost, %(cost)s, fitted."),
    }
    template = sentences.get(reason)
    if template is None:
        return gettext("Selected.") if selected else gettext("Not selected.")
    return template % values


def tie_break_text(campaign) -> str:
    """How the campaign breaks ties, in one sentence for its pages."""
    if campaign.tie_break == rules.TIE_LOTTERY:
        return gettext(
            "Projects with equal results are ordered by a public lottery: by the SHA-256 of the seed %(seed)s, "
            "a colon and the project number, smallest first. The seed was published before the count, so anyone "
            "can redo it."
        ) % {"seed": campaign.tie_break_seed}
    sentences = {
        rules.TIE_MORE_VOTES: gettext("Of projects with equal scores, the one with more voters goes first."),
        rules.TIE_CHEAPER: gettext("Of projects with equal results, the cheaper one goes first."),
        rules.TIE_DEARER: gettext("Of projects with equal results, the dearer one goes first."),
    }
    return sentences.get(
        campaign.tie_break, gettext("Of projects with equal results, the one with the lower number goes first.")
    )


def worded_results(campaign: Campaign, tally: Tally, *, provisional: bool = False) -> tuple[dict, list[dict]]:
    """`results_dict` of the tally and its entries with their explanation and cost in words,
    from one read of the tally's rows. Provisional (live) standings select nothing and
    explain nothing."""
    row_list = list(tally_rows(tally))
    data = results_dict(campaign, tally, row_list)
    explanations = {row.entry_id: row.explanation for row in row_list}
    rows: list[dict[str, Any]] = []
    for entry in data["entries"]:
        item = dict(entry)
        if provisional:
            item["selected"] = False
            item["explanation"] = ""
        else:
            item["explanation"] = explain(explanations.get(item["entry"], {}), item["selected"], campaign)
        item["cost_text"] = money(item["cost"])
        rows.append(item)
    return data, rows


def annulled_by_label(counts: dict[str, int] | None) -> list[tuple[str | Promise, int]]:
    """Ballots the commission annulled, counted by reason, under each reason's label."""
    return [(AnnulmentReason(reason).label, count) for reason, count in (counts or {}).items()]
