from fractions import Fraction
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes import pabulib, rules, services


class Command(BaseCommand):
    help = (
        "Create a closed campaign, with every vote as an imported ballot, from a pabulib .pb file. "
        "Irregularities are listed and stored on the campaign; what an official chooses (the rule of an "
        "'unknown' file, exclusive projects, the tie-break) comes from the options or <name>.portal.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--population", type=int, help="Population of the municipality, if it is created.")
        parser.add_argument("--rule", choices=rules.RULES, help="Count with this rule (flagged if not the file's).")
        parser.add_argument(
            "--reserve-share", type=Fraction, help="greedy-reserve: share of the next project's cost, e.g. 0.8."
        )
        parser.add_argument(
            "--exclusive",
            action="append",
            default=[],
            metavar="ID,ID[,ID]",
            help="Projects that exclude each other (repeat for several sets).",
        )
        parser.add_argument("--tie-break", choices=rules.TIE_BREAKS)
        parser.add_argument("--tie-seed", default="", help="The lottery's published seed (--tie-break lottery).")
        parser.add_argument("--sidecar", type=Path, help="Choices file (default: <name>.portal.json beside the file).")

    def handle(self, *args, file: Path, population: int | None, **options):
        try:
            election = pabulib.parse(file)
            side = options["sidecar"] or pabulib.sidecar_path(file)
            sidecar = pabulib.read_sidecar(side) if options["sidecar"] or side.is_file() else None
            choice = pabulib.resolve_rule(
                election,
                rule=options["rule"],
                reserve_share=options["reserve_share"],
                exclusive=[x.split(",") for x in options["exclusive"]],
                tie_break=options["tie_break"],
                tie_seed=options["tie_seed"],
                sidecar=sidecar,
            )
            campaign = services.campaign_import_pabulib(election=election, choice=choice, population=population)
        except FileNotFoundError as exc:
            raise CommandError(f"no such file: {exc.filename or file}") from exc
        except (pabulib.PabulibError, services.TallyError) as exc:
            raise CommandError(f"{file}: refused: {exc}") from exc
        for item in campaign.import_irregularities:
            where = f"line {item['line']}: " if item.get("line") is not None else ""
            self.stderr.write(f"{file.name}: irregular: {where}{item['message']}")
        self.stderr.write(
            f"Imported {file.name}: {campaign.entries.count()} entries, {campaign.ballots.count()} ballots, "
            f"rule {campaign.rule}"
            + (f" (the file says {campaign.imported_rule})" if campaign.imported_rule != campaign.rule else "")
            + f", {len(campaign.import_irregularities)} irregularities."
        )
        # The last line is the campaign id, for scripts.
        self.stdout.write(str(campaign.pk))
