"""Reading a region's list of municipal formations from CSV (`manage.py import_municipalities`).

The file (UTF-8, comma-separated, a header line) has one municipal formation a line:

    region_code   ISO 3166-2 code of the region (RU-SVE)           required
    region_name   its name, used when the region is new             required
    name          the formation's name as the portal shows it       required
    kind          городской округ | муниципальный округ | муниципальный район |
                  городское поселение | сельское поселение (or the codes
                  urban_okrug, municipal_okrug, ...)                 required
    district      for a settlement: the name of its district (a municipal district of the same file)
    oktmo         8 digits (11 for a settlement)                    empty: not known
    population    residents, a whole number                         empty: not known
    slug          its address on the portal                         empty: made from the name
    latitude, longitude  of its centre, for maps                    optional

`municipalities_parse` reads and checks the whole file first and reports every problem
with its line; `projects.services.municipalities_import` then writes it in one
transaction. A formation is found again by its slug, else its OKTMO code, else its name
in the region, so importing the same file twice changes nothing; an empty optional cell
leaves what is stored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from projects.models import Municipality

REQUIRED_COLUMNS = ("region_code", "region_name", "name", "kind")
OPTIONAL_COLUMNS = ("district", "oktmo", "population", "slug", "latitude", "longitude")

KIND_WORDS: dict[str, str] = {
    "городской округ": Municipality.Kind.URBAN_OKRUG,
    "муниципальный округ": Municipality.Kind.MUNICIPAL_OKRUG,
    "муниципальный район": Municipality.Kind.MUNICIPAL_DISTRICT,
    "городское поселение": Municipality.Kind.URBAN_SETTLEMENT,
    "сельское поселение": Municipality.Kind.RURAL_SETTLEMENT,
    **{value: value for value in Municipality.Kind.values},
}
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LATIN = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya"
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN.split(), strict=True))


def slug_from_name(name: str) -> str:
    """ "Верхняя Пышма" -> "verkhnyaya-pyshma" (the portal's slugs are Latin)."""
    letters = "".join(_TRANSLIT.get(char, char) if char != "-" else " " for char in name.lower().replace("ъ", ""))
    letters = letters.replace("-", "")
    return re.sub(r"[^a-z0-9]+", "-", letters).strip("-")[:100]


@dataclass(frozen=True)
class MunicipalityRow:
    line: int
    region_code: str
    region_name: str
    name: str
    kind: str
    district: str
    oktmo: str | None
    population: int | None
    slug: str
    slug_given: bool
    latitude: Decimal | None
    longitude: Decimal | None


class MunicipalityFileError(Exception):
    """The file cannot be imported; `problems` are "line N: what" sentences."""

    code = "invalid_municipality_file"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _coordinate(text: str, limit: int, line: int, column: str, problems: list[str]) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) > limit:
        problems.append(
            _("line %(line)d: %(column)s %(value)r is not a number from -%(limit)d to %(limit)d")
            % {"line": line, "column": column, "value": text, "limit": limit}
        )
        return None
    return value.quantize(Decimal("0.000001"))


def municipalities_parse(text: str) -> list[MunicipalityRow]:
    """Every row of the file, checked; raises MunicipalityFileError listing all problems."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip() for column in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise MunicipalityFileError(
            [_("line 1: the header lacks the columns %(columns)s") % {"columns": ", ".join(missing)}]
        )
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise MunicipalityFileError([_("line 1: unknown columns %(columns)s") % {"columns": ", ".join(unknown)}])
    problems: list[str] = []
    rows: list[MunicipalityRow] = []
    for record in reader:
        line = reader.line_num
        cells = {key.strip(): (value or "").strip() for key, value in record.items() if key is not None}
        if None in record:
            problems.append(_("line %(line)d: more fields than the header has") % {"line": line})
            continue
        if not any(cells.values()):
            continue  # a blank line
        for column in REQUIRED_COLUMNS:
            if not cells.get(column):
                problems.append(_("line %(line)d: %(column)s is empty") % {"line": line, "column": column})
        kind = KIND_WORDS.get(cells.get("kind", "").lower())
        if cells.get("kind") and kind is None:
            problems.append(
                _("line %(line)d: unknown kind %(kind)r (one of: %(kinds)s)")
                % {"line": line, "kind": cells["kind"], "kinds": ", ".join(list(KIND_WORDS)[:5])}
            )
        oktmo = cells.get("oktmo", "").replace(" ", "") or None
        if oktmo is not None and not re.fullmatch(r"[0-9]{8}|[0-9]{11}", oktmo):
            problems.append(
                _("line %(line)d: OKTMO code %(code)r is not 8 or 11 digits") % {"line": line, "code": cells["oktmo"]}
            )
        population = None
        text_population = cells.get("population", "").replace(" ", "").replace("\u00a0", "")
        if text_population:
            if text_population.isdigit() and int(text_population) > 0:
                population = int(text_population)
            else:
                problems.append(
                    _("line %(line)d: population %(value)r is not a positive whole number")
                    % {"line": line, "value": cells["population"]}
                )
        slug = cells.get("slug", "")
        if slug and not _SLUG.match(slug):
            problems.append(
                _("line %(line)d: slug %(slug)r may hold only small Latin letters, digits and hyphens")
                % {"line": line, "slug": slug}
            )
        settlement = kind in Municipality.SETTLEMENT_KINDS
        district = cells.get("district", "")
        if settlement and not district:
            problems.append(_("line %(line)d: a settlement names its municipal district") % {"line": line})
        if district and kind is not None and not settlement:
            problems.append(_("line %(line)d: only a settlement lies in a district") % {"line": line})
        rows.append(
            MunicipalityRow(
                line=line,
                region_code=cells.get("region_code", ""),
                region_name=cells.get("region_name", ""),
                name=cells.get("name", ""),
                kind=kind or "",
                district=district,
                oktmo=oktmo,
                population=population,
                slug=slug or slug_from_name(cells.get("name", "")),
                slug_given=bool(slug),
                latitude=_coordinate(cells.get("latitude", ""), 90, line, "latitude", problems),
                longitude=_coordinate(cells.get("longitude", ""), 180, line, "longitude", problems),
            )
        )
    problems += _cross_check(rows)
    if problems:
        raise MunicipalityFileError(problems)
    if not rows:
        raise MunicipalityFileError([_("the file lists no municipal formation")])
    return rows


def _cross_check(rows: list[MunicipalityRow]) -> list[str]:
    """Names, slugs and OKTMO codes once each; districts named by settlements exist."""
    problems = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        for what, value in (("name", f"{row.region_code}:{row.name}"), ("slug", row.slug), ("oktmo", row.oktmo)):
            if not value:
                continue
            first = seen.setdefault((what, value), row.line)
            if first != row.line:
                problems.append(
                    _("line %(line)d: %(what)s %(value)r is already on line %(first)d")
                    % {"line": row.line, "what": what, "value": value.split(":")[-1], "first": first}
                )
    districts = {(row.region_code, row.name) for row in rows if row.kind == Municipality.Kind.MUNICIPAL_DISTRICT}
    for row in rows:
        if row.district and (row.region_code, row.district) not in districts:
            problems.append(
                _("line %(line)d: district %(district)r is not a municipal district of this file")
                % {"line": row.line, "district": row.district}
            )
    return problems
