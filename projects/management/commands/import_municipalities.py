from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.municipality_import import MunicipalityFileError, municipalities_parse
from projects.services import municipalities_import


class Command(BaseCommand):
    help = (
        "Create or update a region's municipal formations from a CSV file (format: "
        "projects/municipality_import.py; the Sverdlovsk region's is projects/data/municipalities/). "
        "Idempotent; a file with any error is refused whole, with its lines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot be read as UTF-8 text ({error})") from None
        try:
            result = municipalities_import(rows=municipalities_parse(text))
        except MunicipalityFileError as error:
            raise CommandError(f"{file} was not imported; nothing was written:\n" + "\n".join(error.problems)) from None
        self.stdout.write(f"{file}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
