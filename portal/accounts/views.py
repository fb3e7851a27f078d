"""The resident's own pages: profile, my votes, my comments, and the unsubscribe link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.accounts.forms import AccountEraseForm, ProfileForm
from portal.accounts.models import User
from portal.accounts.personal_data import personal_data_of
from portal.accounts.requests import AuthenticatedHttpRequest
from portal.accounts.services import (
    api_token_revoke,
    user_erase,
    user_profile_update,
    user_public_name_set,
    user_unsubscribe,
)
from portal.accounts.tokens import token_expires_at, token_is_expired, token_of
from portal.accounts.unsubscribe import unsubscribe_user_from_token
from projects.models import Comment


def profile_is_complete(user: User) -> bool:
    return bool(user.full_name and user.birth_date and user.municipality_id)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            public_name = data.pop("public_name", "")
            try:
                user_profile_update(user=user, **data)
                user_public_name_set(user=user, public_name=public_name)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect(_safe_next(request) or "accounts:profile")
    else:
        form = ProfileForm(
            initial={
                "full_name": user.full_name,
                "birth_date": user.birth_date,
                "municipality": user.municipality_id,
                "phone": user.phone or "",
                "public_name": user.public_name,
            }
        )
    token = token_of(user)
    context = {
        "form": form,
        "profile_user": user,
        "complete": profile_is_complete(user),
        "next": _safe_next(request) or "",
        "api_token": token,
        "api_token_expires_at": token_expires_at(token) if token else None,
        "api_token_expired": token_is_expired(token) if token else False,
        "erase_form": AccountEraseForm(),
    }
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)


@login_required
def my_votes(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Accounts sit below votes: the votes app is imported when the page is asked for.
    from votes.models import Ballot

    ballots = (
        Ballot.objects.filter(voter=request.user)
        .select_related("campaign__municipality", "volunteer")
        .order_by("-cast_at", "-pk")
    )
    return render(request, "accounts/my_votes.html", {"ballots": ballots})


@login_required
def my_comments(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "accounts/my_comments.html", {"comments": Comment.objects.by_author(request.user)})


@login_required
@require_POST
def api_token_revoke_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The profile page's "revoke" button: the volunteers' app (or any) must log in again."""
    if api_token_revoke(user=request.user):
        messages.success(request, _("Your API token is revoked: apps that used it must log in again."))
    return redirect("accounts:profile")


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


@login_required
def my_data(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Everything the portal keeps about the resident, as a JSON file (152-ФЗ, art. 14)."""
    response = JsonResponse(personal_data_of(request.user), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@login_required
@require_POST
def account_erase(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AccountEraseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that the account is to be deleted."))
        return redirect(reverse("accounts:profile") + "#delete")
    user_erase(user=request.user, actor=request.user)
    logout(request)
    messages.success(request, _("Your account is deleted and your personal data erased."))
    return redirect("home")
