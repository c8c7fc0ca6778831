"""A database outage is answered, not hung on, and survived (RELIABILITY.md G12, issue 20).

A real server process (daphne, production settings: DEBUG off, the connection pool on) reaches
PostgreSQL through a TCP proxy that the test cuts and restores: while it is cut, the API
answers JSON 503 with Retry-After and pages a styled 503 page, each within 2.5 s; once it is
restored, requests succeed again within 2 s. Before this, the API answered JSON 500 without
Retry-After and pages "Server Error (500)".
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from crm.models import Role
from tests.conftest import IN_CI, require_service
from tests.factories import MemberFactory, OrganizationFactory
from tests.system.processes import asgi_start, child_database_url, child_env, free_port, stop

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

ANSWER_WITHIN_SECONDS = 2.5
RECOVER_WITHIN_SECONDS = 2.0


class TcpProxy:
    """Forwards a local port to PostgreSQL; `cut()` closes the listener and every connection
    (the database is gone), `restore()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    def restore(self) -> None:
        self._run(self._start())

    def cut(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        if self.server is not None and self.server.is_serving():
            self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer_headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, body = error.code, dict(error.headers), error.read()
    return status, answer_headers, body, time.perf_counter() - started


def test_an_outage_answers_503_with_retry_after_and_requests_succeed_once_it_is_over(tmp_path):
    if IN_CI or connection.vendor == "postgresql":
        require_service("PostgreSQL", connection.vendor == "postgresql")
    else:
        pytest.skip("the outage is of PostgreSQL")
    org = OrganizationFactory(slug="outage-co")
    manager = MemberFactory(email="manager@outage.test", organization=org, role=Role.MANAGER)
    api = {"Authorization": f"Bearer {AccessToken.for_user(manager)}"}
    browser = Client()
    browser.force_login(manager)
    page = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"}

    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    proxy.restore()
    through_proxy = child_database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    env = child_env(
        DATABASE_URL=through_proxy,
        CRM_VAR_DIR=str(tmp_path / "var"),
        DB_POOL_MAX_SIZE="4",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
    )
    process, base = asgi_start("config.asgi:application", env, tmp_path / "daphne.log")
    try:
        # given a server answering from the database
        assert _get(f"{base}/api/v1/reports/schedules", api)[0] == 200
        assert _get(f"{base}/reports", page)[0] == 200

        # when the database goes away
        proxy.cut()
        api_status, api_headers, api_body, api_seconds = _get(f"{base}/api/v1/reports/schedules", api)
        page_status, page_headers, page_body, page_seconds = _get(f"{base}/reports", page)

        # then the API answers 503 in the error shape, and the page a styled 503, both with
        # Retry-After and neither hanging
        assert api_status == 503, api_body[:300]
        assert json.loads(api_body)["error"]["code"] == "service_unavailable"
        assert int(api_headers["Retry-After"]) > 0
        assert page_status == 503, page_body[:300]
        assert b'data-testid="status-page"' in page_body
        assert b"css/app.css" in page_body  # the product's page, not "Server Error (500)"
        assert int(page_headers["Retry-After"]) > 0
        assert max(api_seconds, page_seconds) < ANSWER_WITHIN_SECONDS, (api_seconds, page_seconds)

        # when it is back, requests succeed within 2 s
        proxy.restore()
        back = time.perf_counter()
        while _get(f"{base}/api/v1/reports/schedules", api)[0] != 200:
            assert time.perf_counter() - back < RECOVER_WITHIN_SECONDS + 3, "still failing"
            time.sleep(0.05)
        recovered = time.perf_counter() - back
        assert recovered < RECOVER_WITHIN_SECONDS, recovered
        assert _get(f"{base}/reports", page)[0] == 200
    finally:
        stop(process)
        proxy.close()
