"""manage.py commission_key CAMPAIGN --out DIR [--shares N --threshold K]

Makes the commission's key pair of a campaign before its vote opens: the public half is
stored on the campaign, the private half written to DIR for the commission (one file,
or N share files of which any K open a link) and never kept on the server. Hand the
files to the commission and delete them from this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes import sealing
from votes.models import Campaign
from votes.services.commission import commission_key_create
from votes.services.errors import CommissionKeyError


class Command(BaseCommand):
    help = "Make the commission's key pair of a campaign; write the private key (or its shares) for the commission."

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int)
        parser.add_argument("--out", required=True, help="an existing folder for the key files")
        parser.add_argument("--shares", type=int, default=0, help="split the private key into this many shares")
        parser.add_argument("--threshold", type=int, default=0, help="how many shares open a link")

    def handle(self, *args, campaign: int, out: str, shares: int, threshold: int, **options):
        folder = Path(out)
        if not folder.is_dir():
            raise CommandError(f"{out}: no such folder")
        if bool(shares) != bool(threshold) or (shares and not 2 <= threshold <= shares <= 255):
            raise CommandError("--shares N and --threshold K go together, with 2 <= K <= N <= 255")
        try:
            target = Campaign.objects.get(pk=campaign)
        except Campaign.DoesNotExist:
            raise CommandError(f"campaign {campaign} does not exist") from None
        try:
            pair = commission_key_create(campaign=target)
        except CommissionKeyError as error:
            raise CommandError(str(error.message)) from None
        if shares:
            texts = sealing.shares_text(target.pk, pair.private, threshold=threshold, count=shares)
            names = [f"campaign-{target.pk}-share-{n}-of-{shares}.key" for n in range(1, shares + 1)]
        else:
            texts = [sealing.key_text(target.pk, pair.private)]
            names = [f"campaign-{target.pk}-commission.key"]
        for name, text in zip(names, texts, strict=True):
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(text)
            self.stdout.write(str(path))
        self.stdout.write(f"public key {pair.public_hex} stored on campaign {target.pk}")
