"""Russian first, English second: the catalogue is complete, compiled and in effect; the
language switch keeps the page; amounts, numbers and dates follow the language."""

from __future__ import annotations

import ast
import datetime
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from portal.templatetags.portal_tags import rub
from tests.builders import (
    approve_verification,
    make_campaign,
    make_municipality,
    make_proposal,
    make_region,
    make_space,
)

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
RUSSIAN_PLURALS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def parse_po(text: str) -> list[Entry]:
    """A small .po reader: enough for the checks here (no polib in the requirements)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        entry = Entry()
        key = None
        values: dict[str, list[str]] = {}
        for line in block.splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
                continue
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
                continue
            if line.startswith("#"):
                continue
            match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (\".*\")$", line)
            if match:
                key = match.group(1)
                values[key] = [match.group(2)]
            elif line.startswith('"') and key:
                values[key].append(line)
        if "msgid" not in values:
            continue
        text_of = {k: "".join(ast.literal_eval(part) for part in parts) for k, parts in values.items()}
        entry.msgid = text_of["msgid"]
        entry.msgid_plural = text_of.get("msgid_plural")
        entry.msgstr = [text_of[k] for k in sorted(k for k in text_of if k.startswith("msgstr"))]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    assert CATALOGUE.exists(), f"{CATALOGUE} is missing: run `make messages-update`"
    return parse_po(CATALOGUE.read_text(encoding="utf-8"))


def test_the_reader_sees_untranslated_fuzzy_and_plural_entries() -> None:
    entries = parse_po(
        'msgid ""\nmsgstr "Language: ru\\n"\n\n'
        '#, fuzzy, python-format\nmsgid "Hello, %(name)s"\nmsgstr "Привет"\n\n'
        'msgid "Long "\n"text"\nmsgstr ""\n\n'
        'msgid "%(n)s point"\nmsgid_plural "%(n)s points"\nmsgstr[0] "%(n)s балл"\nmsgstr[1] ""\nmsgstr[2] "x"\n'
    )
    assert [e.msgid for e in entries] == ["", "Hello, %(name)s", "Long text", "%(n)s point"]
    assert "fuzzy" in entries[1].flags
    assert entries[2].msgstr == [""]
    assert entries[3].msgid_plural == "%(n)s points"
    assert entries[3].msgstr == ["%(n)s балл", "", "x"]


def test_every_msgid_is_translated_and_none_is_fuzzy(catalogue) -> None:
    header, *messages = catalogue
    assert header.msgid == ""
    assert "fuzzy" not in header.flags, "the header is marked fuzzy: msgfmt would ignore its plural forms"
    assert len(messages) > 600  # the whole portal, not an empty file
    untranslated = [e.msgid for e in messages if not e.obsolete and (not e.msgstr or not all(e.msgstr))]
    fuzzy = [e.msgid for e in messages if not e.obsolete and "fuzzy" in e.flags]
    assert not untranslated, "untranslated msgids (translate them in django.po):\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy msgids (check the translation, then drop the flag):\n" + "\n".join(fuzzy)


def test_russian_plurals_have_three_forms(catalogue) -> None:
    header, *messages = catalogue
    assert f"Plural-Forms: {RUSSIAN_PLURALS}" in header.msgstr[0].replace("\n", "")
    wrong = [e.msgid for e in messages if e.msgid_plural is not None and len(e.msgstr) != 3]
    assert not wrong, "plural msgids without one, few and many forms:\n" + "\n".join(wrong)


def test_placeholders_survive_the_translation(catalogue) -> None:
    placeholder = re.compile(r"%(?:\(\w+\))?[sd]|%%")
    wrong = []
    for entry in catalogue[1:]:
        expected = sorted(placeholder.findall(entry.msgid_plural or entry.msgid))
        wrong += [entry.msgid for form in entry.msgstr if sorted(placeholder.findall(form)) != expected]
    assert not wrong, "translations that lose or add a placeholder:\n" + "\n".join(wrong)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext (msgfmt) is not installed")
def test_the_catalogue_compiles_and_the_compiled_file_is_current() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    compiled = CATALOGUE.with_suffix(".mo")
    assert compiled.exists(), "django.mo is missing: run `make messages`"
    assert compiled.stat().st_mtime >= CATALOGUE.stat().st_mtime, "django.mo is older than django.po: `make messages`"


def test_russian_is_the_default_and_the_catalogue_is_in_effect() -> None:
    assert settings.LANGUAGE_CODE == "ru"
    with translation.override("ru"):
        assert translation.gettext("Proposals") == "Предложения"
        assert translation.ngettext("%(n)s point", "%(n)s points", 21) == "%(n)s балл"
        assert translation.ngettext("%(n)s point", "%(n)s points", 3) == "%(n)s балла"
        assert translation.ngettext("%(n)s point", "%(n)s points", 11) == "%(n)s баллов"
    with translation.override("en"):
        assert translation.gettext("Proposals") == "Proposals"


@pytest.fixture
def town():
    region = make_region(name="Свердловская область", slug="sve", code="RU-SVE")
    return make_municipality(region, name="Екатеринбург", slug="ekaterinburg")


@pytest.mark.django_db
def test_a_page_is_russian_by_default_and_english_with_the_cookie(town) -> None:
    make_campaign(town, title="Выбираем парки")
    russian = Client().get("/").content.decode()
    assert '<html lang="ru">' in russian
    assert "Выберите, что благоустроят в вашем городе" in russian
    assert "Идёт голосование" in russian
    assert "Choose what your town improves next" not in russian

    english_client = Client()
    english_client.cookies["django_language"] = "en"
    english = english_client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Choose what your town improves next" in english
    assert "Votes open now" in english
    assert "Выберите, что благоустроят" not in english


@pytest.mark.django_db
def test_the_admin_header_is_translated(django_user_model) -> None:
    admin = django_user_model.objects.create_superuser(email="root@example.org", password="x-secret-1")
    client = Client()
    client.force_login(admin)
    assert "Портал «Формирование комфортной городской среды»" in client.get("/admin/").content.decode()
    client.cookies["django_language"] = "en"
    assert "Portal: comfortable urban environment" in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_the_language_switch_keeps_the_current_page(town) -> None:
    proposal = make_proposal(make_space(town))
    client = Client()
    page = client.get(proposal.get_absolute_url() + "?tab=discussion").content.decode()
    # The switch in the header links to /lang/<code>/ with the page's own address as `next`,
    # and carries no CSRF token: public pages are the same for every visitor.
    next_param = quote(f"{proposal.get_absolute_url()}?tab=discussion", safe="")
    assert f'href="/lang/en/?next={next_param}" hreflang="en" lang="en"' in page
    assert 'title="English">EN</a>' in page
    assert 'title="Русский">RU</a>' in page
    assert "csrfmiddlewaretoken" not in page

    response = client.get("/lang/en/", {"next": proposal.get_absolute_url()})
    assert response.status_code == 302
    assert response["Location"] == proposal.get_absolute_url()
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    english = client.get(response["Location"]).content.decode()
    assert '<html lang="en">' in english
    assert "Estimated cost" in english
    assert 'aria-current="true" title="English">EN</a>' in english

    back = client.get("/lang/ru/", {"next": proposal.get_absolute_url()})
    assert back["Location"] == proposal.get_absolute_url()
    assert "Сметная стоимость" in client.get(back["Location"]).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("outside", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""])
def test_the_language_switch_refuses_an_outside_next(outside) -> None:
    response = Client().get("/lang/en/", {"next": outside})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.django_db
def test_the_language_switch_refuses_an_unknown_language() -> None:
    response = Client().get("/lang/de/", {"next": "/"})
    assert response.status_code == 404
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_roubles_are_grouped_for_the_language() -> None:
    with translation.override("ru"):
        assert rub(Decimal(1_500_000)) == "1\xa0500\xa0000\xa0₽"
        assert rub(Decimal("1500000.5")) == "1\xa0500\xa0000,50\xa0₽"
        assert rub(None) == ""
    with translation.override("en"):
        assert rub(Decimal(1_500_000)) == "1,500,000 ₽"
        assert rub(Decimal("1500000.5")) == "1,500,000.50 ₽"


def test_dates_and_numbers_follow_the_language() -> None:
    template = Template('{{ when|date:"j E Y" }} · {{ count|floatformat:"0g" }} · {{ share|floatformat:1 }}')
    context = Context({"when": datetime.date(2026, 3, 5), "count": 27000, "share": 12.34})
    with translation.override("ru"):
        assert template.render(context) == "5 марта 2026 · 27\xa0000 · 12,3"  # genitive month
    with translation.override("en"):
        assert template.render(context) == "5 March 2026 · 27,000 · 12.3"


@pytest.mark.django_db
def test_the_results_page_formats_amounts_and_counts_for_the_language() -> None:
    from tests.votes.counting_fixtures import campaign, cast
    from votes import services

    counted = campaign(costs={"a": 1_500_000, "b": 900_000}, budget=2_500_000)
    cast(counted, "v1", {"a": 1, "b": 1})
    services.tally_compute(campaign_id=counted.pk, final=True)
    services.ledger_seal(campaign_id=counted.pk)
    approve_verification(counted)
    services.results_publish(campaign=counted)
    url = f"/campaigns/{counted.pk}/results/"

    russian = Client().get(url).content.decode()
    assert "2\xa0500\xa0000\xa0₽" in russian  # the budget
    assert "из 1\xa0000 жителей" in russian  # the population, grouped
    english_client = Client()
    english_client.cookies["django_language"] = "en"
    english = english_client.get(url).content.decode()
    assert "2,500,000 ₽" in english
    assert "of 1,000 residents" in english
