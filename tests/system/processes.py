"""Starting real processes (web servers, Celery worker and beat) for system tests and benches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def child_database_url() -> str:
    """The URL of the database pytest-django created, for a child process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.update(overrides)
    return env


def start(
    args: list[str], env: dict[str, str], log: Path, *, program: Sequence[str] = (sys.executable,)
) -> subprocess.Popen:
    """`program args` in the project's folder, its output in `log` (Python by default)."""
    handle = log.open("wb")
    return subprocess.Popen([*program, *args], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serving(process: subprocess.Popen, base: str, log: Path, *, timeout: float) -> None:
    """Returns once `base`'s login page answers 200; otherwise stops the process and raises
    RuntimeError with the log's tail."""

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return process.poll() is not None  # exited: stop waiting

    if not wait_until(up, timeout=timeout) or process.poll() is not None:
        stop(process)
        raise RuntimeError(log.read_text()[-3000:])


def asgi_start(
    application: str, env: dict[str, str], log: Path, *, timeout: float = 60
) -> tuple[subprocess.Popen, str]:
    """daphne serving `application` on a free port, returned once its login page answers:
    (the process, its base URL). Raises RuntimeError with the log's tail when it does not."""
    port = free_port()
    process = start(["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), application], env, log)
    base = f"http://127.0.0.1:{port}"
    serving(process, base, log, timeout=timeout)
    return process, base


def web_spawn(env: dict[str, str], log: Path, *, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """The production web process, `bin/serve` (gunicorn with uvicorn workers, HTTP and
    WebSockets), with `workers` workers on a free port, not waited for: (the gunicorn master,
    its base URL); `serving()` waits for it."""
    port = free_port()
    process = start(
        ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        {**env, "PYTHON": sys.executable},
        log,
        program=[str(ROOT / "bin" / "serve")],
    )
    return process, f"http://127.0.0.1:{port}"


def stop_all(processes: list[subprocess.Popen]) -> None:
    """`stop` for several processes, which shut down at the same time."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
