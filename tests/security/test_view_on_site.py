"""The admin's "view on site" link (/admin/r/<content type>/<id>/) tells nothing about
objects outside an official's scope, and leads to this site, not http://example.com/.

The outside review: 302 for an object outside the scope and 404 for one that does not
exist told what exists; and the redirect went to example.com (the sites framework's
default domain).
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.test import Client, override_settings

from projects.models import Proposal, Space
from tests.builders import make_proposal, make_space

pytestmark = pytest.mark.django_db


def view_on_site(obj) -> str:
    return f"/admin/r/{ContentType.objects.get_for_model(obj).pk}/{obj.pk}/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_object_outside_the_scope_is_a_404_like_one_that_does_not_exist(official_a, town_b):
    elsewhere = make_proposal(make_space(town_b))
    client = client_for(official_a)

    outside = client.get(view_on_site(elsewhere))
    missing = client.get(f"/admin/r/{ContentType.objects.get_for_model(Proposal).pk}/987654/")
    garbage = client.get(f"/admin/r/{ContentType.objects.get_for_model(Proposal).pk}/not-an-id/")

    assert (outside.status_code, missing.status_code, garbage.status_code) == (404, 404, 404)


def test_an_object_in_scope_leads_to_its_page_on_this_site(official_a, town_a):
    proposal = make_proposal(make_space(town_a))

    response = client_for(official_a).get(view_on_site(proposal))

    assert response.status_code == 302
    assert response["Location"] == proposal.get_absolute_url()  # this host, never example.com


def test_staff_without_the_module_get_a_404(town_a, moderator):
    space = make_space(town_a)
    assert client_for(moderator).get(view_on_site(space)).status_code == 404


def test_the_superuser_follows_any_link(superuser, town_c):
    space = make_space(town_c)
    response = client_for(superuser).get(view_on_site(space))
    assert response.status_code == 302
    assert response["Location"] == space.get_absolute_url()


def test_residents_are_sent_to_the_admin_log_in(town_a, resident):
    response = client_for(resident).get(view_on_site(make_space(town_a)))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_model_without_a_public_page_is_a_404(official_a, town_a):
    # Users have no page of their own on the site.
    assert client_for(official_a).get(view_on_site(official_a)).status_code == 404


def test_the_sites_domain_is_the_configured_one():
    from portal.sites import site_configure

    assert Site.objects.get_current().domain == "127.0.0.1:8000"  # SITE_URL's default, set by migrate
    with override_settings(SITE_URL="https://portal.example.org"):
        site_configure()
        Site.objects.clear_cache()
        site = Site.objects.get_current()
    assert (site.domain, site.name) == ("portal.example.org", "portal.example.org")
    assert Space.objects.count() == 0  # nothing else was touched
