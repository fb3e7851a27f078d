"""Phones: parsed by phonenumbers, verified by a one-time SMS code, unique once verified."""

from __future__ import annotations

import datetime
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.accounts.identity import PhoneCodeError, phone_code_send, user_phone_code_send, user_phone_verify
from portal.accounts.models import Assurance, PhoneCode, User
from portal.accounts.phones import InvalidPhone, phone_normalise
from portal.accounts.sms import HttpSmsBackend, SmsDeliveryFailed
from tests.builders import make_user

PHONE = "+79125550077"


def _code(outbox) -> str:
    found = re.search(r"\b(\d{6})\b", outbox[-1].text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("8 (912) 555-00-77", PHONE),
        ("+7 912 5550077", PHONE),
        ("9125550077", PHONE),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_stored_in_e164_with_russia_as_default_region(typed, stored):
    assert phone_normalise(typed) == stored


@pytest.mark.parametrize("typed", ["12-34", "+7 000 000-00-00", "телефон", ""])
def test_impossible_numbers_are_refused(typed):
    with pytest.raises(InvalidPhone):
        phone_normalise(typed)


def test_a_code_by_sms_verifies_the_phone_and_raises_the_level(resident, sms_outbox):
    resident.phone = PHONE
    resident.save()
    assert resident.assurance_level == Assurance.SELF_DECLARED
    user_phone_code_send(user=resident)
    assert sms_outbox[-1].to == PHONE
    record = PhoneCode.objects.get(user=resident)
    assert _code(sms_outbox) not in record.code_hmac  # stored hashed, never in clear
    user_phone_verify(user=resident, code=_code(sms_outbox))
    resident.refresh_from_db()
    assert resident.phone_verified_at is not None
    assert resident.assurance_level == Assurance.PHONE_VERIFIED
    assert User.objects.at_least(Assurance.PHONE_VERIFIED).filter(pk=resident.pk).exists()


def _verify_error(user, code) -> str:
    with pytest.raises(ValidationError) as caught:
        user_phone_verify(user=user, code=code)
    return str(caught.value.error_dict["code"][0].code)


def test_a_code_works_once(resident, sms_outbox):
    resident.phone = PHONE
    resident.save()
    user_phone_code_send(user=resident)
    code = _code(sms_outbox)
    user_phone_verify(user=resident, code=code)
    # Another phone, the same code again: spent.
    User.objects.filter(pk=resident.pk).update(phone="+79125550078", phone_verified_at=None)
    resident.refresh_from_db()
    PhoneCode.objects.update(phone="+79125550078")
    assert _verify_error(resident, code) == "code_used"


def test_an_expired_code_is_refused(resident, sms_outbox, settings):
    resident.phone = PHONE
    resident.save()
    user_phone_code_send(user=resident)
    PhoneCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert _verify_error(resident, _code(sms_outbox)) == "code_expired"
    assert User.objects.get(pk=resident.pk).phone_verified_at is None


def test_wrong_codes_lock_the_code_after_the_allowed_tries(resident, sms_outbox, settings):
    settings.PHONE_CODE_MAX_ATTEMPTS = 3
    resident.phone = PHONE
    resident.save()
    user_phone_code_send(user=resident)
    right = _code(sms_outbox)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    assert [_verify_error(resident, wrong) for _ in range(3)] == ["code_wrong"] * 3
    assert _verify_error(resident, right) == "too_many_attempts"  # even the right one, now


def test_sends_are_limited_per_phone_and_per_account(resident, settings):
    settings.PHONE_CODE_SENDS_PER_PHONE_PER_HOUR = 2
    settings.PHONE_CODE_SENDS_PER_ACCOUNT_PER_HOUR = 3
    resident.phone = PHONE
    resident.save()
    user_phone_code_send(user=resident)
    user_phone_code_send(user=resident)
    with pytest.raises(PhoneCodeError) as caught:
        user_phone_code_send(user=resident)
    assert caught.value.code == "too_many_sends"
    phone_code_send(phone="+79125550079", purpose="profile", requested_by=resident, user=resident)
    with pytest.raises(PhoneCodeError) as caught:
        phone_code_send(phone="+79125550080", purpose="profile", requested_by=resident, user=resident)
    assert caught.value.code == "too_many_sends"
    # An hour later the window has moved on.
    PhoneCode.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1, seconds=1))
    user_phone_code_send(user=resident)


def test_a_phone_verified_on_another_account_gives_a_form_error(client, resident, sms_outbox):
    make_user(phone=PHONE, phone_verified_at=timezone.now())
    resident.phone = PHONE
    resident.save()
    client.force_login(resident)
    assert client.post("/me/phone/", {"action": "send"}).status_code == 302
    response = client.post("/me/phone/", {"action": "verify", "code": _code(sms_outbox)})
    assert response.status_code == 400
    assert "уже подтверждён в другой учётной записи" in response.content.decode()


def test_the_phone_page_verifies_with_the_code(client, resident, sms_outbox):
    resident.phone = PHONE
    resident.save()
    client.force_login(resident)
    client.post("/me/phone/", {"action": "send"})
    assert client.post("/me/phone/", {"action": "verify", "code": _code(sms_outbox)}).status_code == 302
    assert User.objects.get(pk=resident.pk).has_verified_phone


def test_changing_the_phone_drops_its_verification(client, resident):
    User.objects.filter(pk=resident.pk).update(phone=PHONE, phone_verified_at=timezone.now())
    client.force_login(resident)
    data = {
        "full_name": resident.full_name,
        "birth_date": resident.birth_date.isoformat(),
        "municipality": resident.municipality_id,
        "phone": "+7 912 555-00-78",
    }
    assert client.post("/me/", data).status_code == 302
    assert User.objects.get(pk=resident.pk).phone_verified_at is None


# --- The HTTP gateway backend, against a local server that answers as a gateway does ---


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    answer = 200
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        time.sleep(type(self).delay)
        self.send_response(type(self).answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "accepted", "id": "m-1"}' if type(self).answer < 300 else b'{"error": "down"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    _Gateway.received, _Gateway.answer, _Gateway.delay = [], 200, 0.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "portal.accounts.sms.HttpSmsBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/v1/messages"
    settings.SMS_GATEWAY_TOKEN = "gw-token"
    settings.SMS_SENDER = "Portal66"
    settings.SMS_GATEWAY_TIMEOUT = 0.5
    yield _Gateway
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_the_message_to_the_gateway(gateway):
    HttpSmsBackend().send(to=PHONE, text="Ваш код: 123456")
    (request,) = gateway.received
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer gw-token"
    assert request["body"] == {"to": PHONE, "from": "Portal66", "text": "Ваш код: 123456"}


@pytest.mark.parametrize(("answer", "delay"), [(500, 0.0), (200, 2.0)], ids=["gateway-500", "gateway-timeout"])
def test_a_gateway_failure_is_a_clear_refusal_and_spends_the_code(gateway, resident, answer, delay):
    gateway.answer, gateway.delay = answer, delay
    with pytest.raises(SmsDeliveryFailed):
        HttpSmsBackend().send(to=PHONE, text="x")
    resident.phone = PHONE
    resident.save()
    with pytest.raises(PhoneCodeError) as caught:
        user_phone_code_send(user=resident)
    assert caught.value.code == "sms_failed"
    assert PhoneCode.objects.get(user=resident).used_at is not None
