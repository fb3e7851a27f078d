"""The settings module reads the environment and writes nothing; the portal creates the
folders of its embedded defaults when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_settings_creates_no_folder(tmp_path):
    var = tmp_path / "var"

    result = run_python("import portal.settings as s; print(s.VAR_DIR, s.MEDIA_ROOT)", VAR_DIR=str(var))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(var), str(var / "media")]
    assert not var.exists()


def test_the_portal_creates_its_local_state_folders_when_it_starts(tmp_path):
    var = tmp_path / "var"

    result = run_python("import django; django.setup()", VAR_DIR=str(var))

    assert result.returncode == 0, result.stderr
    assert (var / "celery-broker").is_dir()


def test_settings_paths_come_from_the_environment_helpers(tmp_path):
    result = run_python(
        "import portal.settings as s; print(s.STATIC_ROOT, s.MEDIA_ROOT)",
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "static"), str(tmp_path / "media")]
