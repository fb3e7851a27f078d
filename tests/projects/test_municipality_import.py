"""`manage.py import_municipalities FILE`: any region's municipal formations from CSV,
idempotently, with every problem of a bad file reported by line and nothing written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from projects.models import Municipality, Region
from projects.municipality_import import MunicipalityFileError, municipalities_parse, slug_from_name
from projects.services import municipalities_import
from tests.builders import make_municipality, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english():
    # The problems are read here in English; the portal's pages and commands translate them.
    with translation.override("en"):
        yield


REPOSITORY_FILE = Path(__file__).resolve().parents[2] / "projects" / "data" / "municipalities" / "ru-sve.csv"
HEADER = "region_code,region_name,name,kind,district,oktmo,population,slug\n"


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("import_municipalities", str(path), stdout=out)
    return out.getvalue()


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "municipalities.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_the_repositorys_file_loads_every_formation_of_the_region_and_again_changes_nothing() -> None:
    assert "94 created, 0 updated, 0 unchanged" in run(REPOSITORY_FILE)
    rows = list(Municipality.objects.order_by("pk").values())
    assert "0 created, 0 updated, 94 unchanged" in run(REPOSITORY_FILE)
    assert list(Municipality.objects.order_by("pk").values()) == rows
    taborinsky = Municipality.objects.get(slug="taborinsky-rayon")
    assert taborinsky.kind == "municipal_district"
    assert sorted(taborinsky.settlements.values_list("kind", flat=True)) == ["rural_settlement"] * 3
    assert Region.objects.get().code == "RU-SVE"


def test_a_formation_already_stored_keeps_its_id_and_slug_and_gets_the_files_figures(region) -> None:
    ekaterinburg = make_municipality(region, name="Екатеринбург", slug="ekaterinburg", population=1, oktmo="65799999")
    run(REPOSITORY_FILE)
    ekaterinburg.refresh_from_db()
    assert (ekaterinburg.slug, ekaterinburg.population, ekaterinburg.oktmo) == ("ekaterinburg", 1527525, "65701000")
    assert Municipality.objects.filter(name="Екатеринбург").count() == 1


def test_another_regions_file_loads_beside_and_an_empty_cell_keeps_what_is_stored(tmp_path) -> None:
    run(REPOSITORY_FILE)
    path = write(
        tmp_path,
        "RU-CHE,Челябинская область,Челябинск,городской округ,,75701000,1177058,chelyabinsk\n"
        "RU-CHE,Челябинская область,Аргаяшский муниципальный район,municipal_district,,,,\n"
        "RU-CHE,Челябинская область,Аргаяшское сельское поселение,сельское поселение,"
        "Аргаяшский муниципальный район,,,\n",
    )
    assert "3 created" in run(path)
    chelyabinsk = Region.objects.get(code="RU-CHE")
    assert chelyabinsk.municipalities.count() == 3
    assert Municipality.objects.get(name="Аргаяшский муниципальный район").slug == "argayashskiy-munitsipalnyy-rayon"
    assert Municipality.objects.filter(region__code="RU-SVE").count() == 94
    path.write_text(HEADER + "RU-CHE,Челябинская область,Челябинск,городской округ,,,,chelyabinsk\n", encoding="utf-8")
    assert "0 created, 0 updated, 1 unchanged" in run(path)
    assert Municipality.objects.get(slug="chelyabinsk").population == 1177058


def test_codes_corrected_between_two_formations_swap_in_one_import(tmp_path, region) -> None:
    make_municipality(region, name="Первый", slug="first", oktmo="65711000")
    make_municipality(region, name="Второй", slug="second", oktmo="65722000")
    path = write(
        tmp_path,
        "RU-SVE,Свердловская область,Первый,городской округ,,65722000,100,first\n"
        "RU-SVE,Свердловская область,Второй,городской округ,,65711000,200,second\n",
    )
    assert "0 created, 2 updated" in run(path)
    assert dict(Municipality.objects.values_list("slug", "oktmo")) == {"first": "65722000", "second": "65711000"}


def test_every_problem_of_a_bad_file_is_reported_by_line_and_nothing_is_written(tmp_path) -> None:
    path = write(
        tmp_path,
        "RU-SVE,Свердловская область,Город,городской окр,,123,-5,Bad Slug\n"
        "RU-SVE,Свердловская область,Посёлок,сельское поселение,,,,\n"
        "RU-SVE,,Город,городской округ,,,10,\n",
    )
    with pytest.raises(CommandError, match="nothing was written") as raised:
        run(path)
    assert raised.value.returncode == 1
    message = str(raised.value)
    for expected in [
        "line 2: unknown kind 'городской окр'",
        "line 2: OKTMO code '123' is not 8 or 11 digits",
        "line 2: population '-5' is not a positive whole number",
        "line 2: slug 'Bad Slug' may hold only small Latin letters, digits and hyphens",
        "line 3: a settlement names its municipal district",
        "line 4: region_name is empty",
        "line 4: name 'Город' is already on line 2",
    ]:
        assert expected in message
    assert not Municipality.objects.exists()
    assert not Region.objects.exists()


def test_a_header_without_the_required_columns_is_refused_with_its_code() -> None:
    with pytest.raises(MunicipalityFileError) as raised:
        municipalities_parse("name,population\nЕкатеринбург,1\n")
    assert raised.value.code == "invalid_municipality_file"
    assert raised.value.problems == ["line 1: the header lacks the columns region_code, region_name, kind"]


def test_a_code_held_by_a_formation_the_file_does_not_describe_is_refused(region) -> None:
    make_municipality(make_region(), name="Чужой", slug="stranger", oktmo="65701000")
    rows = municipalities_parse(HEADER + "RU-SVE,Свердловская область,Екатеринбург,городской округ,,65701000,1,\n")
    with pytest.raises(MunicipalityFileError) as raised:
        municipalities_import(rows=rows)
    assert raised.value.code == "invalid_municipality_file"
    assert raised.value.problems == ["line 2: OKTMO code 65701000 belongs to Чужой"]
    assert not Municipality.objects.filter(name="Екатеринбург").exists()


def test_slugs_are_made_from_russian_names() -> None:
    assert slug_from_name("Каменск-Уральский") == "kamensk-uralskiy"
    assert slug_from_name("Берёзовский городской округ") == "berezovskiy-gorodskoy-okrug"
