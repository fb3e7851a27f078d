"""Every admin page reads as Russian: a superuser walks each model's list, add, change,
delete and history pages on demo-like data and meets no English word (beyond a short
list of proper nouns and codes) and none of the broken phrases Django builds from
verbose names («Просмотреть идея», «19 предложения»)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Comment, CommentReport, EmbedOrigin, ProgressUpdate, Proposal
from tests.builders import make_ballot, make_campaign, make_entry, make_proposal, make_space, make_user
from votes.models import Idea, Tally, TallyRow, VoteGroup

pytestmark = pytest.mark.django_db

# Proper nouns, codes and formats that stay as they are in Russian pages.
ALLOWED = {
    "ID", "OKTMO", "URL", "JSON", "CSV", "XLSX", "PDF", "SHA", "API", "HTML", "WebP", "JPEG", "PNG", "Django",
    "Leaflet", "OpenStreetMap", "pabulib", "OIDC", "Borda", "Dowdall", "https", "http", "www", "ekb", "iframe",
    "Control", "Command", "Mac",  # keys, in Django's hint for multiple choice
    "manage", "commission_key", "out",  # the command an official runs, quoted verbatim
}  # fmt: skip
# What Django builds from a noun in the nominative case, and what reads broken in Russian.
BROKEN = [
    re.compile(r"Просмотреть (?!выбранн|или)\w+"),
    re.compile(r"Выберите \w+ для (просмотра|изменения)"),
    re.compile(r"Удаление (голосование|идея|предложение)"),
    re.compile(r"Добавить еще один"),
    re.compile(r"\b\d+ (предложения|голосования|идеи|комментарии|бюллетени|пользователи|фотографии)\b"),
    re.compile(r"Добавить (идея|фотография|территория|пространство|группа)"),
    re.compile(r"Нарушено ограничение"),
]


class VisibleText(HTMLParser):
    SKIP = {"script", "style", "template", "textarea"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        values = dict(attrs)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses
    text = re.sub(r"\b[0-9a-f]{16,}\b", " ", text)  # receipt hashes, seeds
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\w+\*+", " ", text)  # the password hash's masked salt
    return text


def english_words(text: str) -> set[str]:
    # Upper-case words are codes (RU-SVE, ISO).
    return {w for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", text) if w not in ALLOWED and not w.isupper()}


@pytest.fixture
def demo(town, region, superuser):
    """One of everything the admin lists, as the demo has it."""
    now = timezone.now()
    space = make_space(town, name="Сквер у библиотеки")
    proposal = make_proposal(space, title="Новые скамейки", status=Proposal.Status.SELECTED, selected_at=now)
    ProgressUpdate.objects.create(proposal=proposal, stage="design", text="Проект заказан", happened_on=now.date())
    group = VoteGroup.objects.create(municipality=town, year=now.year + 1, title="Голосование 2027")
    campaign = make_campaign(town, title="Территории 2027", vote_group=group)
    entry = make_entry(campaign, make_proposal(make_space(town, name="Набережная")))
    make_ballot(campaign)
    tally = Tally.objects.create(
        campaign=campaign, kind=Tally.Kind.LIVE, status=Tally.Status.DONE, computed_at=now, ballots_counted=1
    )
    TallyRow.objects.create(tally=tally, entry=entry, votes=1, score=1, rank=1, selected=False)
    ideas = make_campaign(town, phase="ideas", title="Идеи 2028", year=now.year + 2)
    Idea.objects.create(
        campaign=ideas, proposal=make_proposal(make_space(town, name="Двор"), status=Proposal.Status.SUBMITTED)
    )
    author = make_user(full_name="Мария Петрова", municipality=town)
    comment = Comment.objects.create(proposal=proposal, author=author, body="Хорошая идея")
    CommentReport.objects.create(comment=comment, reporter=make_user(), reason="Реклама")
    EmbedOrigin.objects.create(municipality=town, origin="https://ekb.ru")
    return campaign


def _pages():
    for model in admin.site._registry:
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        yield reverse(f"{name}_changelist")
        yield reverse(f"{name}_add")
        obj = model._default_manager.first()
        if obj is not None:
            for view in ("change", "delete", "history"):
                yield reverse(f"{name}_{view}", args=[obj.pk])


def test_every_admin_page_reads_as_russian(demo, superuser) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(superuser)
    problems = []
    pages = [reverse("admin:index"), *_pages()]
    for url in pages:
        response = client.get(url)
        if response.status_code in (403, 302):
            continue  # pages the model does not have (no adding ideas, read-only ballots)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        words = english_words(text)
        if words:
            problems.append(f"{url}: English {sorted(words)}")
        for pattern in BROKEN:
            for found in sorted(set(pattern.findall(text) and [m.group(0) for m in pattern.finditer(text)])):
                problems.append(f"{url}: broken «{found}»")
    assert not problems, "\n".join(problems)
    assert len(pages) > 40
