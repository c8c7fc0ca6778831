"""The demo comes up on the embedded defaults and serves the login page."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from tests.system.processes import ROOT, free_port, start, stop, wait_until

pytestmark = pytest.mark.system

EMBEDDED_ONLY = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL")


def embedded_env(var_dir) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY}
    env.update(
        {"CRM_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    )
    return env


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def test_demo_starts_and_serves_login(tmp_path):
    env = embedded_env(tmp_path / "var")
    # given the demo's set-up steps (as in `make demo`) on an empty embedded database
    for step in (["manage.py", "migrate", "--noinput"], ["manage.py", "setup_demo"]):
        result = subprocess.run(
            [sys.executable, *step], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "manager@demo.example" in result.stdout
    # when the demo server, worker and beat start
    port = free_port()
    log = tmp_path / "demo.log"
    process = start(["manage.py", "rundemo", "--port", str(port)], env, log)
    try:
        up = wait_until(lambda: fetch(f"http://127.0.0.1:{port}/accounts/login/")[0] == 200, timeout=60)
        # then the login page answers, and the URL and logins were printed
        assert up, log.read_text()[-3000:]
        status, body = fetch(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200
        assert "password" in body.lower()
        assert f"http://127.0.0.1:{port}/" in log.read_text()
        assert process.poll() is None
    finally:
        stop(process)
