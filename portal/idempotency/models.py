"""The first answer to an API request that carried an Idempotency-Key, kept for a day.

A ballot's answer holds its receipt, and a receipt leads to the ballot's choices on the
public ledger; so nothing here may tell how a named resident voted. The client's key is
stored only as an HMAC (with SECRET_KEY); the fingerprint of the request (which names the
choices) is an HMAC under a secret derived from the client's key; the answer is
encrypted (AES-GCM) under that secret. Without the key the client holds, a row says only
that its account sent some request and what status it got.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotentRequestQuerySet(models.QuerySet["IdempotentRequest"]):
    def expired(self, now=None) -> IdempotentRequestQuerySet:
        from portal.idempotency.services import KEEP_FOR

        return self.filter(created_at__lte=(now or timezone.now()) - KEEP_FOR)


class IdempotentRequest(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_digest = models.CharField(_("key (HMAC)"), max_length=64)
    fingerprint = models.CharField(_("request fingerprint (HMAC)"), max_length=64)
    status = models.PositiveSmallIntegerField(_("HTTP status"))
    answer = models.BinaryField(_("answer (encrypted)"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("repeated API request")
        verbose_name_plural = _("repeated API requests")
        constraints = [
            models.UniqueConstraint(fields=["user", "key_digest"], name="idempotent_request_once_per_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key_digest[:12]} {self.status}"
