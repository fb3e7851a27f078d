"""The resident's own pages: profile, my votes, my comments, and the unsubscribe link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.forms import AccountEraseForm, EligibilityCorrectionForm, PhoneCodeForm, ProfileForm
from portal.accounts.identity import PhoneCodeError, user_eligibility_correct, user_phone_code_send, user_phone_verify
from portal.accounts.models import PhoneCode, User
from portal.accounts.permissions import OutOfScope, is_official_for
from portal.accounts.personal_data import personal_data_of
from portal.accounts.phones import phone_display
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
from projects.models import Comment, Municipality


def profile_is_complete(user: User) -> bool:
    return bool(user.full_name and user.birth_date and user.municipality_id)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def _profile_initial(user: User) -> dict:
    return {
        "full_name": user.full_name,
        "birth_date": user.birth_date,
        "municipality": user.municipality_id,
        "phone": user.phone or "",
        "public_name": user.public_name,
    }


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    locked = user.eligibility_from_provider
    if request.method == "POST":
        form = ProfileForm(request.POST, initial=_profile_initial(user), eligibility_from_provider=locked)
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
        form = ProfileForm(initial=_profile_initial(user), eligibility_from_provider=locked)
    token = token_of(user)
    context = {
        "form": form,
        "profile_user": user,
        "complete": profile_is_complete(user),
        "next": _safe_next(request) or "",
        "api_token": token,
        "api_token_expires_at": token_expires_at(token) if token else None,
        "api_token_expired": token_is_expired(token) if token else False,
        "assurance": user.assurance_level,
        "in_person": user.in_person_verifications.select_related("verified_by").first(),
        "erase_form": AccountEraseForm(),
    }
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def phone_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The resident proves the phone on their profile: a code by SMS, typed back here."""
    user = request.user
    form = PhoneCodeForm()
    status = 200
    if request.method == "POST" and user.phone and not user.has_verified_phone:
        if request.POST.get("action") == "send":
            try:
                user_phone_code_send(user=user)
            except PhoneCodeError as error:
                messages.error(request, error.message)
                status = 429 if error.code == "too_many_sends" else 503 if error.code == "sms_failed" else 400
            else:
                messages.success(request, _("We sent a code to %(phone)s.") % {"phone": phone_display(user.phone)})
                return redirect("accounts:phone_verify")
        else:
            form = PhoneCodeForm(request.POST)
            if form.is_valid():
                try:
                    user_phone_verify(user=user, code=form.cleaned_data["code"])
                except ValidationError as error:
                    for errors in error.message_dict.values():
                        form.add_error("code", errors)
                else:
                    messages.success(request, _("Your phone is verified."))
                    return redirect(_safe_next(request) or "accounts:profile")
            status = 400
    context = {
        "form": form,
        "phone": phone_display(user.phone) if user.phone else "",
        "verified": user.has_verified_phone,
        "code_sent": PhoneCode.objects.filter(
            user=user, phone=user.phone or "", used_at__isnull=True, expires_at__gt=timezone.now()
        ).exists(),
        "next": _safe_next(request) or "",
    }
    return render(request, "accounts/phone_verify.html", context, status=status)


@login_required
def my_votes(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Accounts sit below votes: the votes app is imported when the page is asked for.
    from votes.models import Participation

    participations = (
        Participation.objects.filter(voter=request.user)
        .select_related("campaign__municipality")
        .order_by("-voted_at", "-pk")
    )
    return render(request, "accounts/my_votes.html", {"participations": participations})


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


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def eligibility_correct(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An official corrects a resident's birth date or municipality, with a reason (audited).
    Residents outside the official's municipalities do not exist here (404)."""
    actor = request.user
    resident = User.objects.select_related("municipality").filter(pk=pk).first()
    if resident is None or not (
        actor.is_superuser or (resident.municipality_id and is_official_for(actor, resident.municipality_id))
    ):
        raise Http404
    municipalities = Municipality.objects.administered_by(actor).select_related("region").order_by("name")
    initial = {"birth_date": resident.birth_date, "municipality": resident.municipality_id}
    if request.method == "POST":
        form = EligibilityCorrectionForm(request.POST, initial=initial, municipalities=municipalities)
        if form.is_valid():
            try:
                user_eligibility_correct(actor=actor, user=resident, **form.cleaned_data)
            except OutOfScope:
                form.add_error("municipality", _("This municipality is outside your scope."))
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The resident's details are corrected."))
                return redirect("accounts:eligibility_correct", pk=resident.pk)
    else:
        form = EligibilityCorrectionForm(initial=initial, municipalities=municipalities)
    context = {"form": form, "resident": resident}
    return render(request, "accounts/eligibility_correct.html", context, status=400 if form.errors else 200)


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
