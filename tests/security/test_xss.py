"""What residents and officials write is always rendered escaped.

1. No template or Python module turns off escaping (`|safe`, `mark_safe`,
   `{% autoescape off %}`, ...) except where ALLOWED_UNESCAPED says why.
2. Hostile titles, descriptions and names come out escaped on the public pages and in
   the admin.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.builders import make_proposal, make_space

BASE_DIR = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "var", "staticfiles", "node_modules", ".git", "tests", "bench", "__pycache__", "media"}
UNESCAPING = re.compile(
    r"\|\s*safe(seq)?\b|\bmark_safe\b|\bSafeString\b|\bSafeText\b|\bhtml_safe\b|"
    r"\{%\s*autoescape\s+off\s*%\}|\bautoescape\s*=\s*False|allow_tags"
)
# (path relative to the repository, the exact text of the line, why it is safe).
# Add an entry only for content that never comes from a user, and say so.
ALLOWED_UNESCAPED: list[tuple[str, str, str]] = []
# Whole files where unescaped output is right, by glob, with the reason.
ALLOWED_UNESCAPED_FILES: list[tuple[str, str]] = [
    ("templates/emails/*.txt", "plain-text e-mail bodies are not HTML; escaping would garble names with & or quotes"),
    ("templates/account/email/*.txt", "allauth's plain-text e-mails, the same reason"),
]

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT} {ATTRIBUTE_BREAKOUT}"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_BREAKOUT = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


def source_files():
    for path in BASE_DIR.rglob("*"):
        relative = path.relative_to(BASE_DIR)
        if any(part in SKIPPED_DIRS for part in relative.parts[:-1]):
            continue
        if path.is_file() and path.suffix in {".html", ".txt", ".py", ".xml", ".svg"}:
            yield relative, path


def unescaping_uses(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if UNESCAPING.search(line)]


@pytest.mark.parametrize(
    "line",
    [
        "{{ proposal.title|safe }}",
        "{{ items | safeseq }}",
        "{% autoescape off %}{{ x }}{% endautoescape %}",
        "return mark_safe(text)",
        "Template(src, autoescape=False)",
        "SafeString(value)",
    ],
)
def test_the_scanner_finds_every_form(line):
    assert unescaping_uses(line) == [(1, line)]


def test_the_scanner_leaves_escaping_helpers_alone():
    assert unescaping_uses('format_html("<b>{}</b>", name)\n{{ data|json_script:"d" }}\n{{ x|escape }}') == []


def test_no_template_or_module_disables_escaping_outside_the_allow_list():
    allowed = {(path, line) for path, line, _reason in ALLOWED_UNESCAPED}
    found = []
    for relative, path in source_files():
        for number, line in unescaping_uses(path.read_text(encoding="utf-8", errors="replace")):
            if any(relative.match(pattern) for pattern, _reason in ALLOWED_UNESCAPED_FILES):
                continue
            if (str(relative), line) not in allowed:
                found.append(f"{relative}:{number}: {line}")
    assert not found, "escaping is turned off here (escape, or add to ALLOWED_UNESCAPED with a reason):\n" + "\n".join(
        found
    )


def test_the_scan_covers_the_templates_and_the_apps():
    scanned = {str(relative) for relative, _ in source_files()}
    assert "templates/base.html" in scanned
    assert "projects/models.py" in scanned
    assert "portal/accounts/scoped_admin.py" in scanned


# --- Rendering ----------------------------------------------------------------------------


@pytest.fixture
def hostile_proposal(town_a):
    space = make_space(town_a, f"Сквер {HOSTILE}")
    space.description = f"Описание места {HOSTILE}"
    space.save()
    return make_proposal(space, title=f"Скамейки {HOSTILE}", description=f"Поставим {HOSTILE}")


def assert_escaped(page: str, *, expected_times: int = 1) -> None:
    assert SCRIPT not in page
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page.replace(ESCAPED_BREAKOUT, "")
    assert page.count(ESCAPED_SCRIPT) >= expected_times, "the hostile text is not shown at all"
    assert page.count(ESCAPED_BREAKOUT) >= expected_times


@pytest.mark.django_db
def test_catalogue_escapes_titles_and_space_names(client, hostile_proposal):
    page = client.get(reverse("projects:proposal_list")).content.decode()

    assert_escaped(page, expected_times=2)  # the title and the space's name


@pytest.mark.django_db
def test_proposal_page_escapes_title_description_and_space_name(client, hostile_proposal):
    page = client.get(hostile_proposal.get_absolute_url()).content.decode()

    assert_escaped(page, expected_times=3)
    assert f"Поставим {ESCAPED_SCRIPT}" in page


@pytest.mark.django_db
def test_space_page_escapes_name_and_description(client, hostile_proposal):
    page = client.get(hostile_proposal.space.get_absolute_url()).content.decode()

    assert_escaped(page, expected_times=2)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["proposal", "space"])
def test_admin_changelist_and_change_page_escape_user_text(client, superuser, official_a, hostile_proposal, model):
    obj = hostile_proposal if model == "proposal" else hostile_proposal.space
    for user in (superuser, official_a):
        client.force_login(user)
        changelist = client.get(reverse(f"admin:projects_{model}_changelist")).content.decode()
        assert_escaped(changelist)
        change = client.get(reverse(f"admin:projects_{model}_change", args=[obj.pk])).content.decode()
        assert_escaped(change)


@pytest.mark.django_db
def test_audit_log_pages_escape_recorded_values(client, superuser, hostile_proposal):
    from django.db import transaction

    from portal.audit.services import audit_record, audit_snapshot

    with transaction.atomic():
        event = audit_record(
            actor=None,
            action="update",
            obj=hostile_proposal,
            before={"title": "old"},
            after=audit_snapshot(hostile_proposal),
        )
    client.force_login(superuser)

    assert_escaped(client.get(reverse("admin:audit_auditevent_changelist")).content.decode())
    assert_escaped(client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode())
