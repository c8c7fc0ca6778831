"""Start the whole product on the embedded defaults: ASGI server, Celery worker and beat."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from crm.demo_setup import DEMO_LOGINS, DEMO_PASSWORD


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the web server (daphne), a Celery worker and beat until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="only the web server")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options) -> None:
        python = sys.executable
        commands = [[python, "-m", "daphne", "-b", host, "-p", str(port), "config.asgi:application"]]
        if not no_worker:
            # One solo worker with embedded beat: enough for the demo, and beat then runs once.
            commands.append(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--beat",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ]
            )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # SIGTERM (a process manager, or a test stopping us) must stop the children too:
        # turn it into the same path as Ctrl+C.
        signal.signal(signal.SIGTERM, _interrupt)
        processes = [subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env) for cmd in commands]
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nCRM Insights is running at {url}"))
        self.stdout.write(f"API docs: {url}api/docs/   Django admin: {url}admin/")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<8} {login.email:<24} password: {DEMO_PASSWORD}")
        self.stdout.write("Press Ctrl+C to stop.\n")
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
