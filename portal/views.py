import math

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from projects.models import Municipality, Proposal, Space
from votes.models import Campaign


def home(request: HttpRequest) -> HttpResponse:
    open_campaigns = list(Campaign.objects.open().select_related("municipality").order_by("voting_closes_at"))
    idea_campaigns = list(Campaign.objects.collecting_ideas().select_related("municipality").order_by("ideas_close_at"))
    figures = {
        "municipalities": Municipality.objects.count(),
        "spaces": Space.objects.public().count(),
        "proposals": Proposal.objects.public().count(),
        "open_campaigns": len(open_campaigns),
        "spaces_improved": Space.objects.improved().count(),
    }
    return render(
        request,
        "portal/home.html",
        {
            "figures": figures,
            "open_campaigns": open_campaigns,
            "idea_campaigns": idea_campaigns,
            "municipalities": Municipality.objects.only("name", "slug"),
        },
    )


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/about.html")


@never_cache
def language_switch(request: HttpRequest, code: str) -> HttpResponse:
    """GET /lang/<code>/?next=<path>: remember the language in its cookie, go back.

    A link rather than Django's POST set_language form, so that public pages carry no
    per-visitor CSRF token and can be cached whole. Choosing a language changes nothing
    but the visitor's own cookie, so a GET is safe; `next` must stay on this site.
    """
    if code not in dict(settings.LANGUAGES):
        raise Http404
    target = request.GET.get("next", "")
    own_site = {request.get_host()}
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=own_site, require_https=request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the static file."""
    return HttpResponseRedirect(static("favicon.ico"))


# --- 429 -------------------------------------------------------------------------------

RATE_LIMITED = "rate_limited"


def too_many_requests(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    """The 429 page: the reason as a stable code, and when to come back (Retry-After)."""
    retry_after = max(1, int(retry_after))
    context = {"code": RATE_LIMITED, "retry_after": retry_after, "minutes": math.ceil(retry_after / 60)}
    response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def allauth_rate_limited(request: HttpRequest) -> HttpResponse:
    """allauth's 429 (portal.urls.handler429): log-in, sign-up, password reset limits."""
    from portal.accounts.adapters import rate_limit_window

    return too_many_requests(request, retry_after=rate_limit_window(request))


def privacy(request: HttpRequest) -> HttpResponse:
    """The privacy policy residents consent to at sign-up (its version is PRIVACY_POLICY_VERSION)."""
    return render(request, "portal/privacy.html", {"policy_version": settings.PRIVACY_POLICY_VERSION})
