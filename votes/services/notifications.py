"""The vote's e-mails: enqueued after commit by the services, sent in batches by Celery.

The enqueue helpers run inside the transaction of the decision that causes the e-mail,
and the message goes to the broker only once it commits (a rolled-back approval sends
nothing). The `email_*_send` functions run in the tasks of `votes.tasks`, with ids
(`votes.tasks` imports the services back: each side reads the other's names only when
called, so either module may be imported first).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from lib.mail import mail_message, mail_send
from lib.queue import task_send_on_commit
from portal.accounts.models import User, UserQuerySet
from portal.accounts.unsubscribe import unsubscribe_url
from projects.models import Proposal
from votes import tasks
from votes.models import Campaign, Idea, TurnoutNotice
from votes.turnout import turnout_of


def notifications_idea_decided_enqueue(*, idea: Idea) -> None:
    task_send_on_commit(tasks.notify_idea_decided, idea.pk)


def notifications_campaign_opened_enqueue(*, campaign: Campaign) -> None:
    """Called by `campaign_open`: tell eligible residents that they can vote."""
    task_send_on_commit(tasks.notify_campaign_opened, campaign.pk)


def notifications_results_published_enqueue(*, campaign: Campaign) -> None:
    """Called when results are published: tell the campaign's voters."""
    task_send_on_commit(tasks.notify_results_published, campaign.pk)


def _message(*, user: User, template: str, context: dict):
    return mail_message(
        to=user.email, template=template, context={**context, "user": user}, unsubscribe_url=unsubscribe_url(user)
    )


def email_idea_decided_send(*, idea_id: int) -> int:
    """Tell an idea's author that it was approved, merged or rejected."""
    idea = Idea.objects.select_related("campaign", "proposal__author", "proposal__merged_into").get(pk=idea_id)
    author = idea.proposal.author
    if author is None or not author.is_active or not author.notify_by_email:
        return 0
    if idea.proposal.status == Proposal.Status.SUBMITTED:
        return 0  # nothing decided (the decision was undone before the task ran)
    return mail_send(
        [_message(user=author, template="idea_decided", context={"idea": idea, "proposal": idea.proposal})]
    )


def _eligible_recipients(campaign: Campaign) -> Q:
    """Verified residents who may vote in `campaign` (age unknown is not excluded: the
    ballot itself checks it)."""
    today = timezone.localdate()
    try:
        born_before = today.replace(year=today.year - campaign.min_age)
    except ValueError:  # 29 February
        born_before = today.replace(year=today.year - campaign.min_age, day=28)
    where = Q(verified_at__isnull=False)
    if campaign.residence_scope == campaign.ResidenceScope.REGION:
        where &= Q(municipality__region_id=campaign.municipality.region_id)
    else:
        where &= Q(municipality_id=campaign.municipality_id)
    return where & (Q(birth_date__isnull=True) | Q(birth_date__lte=born_before))


def _batch(queryset: UserQuerySet, after_id: int, batch_size: int | None) -> tuple[list[User], int | None]:
    # A large town has hundreds of thousands of residents: one task must not hold a
    # worker (or an SMTP connection) for all of them.
    batch_size = batch_size or settings.NOTIFY_BATCH_SIZE
    users = list(queryset.filter(pk__gt=after_id).order_by("pk")[:batch_size])
    next_after = users[-1].pk if len(users) == batch_size else None
    return users, next_after


def email_campaign_opened_send(*, campaign_id: int, after_id: int = 0, batch_size: int | None = None) -> int | None:
    """Send one batch of "voting is open" e-mails; returns the id to continue after, or None."""
    campaign = Campaign.objects.select_related("municipality").get(pk=campaign_id)
    recipients = User.objects.mailable().filter(_eligible_recipients(campaign))
    users, next_after = _batch(recipients, after_id, batch_size)
    mail_send([_message(user=user, template="campaign_opened", context={"campaign": campaign}) for user in users])
    return next_after


def email_results_published_send(*, campaign_id: int, after_id: int = 0, batch_size: int | None = None) -> int | None:
    """Send one batch of "results are published" e-mails to the campaign's voters."""
    campaign = Campaign.objects.select_related("municipality").get(pk=campaign_id)
    voters = User.objects.mailable().filter(
        pk__in=campaign.participations.filter(voter__isnull=False).values("voter_id")
    )
    users, next_after = _batch(voters, after_id, batch_size)
    mail_send([_message(user=user, template="results_published", context={"campaign": campaign}) for user in users])
    return next_after


def email_turnout_behind_send(*, notice_id: int) -> int:
    """The e-mail of one turnout notice: the vote's turnout so far and its projection."""
    notice = TurnoutNotice.objects.select_related("campaign__municipality__region", "official").get(pk=notice_id)
    campaign = notice.campaign
    turnout = turnout_of(campaign, now=notice.sent_at)
    context = {"campaign": campaign, "turnout": turnout, "notice": notice}
    return mail_send([_message(user=notice.official, template="turnout_behind", context=context)])
