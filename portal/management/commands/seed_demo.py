from django.conf import settings
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
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run on production settings (DEBUG=0) anyway: a throwaway demo or load-test database only.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_DATA_ALLOWED and not options["allow_production"]:
            # Before anything touches the database.
            raise CommandError(
                "seed_demo writes demo accounts with published passwords (and a superuser) and must not run on "
                "production settings (DEBUG=0). If this database is a throwaway demo or a load test, run it again "
                "with --allow-production."
            )
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
