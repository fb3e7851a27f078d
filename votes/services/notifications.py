"""Enqueue helpers for the vote's e-mails.

The e-mails go out from Celery, and only once the transaction that caused them has
committed (a rolled-back approval sends nothing).
"""

from __future__ import annotations

from portal.queue import task_send_on_commit
from votes.models import Campaign, Idea


def notifications_idea_decided_enqueue(*, idea: Idea) -> None:
    from portal import tasks

    idea_id = idea.pk
    task_send_on_commit(tasks.notify_idea_decided, idea_id)


def notifications_campaign_opened_enqueue(*, campaign: Campaign) -> None:
    """Called by `campaign_open`: tell eligible residents that they can vote."""
    from portal import tasks

    campaign_id = campaign.pk
    task_send_on_commit(tasks.notify_campaign_opened, campaign_id)


def notifications_results_published_enqueue(*, campaign: Campaign) -> None:
    """Called when results are published: tell the campaign's voters."""
    from portal import tasks

    campaign_id = campaign.pk
    task_send_on_commit(tasks.notify_results_published, campaign_id)
