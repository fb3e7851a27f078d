"""Production settings and security headers: `check --deploy` clean, CSP without inline
scripts, HSTS, referrer and permissions policies, secure cookies, argon2 passwords."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from tests.builders import make_user

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "portal.example.org",
    "DATABASE_URL": "postgres://portal@db.invalid:5432/portal",
    "REDIS_URL": "redis://cache.invalid:6379/0",
}


def run_with_env(args: list[str], env_changes: dict[str, str]) -> subprocess.CompletedProcess:
    test_only = {"DATABASE_URL", "REDIS_URL", "FAST_PASSWORD_HASHER", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env.update(env_changes, DJANGO_SETTINGS_MODULE="portal.settings", VAR_DIR=str(BASE_DIR / "var"))
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def production_settings(env_changes: dict[str, str] | None = None) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({n: getattr(s, n, None) for n in ["
        "'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'PASSWORD_HASHERS', 'DEBUG', "
        "'SECURE_PROXY_SSL_HEADER', 'TRUSTED_PROXY_COUNT', 'TRUSTED_PROXY_NETWORKS']}))"
    )
    result = run_with_env(["-c", code], {**PRODUCTION_ENV, **(env_changes or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings():
    result = run_with_env(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_does_warn_with_development_settings():
    # The same command must be able to fail: the embedded defaults are not production.
    result = run_with_env(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"DEBUG": "1"})

    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr  # DEBUG on


def test_production_refuses_to_start_without_a_real_secret_key():
    result = run_with_env(["manage.py", "check"], {**PRODUCTION_ENV, "SECRET_KEY": ""})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_cookies_are_secure_and_hsts_is_on():
    prod = production_settings()

    assert prod["DEBUG"] is False
    assert prod["SESSION_COOKIE_SECURE"] is True
    assert prod["SESSION_COOKIE_HTTPONLY"] is True
    assert prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SECURE_HSTS_SECONDS"] >= 31536000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert prod["SECURE_SSL_REDIRECT"] is True


def test_passwords_are_hashed_with_argon2_unless_the_test_shortcut_is_set():
    assert production_settings()["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    fast = production_settings({"FAST_PASSWORD_HASHER": "1"})["PASSWORD_HASHERS"][0]
    assert fast != "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_argon2_hash_is_what_is_stored(db):
    with override_settings(PASSWORD_HASHERS=production_settings()["PASSWORD_HASHERS"]):
        user = make_user("argon@example.org")
    assert user.password.startswith("argon2$argon2id$")


@pytest.mark.django_db
def test_security_headers_on_the_home_page(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_hsts_is_sent_over_https_in_production(client):
    prod = production_settings()
    with override_settings(
        SECURE_HSTS_SECONDS=prod["SECURE_HSTS_SECONDS"], SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True
    ):
        response = client.get(reverse("home"), secure=True)

    assert response.headers["Strict-Transport-Security"] == (
        f"max-age={prod['SECURE_HSTS_SECONDS']}; includeSubDomains; preload"
    )


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_after_login_in_production(client):
    prod = production_settings()
    user = make_user("cookie@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    with override_settings(
        SESSION_COOKIE_SECURE=prod["SESSION_COOKIE_SECURE"],
        SESSION_COOKIE_HTTPONLY=prod["SESSION_COOKIE_HTTPONLY"],
        CSRF_COOKIE_SECURE=prod["CSRF_COOKIE_SECURE"],
    ):
        client.get(reverse("account_login"), secure=True)
        response = client.post(
            reverse("account_login"),
            {"login": user.email, "password": "correct horse battery staple"},
            secure=True,
        )

    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True


@pytest.mark.django_db
def test_a_nul_character_in_any_query_string_is_a_400_not_a_database_error(client):
    """PostgreSQL text cannot hold NUL; the admin's search box passed it straight on."""
    from portal.accounts.models import User

    root = User.objects.create_superuser("nul@example.org", "correct horse battery staple")
    client.force_login(root)
    for url in ("/admin/projects/space/?q=a%00b", "/proposals/?q=%00", "/stats/?x%00=1"):
        assert client.get(url).status_code == 400, url
    assert client.get("/admin/projects/space/?q=сквер").status_code == 200
