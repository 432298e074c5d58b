"""Production settings: `check --deploy` is clean, static files build, secrets are required."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "studyapp.settings",
    "SECRET_KEY": "p9Xr!2mK#vL8qZ4wN7tB1yH6cF3jD0sA5gE-uR_iO+eW@xT&kY%zM^nQ*bV(lP)",
    "ALLOWED_HOSTS": "study.example.com",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
    "SANDBOX_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


def manage(*args, env=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env or PRODUCTION_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_collectstatic_builds_compressed_hashed_files(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}
    result = manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "css/site.css" in manifest
    assert list(tmp_path.glob("css/site.*.css.gz")) and list(tmp_path.glob("css/site.*.css.br"))


def test_redis_holds_cache_and_sessions_when_configured():
    """Several app servers share state through Redis (this project's machines run it)."""
    code = (
        "import django; django.setup();"
        "from django.conf import settings; from django.core.cache import caches;"
        "cache = caches['default'];"
        "import uuid; key = str(uuid.uuid4()); cache.set(key, 'shared', 30);"
        "assert cache.get(key) == 'shared'; cache.delete(key);"
        "print(settings.SESSION_ENGINE, type(cache).__name__)"
    )
    env = {**PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:6379/15"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.contrib.sessions.backends.cache", "RedisCache"]
