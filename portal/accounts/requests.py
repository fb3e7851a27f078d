"""The request of a logged-in user, for the views behind `login_required` (and the admin):
`request.user` is a `User` there, never an `AnonymousUser`, and mypy knows it."""

from __future__ import annotations

from django.http import HttpRequest

from portal.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
