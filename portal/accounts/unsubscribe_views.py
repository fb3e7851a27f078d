"""The unsubscribe link of every notification e-mail: works without logging in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from portal.accounts.services import user_unsubscribe
from portal.notifications import unsubscribe_user_from_token


# The signed token is the authorisation, and mail clients' one-click unsubscribe
# (RFC 8058) POSTs without a CSRF token. A GET only shows the confirmation form, so
# link scanners that fetch URLs do not unsubscribe anyone.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user = unsubscribe_user_from_token(token)
    if user is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        if not user_unsubscribe(user=user):
            return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=400)
        return render(request, "accounts/unsubscribe.html", {"done": True, "email": user.email})
    return render(request, "accounts/unsubscribe.html", {"email": user.email})
