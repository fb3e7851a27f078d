import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from votes import ledger
from votes.models import Campaign, Tally


class Command(BaseCommand):
    help = (
        "Recount a downloaded ballot ledger (ledger.jsonl) with the campaign's rule and say whether it "
        "matches the published results. Exit code 0 on a match, 1 on a mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise CommandError(f"no such file: {file}") from exc
        lines = text.splitlines()
        problems = ledger.verify(lines)
        if not problems:
            problems = self._against_this_site(lines[0])
        if problems:
            for problem in problems:
                self.stdout.write(f"MISMATCH: {problem}")
            self.stdout.write(f"{file}: does NOT match the published results ({len(problems)} problems).")
            raise SystemExit(1)
        self.stdout.write(f"{file}: matches the published results.")

    def _against_this_site(self, header_line: str) -> list[str]:
        """When this site holds the campaign, the header must equal what it published."""
        header = json.loads(header_line)
        campaign = Campaign.objects.filter(pk=header["campaign"]).first()
        if campaign is None or campaign.results_published_at is None:
            return []
        final = Tally.objects.final_done().filter(campaign=campaign).first()
        if final is None:
            return []
        problems = []
        if final.ledger_head != header.get("head"):
            problems.append(f"the published head is {final.ledger_head}, the file says {header.get('head')}")
        published = {row.entry.external_id: row.selected for row in final.rows.select_related("entry")}
        in_file = {r["external_id"]: bool(r["selected"]) for r in header["results"]["entries"]}
        if published != in_file:
            problems.append("the results in the file differ from the results published on this site")
        return problems
