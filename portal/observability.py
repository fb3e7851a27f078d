"""Error reports to Sentry (or any service that speaks its protocol), when SENTRY_DSN is set."""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        # Nobody may learn how a named resident voted, Sentry's readers included: no user,
        # cookies or IP address, no request body (the ballot's choices) and no local
        # variables of a stack frame (in casting, the voter sits next to the choices).
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
    )
