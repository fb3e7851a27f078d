from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.demo import seed_demo
from votes.demo import demo_voters_create


class Command(BaseCommand):
    help = (
        "Create the demo data (Sverdlovsk region, spaces, proposals, an open and a closed campaign, "
        "one user of each role). Idempotent: running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--voters", type=int, default=None, help="Also create N demo voters (for load tests).")
        parser.add_argument("--tokens", default=None, help="With --voters: write the voters' API tokens to FILE.")

    def handle(self, *args, **options) -> None:
        voters, tokens = options["voters"], options["tokens"]
        if (voters is None) != (tokens is None):
            raise CommandError("--voters and --tokens go together: --voters N --tokens FILE")
        if voters is not None and voters < 1:
            raise CommandError("--voters must be a positive number")

        summary = seed_demo()
        self.stdout.write(
            f"Demo data: {summary.municipalities} municipalities, {summary.spaces} spaces, "
            f"{summary.proposals} proposals, {summary.campaigns} campaigns, {summary.ballots} ballots, "
            f"{summary.users} users."
        )
        if voters is not None:
            demo_voters_create(count=voters, tokens_path=tokens)
            self.stdout.write(f"Demo voters: {voters}, tokens written to {tokens}.")
