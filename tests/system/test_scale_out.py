"""Scale-out (issue 20, docs/operations.md "Scale-out"): two web processes (bin/serve), two
Celery workers and one beat on PostgreSQL and Redis, all real child processes on the test
database and broker.

- A periodic job on a 2-second interval (a django-celery-beat PeriodicTask on the scheduled
  reports' entry point) runs exactly once per tick: every message beat sent is received and
  run by exactly one of the two workers, and the report due today is delivered once per
  recipient however many ticks and workers saw it.
- An authenticated API request succeeds through each web process, and a WebSocket on one web
  process receives the numbers of a sale ingested through the other (channels-redis).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect

from config.celery import app as celery_app
from crm.models import Role
from reports.models import Delivery, Schedule
from reports.services import schedule_save
from tests.conftest import IN_CI, require_service
from tests.factories import MemberFactory, OrganizationFactory
from tests.system.processes import (
    child_database_url,
    child_env,
    serving,
    start,
    stop_all,
    wait_until,
    web_spawn,
)

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

ENTRY = "scale-out probe"
TASK = "reports.send_due_all"
INTERVAL_SECONDS = 2
TICKS = 3  # beat sends at least this many before the checks

# beat at DEBUG: "Scheduler: Sending due task <entry> (<task>)", then "<task> sent. id-><id>"
SENT = re.compile(
    r"^\[(?P<at>[\d\- :,]+): INFO/MainProcess\] Scheduler: Sending due task (?P<entry>.+) \((?P<task>[\w.]+)\)\n"
    r"^\[[\d\- :,]+: DEBUG/MainProcess\] (?P=task) sent\. id->(?P<id>[\w-]+)$",
    re.MULTILINE,
)


def _redis_up() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except RedisError:
        return False


@pytest.fixture
def services(settings) -> None:
    if IN_CI or (connection.vendor == "postgresql" and settings.CELERY_BROKER_URL.startswith("redis")):
        require_service("PostgreSQL", connection.vendor == "postgresql")
        require_service("Redis (REDIS_URL)", bool(settings.REDIS_URL) and _redis_up())
        require_service("a Redis broker (CELERY_BROKER_URL)", settings.CELERY_BROKER_URL.startswith("redis"))
    else:
        pytest.skip("the scale-out runs on PostgreSQL and Redis")
    celery_app.control.purge()  # messages other tests queued must not count here


@contextmanager
def deployment(logs: Path) -> Iterator[list[str]]:
    """2 web processes (1 worker each), 2 Celery workers, 1 beat, started together; yields the
    web processes' base URLs once both answer."""
    env = child_env(DATABASE_URL=child_database_url(), CRM_VAR_DIR=str(logs / "var"))
    worker = ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    processes = [
        start([*worker, "-n", f"scale-{i}-{logs.name}@%h"], env, logs / f"worker{i}.log") for i in (1, 2)
    ]
    processes.append(
        start(["-m", "celery", "-A", "config", "beat", "--loglevel=DEBUG"], env, logs / "beat.log")
    )
    try:
        webs = [web_spawn(env, logs / f"web{i}.log") for i in (1, 2)]
        processes += [process for process, _ in webs]
        for i, (process, base) in enumerate(webs, start=1):
            serving(process, base, logs / f"web{i}.log", timeout=90)
        yield [base for _, base in webs]
    finally:
        stop_all(processes)


def _worker_runs(log_dir: Path, task: str) -> list[str]:
    """The ids of `task` each worker ran to success, both workers' logs together."""
    pattern = re.compile(rf"Task {re.escape(task)}\[(?P<id>[\w-]+)\] succeeded in")
    return [
        m["id"] for index in (1, 2) for m in pattern.finditer((log_dir / f"worker{index}.log").read_text())
    ]


def _get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def _post(url: str, body: object, token: str) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_periodic_job_runs_once_per_tick_and_both_web_processes_answer(services, tmp_path):
    # given an organization in Nairobi with a daily report whose local time passed an hour ago,
    # created before that (so today's copy is due), for a manager and an agent
    now = timezone.now()
    org = OrganizationFactory(slug="scale-co", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(organization=org, role=Role.MANAGER, email="manager@scale.test")
    admin = MemberFactory(organization=org, role=Role.ADMIN, email="admin@scale.test")
    agent = MemberFactory(organization=org, role=Role.AGENT, email="agent@scale.test")
    local_time = (now - dt.timedelta(hours=1)).astimezone(org.tz).strftime("%H:%M")
    schedule = schedule_save(
        organization=org,
        owner=manager,
        data={
            "name": "Daily",
            "spec": {"sections": ["overview"], "range": "7d"},
            "formats": ["csv"],
            "cadence": "daily",
            "time": local_time,
            "recipients": [manager.email, agent.email],
        },
        now=now - dt.timedelta(hours=2),
    )
    # and beat's entry for the scheduled reports' entry point every 2 seconds
    every, _ = IntervalSchedule.objects.get_or_create(every=INTERVAL_SECONDS, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name=ENTRY, task=TASK, interval=every)
    token = str(AccessToken.for_user(manager))
    admin_token = str(AccessToken.for_user(admin))

    # when the deployment runs
    with deployment(tmp_path) as bases:
        _check_ticks_ran_once(tmp_path, schedule)
        # and an authenticated request works through each web process
        for base in bases:
            status, body = _get(f"{base}/api/v1/reports/schedules", token)
            assert status == 200
            assert [row["name"] for row in body["results"]] == ["Daily"]
        # and a socket on web process 2 receives a sale ingested through web process 1
        # (channels-redis carries the group message between them)
        revenue, ticket = asyncio.run(
            _live_revenue_after_sale(bases, manager_token=token, admin_token=admin_token)
        )
        assert revenue == Decimal("1234.50")
    # and the socket's one-use ticket is in no web process's log (G15)
    assert not [i for i in (1, 2) if ticket in (tmp_path / f"web{i}.log").read_text()]


def _check_ticks_ran_once(logs: Path, schedule: Schedule) -> None:
    def sent_ids() -> list[str]:
        return [m["id"] for m in SENT.finditer((logs / "beat.log").read_text()) if m["entry"] == ENTRY]

    def all_sent_ran() -> bool:
        sent = sent_ids()
        return len(sent) >= TICKS and set(sent) <= set(_worker_runs(logs, TASK))

    ticked = wait_until(all_sent_ran, timeout=40)
    beat_log = (logs / "beat.log").read_text()
    assert ticked, f"beat:\n{beat_log[-2000:]}\nworker 1:\n{(logs / 'worker1.log').read_text()[-2000:]}"

    # then each message beat sent ran exactly once, on one of the two workers
    sends = [m for m in SENT.finditer(beat_log) if m["entry"] == ENTRY]
    ran = _worker_runs(logs, TASK)
    assert len(ran) == len(set(ran))
    assert {m["id"] for m in sends} <= set(ran)
    # one message per tick, not two: the sends are an interval apart (beat's clock; only the
    # differences count, so the log's local time is read as UTC)
    moments = [dt.datetime.strptime(f"{m['at']}+0000", "%Y-%m-%d %H:%M:%S,%f%z") for m in sends]
    gaps = [(b - a).total_seconds() for a, b in zip(moments, moments[1:], strict=False)]
    assert min(gaps) >= INTERVAL_SECONDS * 0.5, gaps
    # and the copy due today went out once per recipient, whatever the ticks and workers
    assert wait_until(
        lambda: Delivery.objects.filter(schedule=schedule, state="sent").count() == 2, timeout=20
    ), (logs / "worker1.log").read_text()[-2000:]
    assert list(Delivery.objects.filter(schedule=schedule).values_list("attempts", flat=True)) == [1, 1]


async def _live_revenue_after_sale(
    bases: list[str], *, manager_token: str, admin_token: str
) -> tuple[Decimal, str]:
    """The revenue the socket is sent after the sale, and the socket's ticket."""
    # the ticket from web process 1, the socket on web process 2 (tickets are database rows)
    ticket = await asyncio.to_thread(_post, f"{bases[0]}/api/v1/bi/ws-ticket", {}, manager_token)
    url = bases[1].replace("http://", "ws://") + ticket["url"]
    async with connect(url, origin=bases[1], open_timeout=20) as socket:
        subscribe = {
            "type": "subscribe",
            "client_id": "scale",
            "metric_types": ["revenue"],
            "update_frequency": 5,
        }
        await socket.send(json.dumps(subscribe))
        snapshot = await _next_revenue(socket)
        assert Decimal(str(snapshot["total"])) == 0
        sale = {"external_id": "S-SCALE-1", "amount": "1234.50", "closed_at": timezone.now().isoformat()}
        stored = await asyncio.to_thread(_post, f"{bases[0]}/api/v1/ingest/sales/", [sale], admin_token)
        assert stored["stored"] == 1
        return Decimal(str((await _next_revenue(socket))["total"])), ticket["ticket"]


async def _next_revenue(socket) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
        assert message["type"] != "error", message
        if message["type"] == "metrics" and message["metric_type"] == "revenue":
            return message["data"]
