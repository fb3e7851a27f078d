"""The campaign a ballot is cast in, read once per BALLOT_CAMPAIGN_CACHE_SECONDS per process.

At the opening every ballot reads the same few campaigns. While a campaign is open, what
the casting path reads of it is frozen: the admin refuses edits of its eligibility, its
method and its limits once voting has begun (CampaignAdmin.FROZEN_WHEN_OPEN), the
commission key is refused once the ballot is frozen (votes/services/commission.py), and
its entries are not kept here at all (each ballot reads the ones it names). What may
still change is the close, and the register's trigger reads that from the campaign's row
at every insert: a ballot that passes a stale check after the close is refused by the
database (`ballot_within_voting_window`), with the same answer. A campaign is kept only
while it is open by its own times, so a moved close is read again as soon as the kept
one says closed.

The instance is shared by the requests of the process: the casting path only reads it.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from portal.prepared import Prepared
from votes.models import Campaign
from votes.services import BIGINT_MAX

# With what eligibility reads (the municipality and its region); compiled once per process.
_CAMPAIGN_TO_CAST: Prepared[Campaign] = Prepared(
    Campaign, lambda pk: Campaign.objects.select_related("municipality__region").filter(pk=pk)
)
_MAX_KEPT = 1000  # open campaigns at once; past that the whole table is dropped, not grown

_kept: dict[int, tuple[float, Campaign]] = {}
_lock = threading.Lock()


def campaign_to_cast(pk: int) -> Campaign | None:
    """The campaign `pk` (with its municipality and region) for a ballot, or None."""
    if not 1 <= pk <= BIGINT_MAX:  # no such row, and past what the drivers take
        return None
    seconds = settings.BALLOT_CAMPAIGN_CACHE_SECONDS
    if seconds > 0:
        kept = _kept.get(pk)
        if kept is not None and kept[0] > time.monotonic() and kept[1].is_open():
            return kept[1]
    campaign = _CAMPAIGN_TO_CAST.first(pk)
    if seconds > 0 and campaign is not None and campaign.is_open():
        with _lock:
            if len(_kept) >= _MAX_KEPT:
                _kept.clear()
            _kept[pk] = (time.monotonic() + seconds, campaign)
    return campaign


def ballot_campaigns_forget() -> None:
    """Drop every kept campaign (tests; a process that must see an edit at once)."""
    with _lock:
        _kept.clear()
