"""Project-wide pytest setup: PostgreSQL-only tests are skipped on SQLite, by name."""

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite has no row locks or triggers")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
