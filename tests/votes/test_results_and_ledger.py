"""Results pages, downloads, API, the ballot ledger and its verification, the .pb export."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from tests.builders import approve_verification
from tests.votes.counting_fixtures import PABULIB_SAMPLES, campaign, cast, receipt_of
from votes import ledger, services
from votes.models import Campaign, Tally

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # Pages are checked in English (the msgids); Russian is the site default.
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _counted(*, publish: bool = True) -> Campaign:
    obj = campaign(costs={"a": 60, "b": 50, "c": 30, "d": 20}, budget=100)
    cast(obj, "v1", {"a": 1, "b": 1})
    cast(obj, "v2", {"a": 1, "c": 1})
    cast(obj, "v3", {"a": 1, "b": 1, "d": 1})
    cast(obj, "v4", {"b": 1})
    cast(obj, "v5", {})
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)  # what the ledger_seal task does after the tally
    if publish:
        approve_verification(obj)
        services.results_publish(campaign=obj)
    obj.refresh_from_db()
    return obj


def _stored(obj: Campaign) -> list[tuple]:
    tally = Tally.objects.get(campaign=obj, kind="final")
    return [
        (r.entry.external_id, r.votes, int(r.score), r.rank, r.selected) for r in tally.rows.select_related("entry")
    ]


def test_results_page_shows_chart_table_turnout_and_explanations(client) -> None:
    obj = _counted()
    response = client.get(reverse("votes:campaign_results", args=[obj.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg role="img"' in html
    assert '<title id="chart-title">' in html
    assert "<desc" in html
    assert html.count('class="bar-selected"') == 2
    assert html.count('class="bar"') == 2
    assert "<table" in html
    assert "Project b" in html
    # 5 ballots among 1000 residents.
    assert "0.5 %" in html
    assert "of 1,000 residents" in html
    assert "not selected because the budget left was 40" in html.lower()
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head in html


def test_results_before_publication_say_so_and_downloads_404(client) -> None:
    obj = _counted(publish=False)
    response = client.get(reverse("votes:campaign_results", args=[obj.pk]))
    assert response.status_code == 200
    assert "not yet published" in response.content.decode()
    # No chart (the header's icons are SVG too, so look for the chart's own element).
    assert '<svg role="img"' not in response.content.decode()
    for name in ("results_csv", "results_xlsx", "results_json", "results_pb", "ledger_download", "ledger_lookup"):
        assert client.get(reverse(f"votes:{name}", args=[obj.pk])).status_code == 404, name
    assert client.get(f"/api/v1/campaigns/{obj.pk}/results/").status_code == 404


def test_live_standings_only_where_the_campaign_shows_them(client, settings) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 1  # the threshold: tests/votes/test_standings_privacy.py
    hidden = campaign(costs={"a": 10}, closed=False)
    shown = campaign(costs={"a": 10}, closed=False, show_live_standings=True, municipality=hidden.municipality)
    for obj in (hidden, shown):
        cast(obj, f"v{obj.pk}", {"a": 1})
        services.tally_compute(campaign_id=obj.pk, final=False)
    assert client.get(f"/api/v1/campaigns/{hidden.pk}/results/").status_code == 404
    body = client.get(f"/api/v1/campaigns/{shown.pk}/results/").json()
    assert body["final"] is False
    assert body["entries"][0]["votes"] == 1
    assert "Live standings" in client.get(reverse("votes:campaign_results", args=[shown.pk])).content.decode()


def test_live_standings_say_they_are_provisional_and_select_nothing(client, settings) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 1
    obj = campaign(costs={"a": 10, "b": 20}, closed=False, show_live_standings=True)
    cast(obj, "v1", {"a": 1})
    services.tally_compute(campaign_id=obj.pk, final=False)
    html = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "<h1>Live standings</h1>" in html
    assert "<h1>Results</h1>" not in html
    assert "provisional" in html
    assert "No project is selected until the vote closes" in html
    # Neither the project with the vote nor the one with none is marked selected.
    assert "✓" not in html
    assert 'class="bar-selected"' not in html
    assert "not selected" not in html
    assert "Used" not in html
    assert "Left" not in html


def test_chart_bars_are_labelled_with_project_names_and_votes_not_score(client) -> None:
    obj = _counted()
    html = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    start = html.index('<svg role="img"')
    chart = html[start : html.index("</svg>", start)]
    for name in ("Project a", "Project b", "Project c", "Project d"):
        assert f'class="chart-label">{name}<' in chart
    # An approval vote counts votes: its explanations speak of votes, not of a score.
    assert "number 1 by votes" in html
    assert "by score" not in html


def test_results_api_shape(client) -> None:
    obj = _counted()
    body = client.get(f"/api/v1/campaigns/{obj.pk}/results/").json()
    assert set(body) == {"campaign", "final", "computed_at", "ballots", "entries"}
    assert body["campaign"] == obj.pk
    assert body["final"] is True
    assert body["ballots"] == 5
    assert set(body["entries"][0]) == {
        "entry",
        "external_id",
        "votes",
        "score",
        "rank",
        "selected",
        "selected_by_reserve",
    }
    assert [(e["external_id"], e["votes"], e["score"], e["rank"], e["selected"]) for e in body["entries"]] == _stored(
        obj
    )


def test_csv_xlsx_json_downloads_equal_the_stored_tally(client) -> None:
    obj = _counted()
    stored = _stored(obj)
    text = client.get(reverse("votes:results_csv", args=[obj.pk])).content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [
        (r["external_id"], int(r["votes"]), int(r["score"]), int(r["rank"]), r["selected"] == "1") for r in rows
    ] == [(s[0], s[1], s[2], s[3], s[4]) for s in stored]
    book = load_workbook(io.BytesIO(client.get(reverse("votes:results_xlsx", args=[obj.pk])).content))
    sheet = list(book.active.values)
    assert sheet[0][:2] == ("rank", "external_id")
    assert [(r[1], r[4], r[5], r[0], bool(r[6])) for r in sheet[1:]] == stored
    data = json.loads(client.get(reverse("votes:results_json", args=[obj.pk])).content)
    assert [(e["external_id"], e["votes"], e["score"], e["rank"], e["selected"]) for e in data["entries"]] == stored
    assert data["budget_used"] == 90


def _ledger_text(client, obj) -> str:
    response = client.get(reverse("votes:ledger_download", args=[obj.pk]))
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_ledger_lists_receipts_and_choices_never_voters(client) -> None:
    obj = _counted()
    lines = _ledger_text(client, obj).splitlines()
    header = json.loads(lines[0])
    assert header["head"] == Tally.objects.get(campaign=obj, kind="final").ledger_head
    records = [json.loads(line) for line in lines[1:]]
    assert len(records) == 5
    assert [r["receipt_hash"] for r in records] == sorted(r["receipt_hash"] for r in records)
    assert records[-1]["chain"] == header["head"]
    text = "\n".join(lines)
    assert "v1" not in text.replace("v1/", "")  # external voter ids never appear
    assert all(set(r) == {"type", "position", "receipt_hash", "choices", "chain"} for r in records)


def _verify(tmp_path, text: str) -> tuple[int, str]:
    path = tmp_path / "ledger.jsonl"
    path.write_text(text)
    out = io.StringIO()
    try:
        call_command("verify_ledger", str(path), stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_verify_ledger_matches_and_catches_tampering(client, tmp_path) -> None:
    obj = _counted()
    text = _ledger_text(client, obj)
    code, out = _verify(tmp_path, text)
    assert code == 0, out
    assert "matches" in out
    lines = text.splitlines()
    # One choice changed: b instead of a on the first ballot that chose a.
    changed = list(lines)
    for i, line in enumerate(changed[1:], start=1):
        record = json.loads(line)
        if ["a", 1] in record["choices"] and ["b", 1] not in record["choices"]:
            record["choices"] = [["b", 1] if c == ["a", 1] else c for c in record["choices"]]
            changed[i] = json.dumps(record)
            break
    code, out = _verify(tmp_path, "\n".join(changed) + "\n")
    assert code == 1
    assert "MISMATCH" in out
    # One line dropped.
    code, out = _verify(tmp_path, "\n".join(lines[:2] + lines[3:]) + "\n")
    assert code == 1
    assert "ballots in the ledger" in out
    # A forged header whose results agree with forged ballots still differs from this site.
    forged_header = json.loads(lines[0])
    forged_header["head"] = "0" * 64
    code, out = _verify(tmp_path, "\n".join([json.dumps(forged_header), *lines[1:]]) + "\n")
    assert code == 1


def test_ledger_chain_is_the_documented_format() -> None:
    choices = [("b", 2), ("a", 1)]
    h0 = ledger.genesis(7)
    import hashlib

    assert h0 == hashlib.sha256(b"campaign:7").hexdigest()
    assert ledger.link(h0, "ab" * 32, choices) == hashlib.sha256((h0 + "ab" * 32 + "a:1,b:2").encode()).hexdigest()
    with pytest.raises(ValueError, match="ascending"):
        ledger.head_of(7, [("bb" * 32, []), ("aa" * 32, [])])


def test_ledger_lookup_finds_a_receipt_or_says_not_found(client) -> None:
    obj = _counted()
    url = reverse("votes:ledger_lookup", args=[obj.pk])
    html = client.post(url, {"receipt": receipt_of(obj.pk, "v3")}).content.decode()
    assert "Your ballot is in the ledger" in html
    assert "Project d" in html
    assert "Project c" not in html
    assert "Not found" in client.post(url, {"receipt": "no-such-code"}).content.decode()


def test_ledger_lookup_takes_the_code_only_in_a_post_body(client) -> None:
    obj = _counted()
    url = reverse("votes:ledger_lookup", args=[obj.pk])
    receipt = receipt_of(obj.pk, "v3")
    # A code in the URL (an old bookmark, a link someone sent) is not looked up: the page
    # sends the browser to the bare form, which carries the code in no link.
    redirected = client.get(url, {"receipt": receipt})
    assert redirected.status_code == 302
    assert redirected["Location"] == url
    response = client.get(url, {"receipt": receipt}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your ballot is in the ledger" not in html
    assert "Not found" not in html
    assert receipt not in html
    assert 'method="post"' in html
    assert "no-store" in response["Cache-Control"]
    found = client.post(url, {"receipt": receipt})
    assert "no-store" in found["Cache-Control"]
    assert receipt not in found.content.decode()  # the page shows the hash, not the code


def test_ledger_lookup_needs_the_forms_csrf_token() -> None:
    from django.test import Client

    obj = _counted()
    url = reverse("votes:ledger_lookup", args=[obj.pk])
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post(url, {"receipt": receipt_of(obj.pk, "v3")}).status_code == 403
    form = browser.get(url)
    token = form.cookies["csrftoken"].value
    answer = browser.post(url, {"receipt": receipt_of(obj.pk, "v3"), "csrfmiddlewaretoken": token})
    assert answer.status_code == 200
    assert "Your ballot is in the ledger" in answer.content.decode()


@pytest.mark.parametrize(
    "name",
    ["Poland_Katowice_2023_Murcki.pb", "Poland_Krakow_2022_Biezanow-Prokocim.pb", "Netherlands_Assen_2024.pb"],
)
def test_export_reads_back_in_pabutools_as_the_same_election(tmp_path, name) -> None:
    pabutools = pytest.importorskip("pabutools.election")
    source = PABULIB_SAMPLES / name
    out = io.StringIO()
    call_command("import_pabulib", str(source), stdout=out, stderr=io.StringIO())
    campaign_id = int(out.getvalue().split()[-1])
    exported = tmp_path / "out.pb"
    call_command("export_pabulib", str(campaign_id), "-o", str(exported), stderr=io.StringIO())

    def election(path):
        instance, profile = pabutools.parse_pabulib(str(path))
        projects = {p.name: int(p.cost) for p in instance}
        ballots: Counter[tuple[tuple[str, int], ...]] = Counter()
        for ballot in profile:
            if isinstance(ballot, pabutools.OrdinalBallot):
                ballots[tuple(p.name for p in ballot)] += 1
            elif isinstance(ballot, pabutools.CumulativeBallot):
                ballots[tuple(sorted((p.name, int(v)) for p, v in ballot.items()))] += 1
            else:
                ballots[tuple(sorted(p.name for p in ballot))] += 1
        return int(instance.budget_limit), projects, ballots

    assert election(exported) == election(source)
