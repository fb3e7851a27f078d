"""Error pages speak Russian in the site's frame, and the browser's favicon request is answered."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.builders import make_user

pytestmark = pytest.mark.django_db


def ru(client: Client | None = None) -> Client:
    client = client or Client()
    client.cookies["django_language"] = "ru"
    return client


def test_forbidden_page_is_russian_in_the_site_frame() -> None:
    client = ru()
    client.force_login(make_user(email="resident@example.org"))
    response = client.get("/volunteer/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "Доступ запрещён" in page
    assert 'class="site-header"' in page  # the site's own frame, not Django's bare page
    assert "Forbidden" not in page


def test_expired_form_page_explains_what_to_do() -> None:
    client = ru(Client(enforce_csrf_checks=True))
    response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "Форма устарела" in page
    assert "Ничего не сохранено" in page
    assert "CSRF" not in page


def test_missing_page_is_russian() -> None:
    response = ru().get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Страница не найдена" in page
    assert 'class="site-header"' in page


def test_server_error_page_needs_no_context(rf) -> None:
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Ошибка на сервере" in response.content.decode()


def test_favicon_is_served() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".ico")
    assert "favicon" in response["Location"]
