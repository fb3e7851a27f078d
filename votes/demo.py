"""Demo voters for demos and load tests: verified residents of the open demo campaign's
municipality, with API tokens written to a file (`email,token` per line).

Fast for tens of thousands (one password hash computed once, bulk inserts) and
re-runnable: the e-mails are deterministic (voter000001@demo.local, ...), so running it
again with the same count adds nobody and writes the same file.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.accounts.models import User
from votes.models import Campaign

DEMO_DOMAIN = "demo.local"
DEMO_PASSWORD = "demo-voter-2026"  # noqa: S105 - documented demo credential, demo data only
BATCH = 2000


def demo_voter_email(number: int) -> str:
    return f"voter{number:06d}@{DEMO_DOMAIN}"


def _birth_date(number: int, today: datetime.date) -> datetime.date:
    """Ages 20..80, spread over the year, the same for the same voter number."""
    years = 20 + number % 61
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - datetime.timedelta(days=(number * 37) % 365)


def demo_voter_phone(number: int) -> str:
    return f"+7999{number:07d}"


def demo_voters_create(*, count: int, tokens_path: str | None) -> int:
    """Add up to `count` demo voters (those that exist are kept); return how many were added."""
    if count < 0:
        raise ValueError("count must be zero or more")
    campaign = Campaign.objects.open().select_related("municipality").order_by("pk").first()
    if campaign is None:
        raise ValueError("No campaign is open for voting: run seed_demo first (it opens the demo campaign).")
    municipality = campaign.municipality
    emails = [demo_voter_email(number) for number in range(1, count + 1)]
    now = timezone.now()
    today = timezone.localdate()

    with transaction.atomic():
        existing = set(User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").values_list("email", flat=True))
        password = make_password(DEMO_PASSWORD)
        new_users = [
            User(
                email=email,
                password=password,
                full_name=f"Демо-житель {number}",
                birth_date=_birth_date(number, today),
                municipality=municipality,
                verified_at=now,
                # Demo campaigns ask for a confirmed phone (Campaign.min_assurance).
                phone=demo_voter_phone(number),
                phone_verified_at=now,
                notify_by_email=False,
            )
            for number, email in enumerate(emails, start=1)
            if email not in existing
        ]
        User.objects.bulk_create(new_users, batch_size=BATCH)

        ids = dict(User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").values_list("email", "pk"))
        wanted = [ids[email] for email in emails]
        # allauth's record of the confirmed address, so demo voters can also log in on the web.
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user_id=ids[user.email], email=user.email, verified=True, primary=True)
                for user in new_users
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        with_token = set(
            Token.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}").values_list("user_id", flat=True)
        )
        Token.objects.bulk_create(
            [Token(user_id=pk, key=Token.generate_key()) for pk in wanted if pk not in with_token], batch_size=BATCH
        )

    if tokens_path:
        keys = dict(Token.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}").values_list("user_id", "key"))
        lines = (f"{email},{keys[ids[email]]}\n" for email in emails)
        Path(tokens_path).write_text("".join(lines), encoding="utf-8")
    return len(new_users)
