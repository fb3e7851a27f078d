"""E-mail notifications: render (text + HTML) and send, with a working unsubscribe link.

Celery tasks in `portal.tasks` call these with ids; the enqueue helpers that schedule
them after commit live in `votes.services` (`notifications_*_enqueue`). Every message
carries a signed, non-expiring unsubscribe link (no login needed) and the
List-Unsubscribe headers, so mail clients can offer one-click unsubscribing.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from portal.accounts.models import User
from portal.accounts.services import PHONE_ONLY_EMAIL_DOMAIN

UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"


def unsubscribe_token(user: User) -> str:
    # The e-mail is signed too, so a link stops working if the account changes hands.
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_user_from_token(token: str) -> User | None:
    """The user a token was made for, or None for a tampered or stale token."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    if user is None or user.email.lower() != data.get("e"):
        return None
    return user


def unsubscribe_url(user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accounts:unsubscribe", args=[unsubscribe_token(user)])


def _message(*, user: User, template: str, context: dict) -> EmailMultiAlternatives:
    link = unsubscribe_url(user)
    context = {**context, "user": user, "unsubscribe_url": link, "SITE_URL": settings.SITE_URL.rstrip("/")}
    # Residents read the portal in Russian by default; the e-mail follows the site language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(html, "text/html")
    return message


def _send(messages: list[EmailMultiAlternatives]) -> int:
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def email_idea_decided_send(*, idea_id: int) -> int:
    """Tell an idea's author that it was approved, merged or rejected."""
    from projects.models import Proposal
    from votes.models import Idea

    idea = Idea.objects.select_related("campaign", "proposal__author", "proposal__merged_into").get(pk=idea_id)
    author = idea.proposal.author
    if author is None or not author.is_active or not author.notify_by_email:
        return 0
    if idea.proposal.status == Proposal.Status.SUBMITTED:
        return 0  # nothing decided (the decision was undone before the task ran)
    return _send([_message(user=author, template="idea_decided", context={"idea": idea, "proposal": idea.proposal})])


def mailable() -> Q:
    """Users who want our e-mail and have a mailbox (residents a volunteer met by phone do not)."""
    return Q(is_active=True, notify_by_email=True) & ~Q(email__iendswith=f"@{PHONE_ONLY_EMAIL_DOMAIN}")


def campaign_eligible_recipients(campaign) -> Q:
    """Residents who may vote in `campaign` and want e-mail (age unknown is not excluded:
    the ballot itself checks it)."""
    today = timezone.localdate()
    try:
        born_before = today.replace(year=today.year - campaign.min_age)
    except ValueError:  # 29 February
        born_before = today.replace(year=today.year - campaign.min_age, day=28)
    where = mailable() & Q(verified_at__isnull=False)
    if campaign.residence_scope == campaign.ResidenceScope.REGION:
        where &= Q(municipality__region_id=campaign.municipality.region_id)
    else:
        where &= Q(municipality_id=campaign.municipality_id)
    return where & (Q(birth_date__isnull=True) | Q(birth_date__lte=born_before))


def _batch(queryset, after_id: int, batch_size: int | None) -> tuple[list[User], int | None]:
    # A large town has hundreds of thousands of residents: one task must not hold a
    # worker (or an SMTP connection) for all of them.
    batch_size = batch_size or settings.NOTIFY_BATCH_SIZE
    users = list(queryset.filter(pk__gt=after_id).order_by("pk")[:batch_size])
    next_after = users[-1].pk if len(users) == batch_size else None
    return users, next_after


def email_campaign_opened_send(*, campaign_id: int, after_id: int = 0, batch_size: int | None = None) -> int | None:
    """Send one batch of "voting is open" e-mails; returns the id to continue after, or None."""
    from votes.models import Campaign

    campaign = Campaign.objects.select_related("municipality").get(pk=campaign_id)
    users, next_after = _batch(User.objects.filter(campaign_eligible_recipients(campaign)), after_id, batch_size)
    _send([_message(user=user, template="campaign_opened", context={"campaign": campaign}) for user in users])
    return next_after


def email_results_published_send(*, campaign_id: int, after_id: int = 0, batch_size: int | None = None) -> int | None:
    """Send one batch of "results are published" e-mails to the campaign's voters."""
    from votes.models import Campaign

    campaign = Campaign.objects.select_related("municipality").get(pk=campaign_id)
    voters = User.objects.filter(mailable(), pk__in=campaign.ballots.filter(voter__isnull=False).values("voter_id"))
    users, next_after = _batch(voters, after_id, batch_size)
    _send([_message(user=user, template="results_published", context={"campaign": campaign}) for user in users])
    return next_after
