"""SANDBOX_MASTER_KEY: required in production, derived from SECRET_KEY in DEBUG/TESTING."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_KEY = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'studyapp.settings'; "
    "from django.conf import settings; print(settings.SANDBOX_MASTER_KEY)"
)


def settings_with(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SANDBOX_MASTER_KEY", "DEBUG", "TESTING", "SECRET_KEY")
    }
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEY],
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_master_key():
    done = settings_with(DEBUG="0", TESTING="0", SECRET_KEY="prod-secret-key")
    assert done.returncode != 0
    assert "SANDBOX_MASTER_KEY must be set" in done.stderr


def test_testing_derives_a_stable_32_byte_key_from_secret_key():
    first = settings_with(TESTING="1", SECRET_KEY="one").stdout.strip()
    again = settings_with(TESTING="1", SECRET_KEY="one").stdout.strip()
    other = settings_with(TESTING="1", SECRET_KEY="two").stdout.strip()
    assert first == again != other
    assert len(base64.b64decode(first)) == 32


def test_an_explicit_master_key_wins():
    key = base64.b64encode(b"k" * 32).decode()
    assert settings_with(TESTING="1", SANDBOX_MASTER_KEY=key).stdout.strip() == key
