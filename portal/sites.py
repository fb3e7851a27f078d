"""The sites framework's Site is this portal: its domain is SITE_URL's host.

Django creates the Site as "example.com", and allauth names it in the subject of its
e-mails ("[example.com] Confirm your e-mail"); the admin's "view on site" used its
domain for the redirect. `migrate` brings it in line with SITE_URL every time it runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS


def site_configure(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    from django.contrib.sites.models import Site

    host = urlsplit(settings.SITE_URL).netloc
    Site.objects.using(using).update_or_create(pk=settings.SITE_ID, defaults={"domain": host, "name": host})
    Site.objects.clear_cache()
