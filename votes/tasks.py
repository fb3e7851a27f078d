"""Celery tasks: thin, take ids, call one service each.

acks_late is on (settings): a task whose worker dies is delivered again, and every
service here recomputes rather than increments, so a second delivery changes nothing.
"""

from __future__ import annotations

from celery import shared_task

from votes import services


@shared_task
def campaigns_clock() -> dict[str, list[int]]:
    opened, closed = services.campaigns_clock_tick()
    return {"opened": opened, "closed": closed}


@shared_task
def live_tallies_refresh() -> list[int]:
    return services.live_tallies_enqueue()


@shared_task
def tally_live(campaign_id: int) -> int:
    return services.tally_compute(campaign_id=campaign_id, final=False).pk


@shared_task
def tally_final(campaign_id: int) -> int:
    return services.tally_compute(campaign_id=campaign_id, final=True).pk


@shared_task
def ledger_seal(campaign_id: int) -> str:
    return services.ledger_seal(campaign_id=campaign_id)
