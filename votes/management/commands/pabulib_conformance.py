"""Count pabulib files as the portal would import them and compare with the official winners."""

from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from votes import pabulib, rules

MATCH, DIFFER, NO_WINNERS, REFUSED = "MATCH", "DIFFER", "NO-WINNERS", "REFUSED"


def _ids(ids) -> str:
    return ",".join(sorted(ids)) or "-"


def conformance_line(path: Path) -> tuple[str, str, dict]:
    """(status, the file's line, facts) for one file: parsed, its rule resolved with its
    sidecar, counted with the tally service's parameters (``pabulib.count``)."""
    try:
        election, choice = pabulib.load_choice(path)
        data, outcome = pabulib.count(election, choice)
    except pabulib.PabulibError as exc:
        return REFUSED, f"{REFUSED}\t{path.name}\t{exc.code}: {exc}", {"code": exc.code}
    kinds = Counter(n.code for n in election.irregularities)
    irregular = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(kinds.items())) or "none"
    rule = choice.rule if choice.rule == choice.file_rule else f"{choice.rule} (file: {choice.file_rule})"
    extras = []
    if choice.groups:
        extras.append(f"groups {len(set(choice.groups.values()))}")
    if choice.tie_break != rules.TIE_LOWER_ID:
        extras.append(f"ties {choice.tie_break}")
    if data.threshold is not None and choice.rule in rules.GREEDY_RULES:
        extras.append(f"threshold {data.threshold}")
    head = (
        f"{path.name}\trule {rule}{' [' + '; '.join(extras) + ']' if extras else ''}\t"
        f"{len(election.votes)} voters, {len(election.projects)} projects\tirregular: {irregular}"
    )
    facts: dict[str, object] = {"irregular": bool(election.irregularities), "flagged": choice.flagged}
    portal = set(outcome.selected) - set(outcome.selected_by_reserve)
    reserve = set(outcome.selected_by_reserve)
    if "selected" not in election.project_columns:
        return NO_WINNERS, f"{NO_WINNERS}\t{head}\tportal {_ids(portal)}", facts
    official = {p["project_id"] for p in election.projects if p.get("selected") == "1"}
    official_reserve = {p["project_id"] for p in election.projects if p.get("selected") == "2"}
    same = portal == official and (choice.rule != rules.GREEDY_RESERVE or reserve == official_reserve)
    line = f"{head}\tofficial {_ids(official)}\tportal {_ids(portal)}"
    if choice.rule == rules.GREEDY_RESERVE:
        line += f"\treserve official {_ids(official_reserve)} portal {_ids(reserve)}"
    if same:
        return MATCH, f"{MATCH}\t{line}", facts
    # A hint for the official: would another tie-break reproduce the city's choice?
    for tie in (rules.TIE_MORE_VOTES, rules.TIE_CHEAPER, rules.TIE_DEARER):
        if tie == choice.tie_break:
            continue
        choice.tie_break = tie
        _, other = pabulib.count(election, choice)
        if set(other.selected) - set(other.selected_by_reserve) == official:
            facts["tie_hint"] = tie
            line += f"\t(matches with tie-break {tie})"
            break
    return DIFFER, f"{DIFFER}\t{line}", facts


class Command(BaseCommand):
    help = (
        "Count every .pb file of DIR... as the portal would import it (sidecar choices included) and compare "
        "with the official winners: one line per file, then a summary. Without DIR: $PABULIB_DIR, else the "
        "repository's samples (tests/data/pabulib and its more/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dirs", nargs="*", type=Path, metavar="DIR")

    def handle(self, *args, dirs: list[Path], **options):
        if not dirs:
            sample = Path(settings.BASE_DIR) / "tests" / "data" / "pabulib"
            dirs = [Path(settings.PABULIB_DIR)] if settings.PABULIB_DIR else [sample, sample / "more"]
        files: list[Path] = []
        for place in dirs:
            if place.is_file():
                files.append(place)
            elif place.is_dir():
                files += sorted(place.glob("*.pb"))
            else:
                raise CommandError(f"no such file or directory: {place}")
        counts: Counter[str] = Counter()
        irregular = flagged = tie_hints = 0
        for path in files:
            status, line, facts = conformance_line(path)
            counts[status] += 1
            irregular += bool(facts.get("irregular"))
            flagged += bool(facts.get("flagged"))
            tie_hints += "tie_hint" in facts
            self.stdout.write(line)
        compared = counts[MATCH] + counts[DIFFER]
        rate = f"{100 * counts[MATCH] / compared:.1f} %" if compared else "n/a"
        imported = len(files) - counts[REFUSED]
        self.stdout.write(
            f"SUMMARY\t{len(files)} files: {imported} imported ({irregular} with irregularities, {flagged} with a rule "
            f"written in words or chosen), {counts[REFUSED]} refused; official winners reproduced in "
            f"{counts[MATCH]} of {compared} files that record winners under a supported rule ({rate}); "
            f"{counts[DIFFER]} differ ({tie_hints} would match with another tie-break); "
            f"{counts[NO_WINNERS]} record no winners."
        )
