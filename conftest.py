"""Project-wide pytest setup: the Russian catalogue is compiled when its .mo is missing or
older than the .po (pages render in Russian by default, and many tests read them), and
PostgreSQL-only tests are skipped on SQLite, with the reason."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from asgiref.local import Local
from django.conf import settings
from django.utils.translation import trans_real
from hypothesis import settings as hypothesis_settings

# CI runs the property tests and the API fuzzing on a fixed sequence of examples, so a
# run's verdict is about the code, not the draw; developers' runs keep exploring.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    compile_stale_catalogues()


def compile_stale_catalogues() -> None:
    if shutil.which("msgfmt") is None:
        return  # tests/i18n fails with a clear message; `make messages` says what to install
    compiled = False
    for locale_path in settings.LOCALE_PATHS:
        for po in Path(locale_path).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)  # noqa: S603, S607
                compiled = True
    if compiled:
        # pytest-django set Django up before this hook, and Django may already hold the
        # catalogues it found then (none, on a first run): forget them, as Django does
        # when LOCALE_PATHS changes, so the compiled one is read.
        trans_real._translations = {}  # type: ignore[attr-defined]
        trans_real._default = None  # type: ignore[attr-defined]
        trans_real._active = Local()  # type: ignore[attr-defined]
        trans_real.translation_catalog_exists.cache_clear()  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config, items):
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite has no row locks or triggers")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
