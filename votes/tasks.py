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


@shared_task
def screening_run(campaign_id: int) -> int:
    return services.screening_run(campaign_id=campaign_id)


@shared_task
def screening_data_erase() -> int:
    return services.screening_data_erase()


# The e-mail tasks keep the names they had in `portal.tasks`: messages already waiting
# in the broker when a new release starts still find their task.
@shared_task(name="portal.tasks.notify_idea_decided")
def notify_idea_decided(idea_id: int) -> None:
    services.email_idea_decided_send(idea_id=idea_id)


@shared_task(name="portal.tasks.notify_campaign_opened")
def notify_campaign_opened(campaign_id: int, after_id: int = 0) -> None:
    # One batch per task; the next batch is a new task, so a worker restart resumes
    # from the last id sent rather than from the beginning.
    next_after = services.email_campaign_opened_send(campaign_id=campaign_id, after_id=after_id)
    if next_after is not None:
        notify_campaign_opened.delay(campaign_id, next_after)


@shared_task(name="portal.tasks.notify_results_published")
def notify_results_published(campaign_id: int, after_id: int = 0) -> None:
    next_after = services.email_results_published_send(campaign_id=campaign_id, after_id=after_id)
    if next_after is not None:
        notify_results_published.delay(campaign_id, next_after)


@shared_task
def turnout_watch() -> list[int]:
    return services.turnout_notices_send()


@shared_task(name="portal.tasks.notify_turnout_behind")
def notify_turnout_behind(notice_id: int) -> int:
    return services.email_turnout_behind_send(notice_id=notice_id)
