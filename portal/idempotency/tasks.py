"""Thin Celery task: forget Idempotency-Keys older than a day (beat runs it hourly)."""

from __future__ import annotations

from celery import shared_task

from portal.idempotency.services import idempotent_requests_expire


@shared_task
def idempotent_requests_cleanup() -> int:
    return idempotent_requests_expire()
