"""Schemathesis against /api/v1/schema/, in-process (WSGI), bounded examples per operation.

Checks: no server error, responses match the documented schema and status codes.
Callers are a resident with a token (so the ballot endpoints are reached past 401)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from portal.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def resident_token(make_campaign, make_user):
    from portal.accounts.services import api_token_issue

    make_campaign(method="approval")
    make_campaign(method="cumulative")
    make_campaign(method="ordinal", phase="closed")
    return api_token_issue(user=make_user())


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case, resident_token):
    case.call_and_validate(headers={"Authorization": f"Token {resident_token}"}, checks=CHECKS)
