"""The receipt pages say plainly what the receipt proves and to whom (issue 11, item 5),
in Russian, the site's language: the voter's own check in the ledger after the close,
nothing to anyone else unless shown, never to be shown on request, shown once."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from tests.votes.counting_fixtures import campaign

pytestmark = pytest.mark.django_db

RECEIPT = {"receipt": "ABCD-EFGH-JKLM-NPQR", "receipt_hash": "f" * 64}


def _render(template: str, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    obj = campaign(costs={"a": 10}, closed=False)
    with translation.override("ru"):
        return render_to_string(template, {"campaign": obj, "receipt": RECEIPT}, request=request)


def test_the_voters_receipt_says_what_it_proves_and_to_whom(resident) -> None:
    html = _render("votes/ballot_receipt.html", resident)
    assert RECEIPT["receipt"] in html
    assert "Что подтверждает код и кому" in html
    assert "после окончания голосования по коду можно найти ваш бюллетень" in html
    assert "учтён так, как вы проголосовали" in html
    assert "никому не покажет, как вы проголосовали, пока вы сами его не покажете" in html
    assert "Не показывайте код тем, кто о нём просит" in html
    assert "никогда не попросят у вас этот код" in html
    assert "показывается только один раз" in html


def test_the_volunteers_receipt_tells_what_to_say_to_the_resident(volunteer) -> None:
    html = _render("votes/volunteer_receipt.html", volunteer)
    assert RECEIPT["receipt"] in html
    assert "Объясните жителю, что подтверждает код и кому" in html
    assert "убедиться, что голос учтён так, как был подан" in html
    assert "портал никогда его не попросит" in html
    assert "не проверяйте его сами" in html
