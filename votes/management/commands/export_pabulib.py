import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes import pabulib
from votes.models import Campaign
from votes.results import campaign_election


class Command(BaseCommand):
    help = "Write a campaign as a pabulib .pb file (with the final tally, if done)."

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int)
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: standard output).")

    def handle(self, *args, campaign: int, output: Path | None, **options):
        obj = Campaign.objects.select_related("municipality__region").filter(pk=campaign).first()
        if obj is None:
            raise CommandError(f"no campaign {campaign}")
        text = pabulib.dump(campaign_election(obj))
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
