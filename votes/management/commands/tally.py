from django.core.management.base import BaseCommand, CommandError

from votes import services
from votes.models import Campaign


def _plain(value) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


class Command(BaseCommand):
    help = "Count a campaign now, in the foreground (the Celery tasks' services); --final also seals the ledger."

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int)
        parser.add_argument("--final", action="store_true", help="The final tally (the campaign must be closed).")

    def handle(self, *args, campaign: int, final: bool, **options):
        if not Campaign.objects.filter(pk=campaign).exists():
            raise CommandError(f"no campaign {campaign}")
        try:
            tally = services.tally_compute(campaign_id=campaign, final=final)
            if final:
                # In the foreground too: the final tally is only publishable once sealed.
                tally.ledger_head = services.ledger_seal(campaign_id=campaign)
        except services.TallyError as exc:
            raise CommandError(str(exc)) from exc
        rows = tally.rows.select_related("entry__proposal").filter(selected=True).order_by("rank")
        for row in rows:
            self.stdout.write(
                f"{row.entry.external_id}\t{row.entry.cost}\t{row.votes}\t{_plain(row.score)}\t{row.entry}"
            )
        self.stdout.write(
            f"{tally.kind} tally of campaign {campaign}: {tally.ballots_counted} ballots, "
            f"{rows.count()} selected, budget used {tally.budget_used}"
            + (f", ledger head {tally.ledger_head}" if tally.ledger_head else "")
        )
