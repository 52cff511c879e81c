"""Production settings: `check --deploy` clean, static files served with DEBUG off."""

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "support.example.com",
    "HTTPS": "true",
    "DEBUG": "false",
}


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(PROD_ENV)
    env.update(extra)
    return env


def test_check_deploy_reports_nothing_with_production_env():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_catches_the_embedded_defaults():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "HTTPS", "DEBUG")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "security.W009" in result.stderr + result.stdout  # the insecure default key


@pytest.mark.django_db
def test_admin_static_files_are_served_with_debug_off(settings):
    assert settings.DEBUG is False
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_is_styled_under_gunicorn(tmp_path):
    port = _free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = _env(
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    server = subprocess.Popen(
        [str(gunicorn), "quimbi_support.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        # The login page needs no database tables; its stylesheet must load.
        assert login.status_code == 200
        assert "/static/admin/css/base.css" in login.text
        css = requests.get(f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=5)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
        assert len(css.content) > 1000
    finally:
        server.terminate()
        server.wait(timeout=10)
