"""manage.py participation_open PARTICIPATION --key FILE [FILE ...] --reason TEXT

Opens the sealed link of one named participation with the commission's key (or k of its
shares) and prints the receipt hash of its ballot, i.e. its line in the public ledger,
so that the commission can annul that ballot. Audited; opens nothing else.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes.models import Participation
from votes.services.commission import participation_link_open
from votes.services.errors import CommissionKeyError


class Command(BaseCommand):
    help = "Open the sealed link of one participation with the commission's key; print its ballot's receipt hash."

    def add_arguments(self, parser):
        parser.add_argument("participation", type=int)
        parser.add_argument("--key", nargs="+", required=True, help="the key file, or k share files")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, participation: int, key: list[str], reason: str, **options):
        try:
            named = Participation.objects.select_related("campaign__municipality").get(pk=participation)
        except Participation.DoesNotExist:
            raise CommandError(f"participation {participation} does not exist") from None
        try:
            texts = [Path(name).read_text(encoding="ascii") for name in key]
        except OSError as error:
            raise CommandError(str(error)) from None
        try:
            receipt = participation_link_open(participation=named, key_texts=texts, reason=reason)
        except CommissionKeyError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(receipt)
