"""Moving or self-updating content must be possible to pause (the 2026 accessibility
rules). The portal has none: live counts are read when the page is loaded, and nothing
refreshes or moves by itself. This keeps it so: whoever adds a refresh, a poll or an
animation meets this test and adds the pause control with it."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

SELF_UPDATING = re.compile(
    r"http-equiv=[\"']?refresh|setInterval\s*\(|EventSource\s*\(|new WebSocket|<marquee|@keyframes|animation\s*:",
    re.IGNORECASE,
)


def _sources():
    base = Path(settings.BASE_DIR)
    for folder, patterns in (("templates", ("*.html", "*.txt")), ("static", ("*.js", "*.css"))):
        for pattern in patterns:
            for path in (base / folder).rglob(pattern):
                if "vendor" not in path.parts:
                    yield path


def test_no_page_refreshes_polls_or_animates_by_itself() -> None:
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}"
        for path in _sources()
        for match in SELF_UPDATING.finditer(path.read_text(errors="replace"))
    ]
    assert not found, "self-updating content needs a visible pause control: " + ", ".join(found)
