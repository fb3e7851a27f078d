"""Thin Celery tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from portal import notifications


@shared_task
def notify_idea_decided(idea_id: int) -> None:
    notifications.email_idea_decided_send(idea_id=idea_id)


@shared_task
def notify_campaign_opened(campaign_id: int, after_id: int = 0) -> None:
    # One batch per task; the next batch is a new task, so a worker restart resumes
    # from the last id sent rather than from the beginning.
    next_after = notifications.email_campaign_opened_send(campaign_id=campaign_id, after_id=after_id)
    if next_after is not None:
        notify_campaign_opened.delay(campaign_id, next_after)


@shared_task
def notify_results_published(campaign_id: int, after_id: int = 0) -> None:
    next_after = notifications.email_results_published_send(campaign_id=campaign_id, after_id=after_id)
    if next_after is not None:
        notify_results_published.delay(campaign_id, next_after)
