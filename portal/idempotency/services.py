"""Answering a retried API request with its first answer (the Idempotency-Key header).

`idempotent(...)` claims the (account, key) pair by inserting its row, runs the request,
and stores the answer in that same row, all in one transaction with whatever the
request writes: a ballot is never stored without its answer, nor an answer without its
ballot. A second request with the key waits at the unique index while the first runs,
then gets the stored answer; with a different body it gets a 422. After KEEP_FOR a key
is forgotten (expired rows are removed by a periodic task).
"""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from portal.idempotency.models import IdempotentRequest

KEEP_FOR = timedelta(days=1)
# Printable ASCII without spaces, 16 to 255 characters: a random UUID is the usual key.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{16,255}")
NONCE_BYTES = 12


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


class IdempotencyError(Exception):
    code = "idempotency_error"
    http_status = 400

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


class InvalidIdempotencyKey(IdempotencyError):
    code = "invalid_idempotency_key"
    http_status = 400


class IdempotencyKeyReused(IdempotencyError):
    code = "idempotency_key_reused"
    http_status = 422


@dataclass(frozen=True)
class _Secrets:
    digest: str  # what the row is found by
    key: bytes  # never stored: fingerprints and encrypts

    def fingerprint(self, request_text: str) -> str:
        return hmac.new(self.key, request_text.encode(), sha256).hexdigest()

    def seal(self, answer: Answer) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(answer.body, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
        return nonce + AESGCM(self.key).encrypt(nonce, plain, self.digest.encode())

    def open(self, sealed: bytes) -> dict:
        nonce, box = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return json.loads(AESGCM(self.key).decrypt(nonce, box, self.digest.encode()))


def _secrets(user_id: int, key: str) -> _Secrets:
    value = f"{user_id}:{key}"
    return _Secrets(
        digest=salted_hmac("portal.idempotency.key", value, algorithm="sha256").hexdigest(),
        key=salted_hmac("portal.idempotency.secret", value, algorithm="sha256").digest(),
    )


def request_text(method: str, path: str, data) -> str:
    """The request as compared between retries: method, path and the parsed JSON body."""
    body = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{method} {path}\n{body}"


def _claim(user, secrets: _Secrets, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The row for (user, key): inserted now (True), or the one a first request stored."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    user=user, key_digest=secrets.digest, fingerprint=fingerprint, status=0, answer=b""
                )
            return row, True
        except IntegrityError:
            # The unique index made this insert wait for the first request to finish.
            row = IdempotentRequest.objects.select_for_update().get(user=user, key_digest=secrets.digest)
            if row.created_at > timezone.now() - KEEP_FOR:
                return row, False
            row.delete()  # expired and not cleaned up yet: a new request
    raise RuntimeError("could not claim an idempotency key")  # pragma: no cover - two expiries in a row


def _answer_store(row: IdempotentRequest, secrets: _Secrets, answer: Answer) -> None:
    row.status = answer.status
    row.answer = secrets.seal(answer)
    row.save(update_fields=["status", "answer"])


def idempotent(*, user, key: str, request: str, produce: Callable[[], Answer]) -> Answer:
    """`produce()` once per (user, key); its answer again for a retry of the same request."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidIdempotencyKey(
            _("The Idempotency-Key header must be 16 to 255 visible ASCII characters, e.g. a random UUID.")
        )
    secrets = _secrets(user.pk, key)
    fingerprint = secrets.fingerprint(request)
    with transaction.atomic():
        row, claimed = _claim(user, secrets, fingerprint)
        if not claimed:
            if not hmac.compare_digest(row.fingerprint, fingerprint):
                raise IdempotencyKeyReused(
                    _("This Idempotency-Key was used for another request; use a new key for a new request.")
                )
            return Answer(status=row.status, body=secrets.open(bytes(row.answer)), replayed=True)
        answer = produce()
        _answer_store(row, secrets, answer)
    return answer


def idempotent_requests_expire(*, now=None) -> int:
    """Forget the keys older than KEEP_FOR; returns how many."""
    deleted, _by_model = IdempotentRequest.objects.expired(now).delete()
    return deleted
