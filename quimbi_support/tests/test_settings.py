"""Production settings: `check --deploy` clean, static files served with DEBUG off."""

import os
import runpy
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
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
    env.pop("DATABASE_REPLICA_URL", None)  # a PostgreSQL replica of SQLite is refused
    server = subprocess.Popen(
        # The documented production settings (gunicorn.conf.py), one worker.
        [str(gunicorn), "quimbi_support.wsgi", "-c", "gunicorn.conf.py"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # Connect quickly or retry; the first answer may be slow on a busy machine
                # (a 2 s read timeout failed a CI run while another job loaded both cores).
                login = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=(2, 30))
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


SETTINGS = ROOT / "quimbi_support" / "settings.py"
PG = "postgres://postgres@127.0.0.1:5432/"


def _settings_with(monkeypatch, **variables) -> dict:
    """The settings module's names, evaluated with these variables (others unset)."""
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "CONN_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_without_DATABASE_REPLICA_URL_there_is_no_replica_and_no_router(monkeypatch):
    names = _settings_with(monkeypatch, DATABASE_URL=PG + "primary")
    assert list(names["DATABASES"]) == ["default"]
    assert "DATABASE_ROUTERS" not in names  # Django's default: none


def test_DATABASE_REPLICA_URL_adds_the_replica_and_its_router(monkeypatch):
    names = _settings_with(
        monkeypatch,
        DATABASE_URL=PG + "primary",
        DATABASE_REPLICA_URL=PG + "second",
        CONN_MAX_AGE="30",
    )
    replica = names["DATABASES"]["replica"]
    assert replica["NAME"] == "second"
    assert replica["CONN_MAX_AGE"] == 30 and replica["CONN_HEALTH_CHECKS"] is True
    assert "TEST" not in replica  # a test database of its own, not a mirror of the primary
    assert names["DATABASE_ROUTERS"] == ["agents.replica.ReplicaRouter"]


def test_a_replica_on_another_database_engine_is_refused(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="same database engine"):
        _settings_with(
            monkeypatch,
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            DATABASE_REPLICA_URL=PG + "second",
        )
