from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from portal import admin_links, health, metrics, stats, views

# allauth answers its rate limits with this (respond_429 looks it up here).
handler429 = views.allauth_rate_limited

admin.site.site_header = _("Portal: comfortable urban environment")
admin.site.site_title = _("Portal administration")

api_v1: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("votes.api_urls")),
]

urlpatterns = [
    path("health/live/", health.live, name="health_live"),
    path("health/ready/", health.ready, name="health_ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("privacy/", views.privacy, name="privacy"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("stats/", stats.stats, name="stats"),
    path("lang/<str:code>/", views.language_switch, name="language_switch"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own route of the same name: scoped, and on this host (admin_links.py).
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(admin_links.view_on_site),
        name="admin_view_on_site",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("me/", include("portal.accounts.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("", include("projects.urls")),
    path("", include("votes.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
