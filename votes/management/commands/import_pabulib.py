from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes import pabulib, services


class Command(BaseCommand):
    help = "Create a closed campaign, with every vote as an imported ballot, from a pabulib .pb file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--population", type=int, help="Population of the municipality, if it is created.")

    def handle(self, *args, file: Path, population: int | None, **options):
        try:
            election = pabulib.parse(file)
            campaign = services.campaign_import_pabulib(election=election, population=population)
        except FileNotFoundError as exc:
            raise CommandError(f"no such file: {file}") from exc
        except (pabulib.PabulibError, services.TallyError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        self.stderr.write(
            f"Imported {file.name}: {campaign.entries.count()} entries, {campaign.ballots.count()} ballots."
        )
        # The last line is the campaign id, for scripts.
        self.stdout.write(str(campaign.pk))
