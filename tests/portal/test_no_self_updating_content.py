"""Moving or self-updating content must be possible to pause (the 2026 accessibility
rules). Live counts are read when the page is loaded; the one thing that refreshes itself
is the waiting room of a shed request (templates/waiting_room.html, static/js/waiting-room.js),
and it has a visible button to stop that. Whoever adds a refresh, a poll or an animation
meets this test and adds the pause control with it (an element marked `data-pause-control`
in the same file, which the script must honour)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

SELF_UPDATING = re.compile(
    r"http-equiv=[\"']?refresh|setInterval\s*\(|location\.(?:reload|replace)\s*\(|EventSource\s*\("
    r"|new WebSocket|<marquee|@keyframes|animation\s*:",
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
    found = []
    for path in _sources():
        text = path.read_text(errors="replace")
        for match in SELF_UPDATING.finditer(text):
            # A meta refresh cannot be paused; a script can, if it honours the pause control.
            if "data-pause-control" not in text or "http-equiv" in match.group(0).lower():
                found.append(f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}")
    assert not found, "self-updating content needs a visible pause control: " + ", ".join(found)


def test_the_waiting_room_refreshes_itself_only_with_a_pause_control() -> None:
    base = Path(settings.BASE_DIR)
    script = (base / "static/js/waiting-room.js").read_text()
    page = (base / "templates/waiting_room.html").read_text()
    assert SELF_UPDATING.search(script)
    assert "<button" in page
    assert "data-pause-control" in page
    assert "if (paused) return;" in script
