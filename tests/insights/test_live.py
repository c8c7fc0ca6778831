"""WS /ws/bi-dashboard (DESIGN section 9.7) with channels' WebsocketCommunicator against the
real ASGI application: authentication (session, one-use ticket, 4401 otherwise, bad origin),
the protocol (subscribe, snapshot, ping, unsubscribe, errors), updates after a committed
ingest at most once per update_frequency, sequence numbers, and no frame across organizations."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from rest_framework.test import APIClient

from config.asgi import application
from crm.ingestion import ingest_records
from insights import live
from insights.consumers import UNAUTHORIZED

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


def session_cookie(member) -> bytes:
    store = SessionStore()
    store[SESSION_KEY] = str(member.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = member.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


def connect(
    path: str = "/ws/bi-dashboard", *, cookie: bytes | None = None, origin=ORIGIN
) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


def hours_ago(hours: int) -> str:
    """A closing time inside the live window (the last 30 days) whenever the test runs."""
    return (timezone.now() - dt.timedelta(hours=hours)).isoformat()


def run(coro):
    """In a thread of its own: the browser tests' Playwright keeps an event loop running in
    the main thread of the same worker, where asyncio.run() refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _subscribe(comm, types, frequency=5) -> list[dict]:
    await comm.send_json_to(
        {"type": "subscribe", "client_id": "t1", "metric_types": types, "update_frequency": frequency}
    )
    first = await comm.receive_json_from(timeout=10)
    snapshots = [await comm.receive_json_from(timeout=10) for _ in types]
    return [first, *snapshots]


def test_anonymous_is_closed_with_4401(db):
    async def scenario():
        comm = connect()
        connected, _ = await comm.connect()
        assert connected
        closed = await comm.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": UNAUTHORIZED}

    run(scenario())


def test_a_foreign_origin_is_refused(manager_a):
    cookie = session_cookie(manager_a)

    async def scenario():
        comm = connect(cookie=cookie, origin=(b"origin", b"https://evil.example"))
        connected, _ = await comm.connect()
        assert not connected

    run(scenario())


def test_a_manager_gets_the_overviews_numbers_at_once_and_pong(manager_a, org_a):
    cookie = session_cookie(manager_a)
    ingest_records(
        organization=org_a,
        entity="sales",
        records=[{"external_id": "S-1", "amount": "1500.00", "closed_at": hours_ago(5)}],
    )
    expected = live.metrics_payload(org_a, ["revenue"], as_of=timezone.now())

    async def scenario():
        comm = connect(cookie=cookie)
        connected, _ = await comm.connect()
        assert connected
        subscribed, revenue = await _subscribe(comm, ["revenue"])
        assert subscribed["type"] == "subscribed"
        assert subscribed["metric_types"] == ["revenue"]
        assert (revenue["type"], revenue["metric_type"]) == ("metrics", "revenue")
        assert revenue["data"]["total"] == expected["revenue"]["total"] == 1500.0
        assert revenue["seq"] == subscribed["seq"] + 1
        await comm.send_json_to({"type": "ping"})
        pong = await comm.receive_json_from(timeout=5)
        assert (pong["type"], pong["seq"]) == ("pong", revenue["seq"] + 1)
        await comm.disconnect()

    run(scenario())


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "subscribe", "metric_types": ["weather"]}, "metric_types"),
        ({"type": "subscribe", "metric_types": ["revenue"], "update_frequency": 1}, "update_frequency"),
        ({"type": "subscribe", "metric_types": ["revenue"], "update_frequency": 7200}, "update_frequency"),
        ({"type": "dance"}, "type"),
    ],
)
def test_bad_messages_get_an_error(manager_a, message, field):
    cookie = session_cookie(manager_a)

    async def scenario():
        comm = connect(cookie=cookie)
        await comm.connect()
        await comm.send_json_to(message)
        error = await comm.receive_json_from(timeout=5)
        assert (error["type"], error["code"]) == ("error", "bad_request")
        assert error["message"].startswith(field)
        await comm.disconnect()

    run(scenario())


def test_a_committed_ingest_sends_one_update_and_other_organizations_hear_nothing(
    manager_a, org_a, outsider, monkeypatch
):
    # one second instead of the protocol's minimum of five keeps the test short
    monkeypatch.setattr(live, "MIN_FREQUENCY", 1)
    mine, theirs = session_cookie(manager_a), session_cookie(outsider)

    async def scenario():
        a = connect(cookie=mine)
        b = connect(cookie=theirs)
        await a.connect()
        await b.connect()
        await _subscribe(a, ["revenue", "leads"], frequency=1)
        await _subscribe(b, ["revenue"], frequency=1)
        await asyncio.sleep(1.1)  # past the update_frequency of the snapshots
        await sync_to_async(ingest_records)(
            organization=org_a,
            entity="sales",
            records=[{"external_id": "S-9", "amount": "250.00", "closed_at": hours_ago(4)}],
        )
        updates = [await a.receive_json_from(timeout=10) for _ in range(2)]
        assert sorted(u["metric_type"] for u in updates) == ["leads", "revenue"]
        revenue = next(u for u in updates if u["metric_type"] == "revenue")
        assert revenue["data"]["total"] == 250.0
        # a second change within the frequency: no frame now, one later with both changes
        await sync_to_async(ingest_records)(
            organization=org_a,
            entity="sales",
            records=[{"external_id": "S-10", "amount": "100.00", "closed_at": hours_ago(3)}],
        )
        assert await a.receive_nothing(timeout=0.3)
        later = [await a.receive_json_from(timeout=10) for _ in range(2)]
        assert next(u for u in later if u["metric_type"] == "revenue")["data"]["total"] == 350.0
        seqs = [u["seq"] for u in updates + later]
        assert seqs == sorted(seqs)
        # the other organization's socket got nothing of this
        assert await b.receive_nothing(timeout=0.5)
        await a.disconnect()
        await b.disconnect()

    run(scenario())


def test_a_ticket_opens_one_socket_once(manager_a):
    client = APIClient()
    client.force_authenticate(manager_a)
    response = client.post("/api/v1/bi/ws-ticket")
    assert response.status_code == 201
    url = response.json()["url"]

    async def scenario():
        first = connect(url)
        await first.connect()
        await first.send_json_to({"type": "ping"})
        assert (await first.receive_json_from(timeout=5))["type"] == "pong"
        await first.disconnect()
        again = connect(url)
        await again.connect()
        assert await again.receive_output(timeout=5) == {"type": "websocket.close", "code": UNAUTHORIZED}

    run(scenario())


@pytest.mark.parametrize("ending", ["logout", "deactivation"])
def test_the_end_of_a_membership_closes_the_socket_within_the_recheck(manager_a, monkeypatch, ending):
    """G9: a logout (the session deleted) or a deactivated member closes the socket with 4401
    at the next check (30 s in production; 0.2 s here)."""
    from insights import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.2)
    cookie = session_cookie(manager_a)

    def end_it() -> None:
        if ending == "logout":
            SessionStore(session_key=cookie.decode().split("=", 1)[1]).delete()
        else:
            manager_a.is_active = False
            manager_a.save(update_fields=["is_active"])

    async def scenario():
        comm = connect(cookie=cookie)
        await comm.connect()
        await comm.send_json_to({"type": "ping"})
        await comm.receive_json_from(timeout=5)
        await sync_to_async(end_it)()
        assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": UNAUTHORIZED}

    run(scenario())


def test_an_agents_socket_carries_only_the_agents_own_numbers(org_a, agent_a):
    """The overview's totals are for managers: an agent gets the overview filtered to them
    (their 300.00, not the organization's 1,300.00), and no organization-wide engagement."""
    from tests.factories import MemberFactory

    bea = MemberFactory(organization=org_a, email="bea@acme.test", role="agent")
    ingest_records(
        organization=org_a,
        entity="sales",
        records=[
            {
                "external_id": "S-A",
                "agent": agent_a.email,
                "amount": "300.00",
                "closed_at": hours_ago(50),
            },
            {
                "external_id": "S-B",
                "agent": bea.email,
                "amount": "1000.00",
                "closed_at": hours_ago(49),
            },
        ],
    )
    cookie = session_cookie(agent_a)

    async def scenario():
        comm = connect(cookie=cookie)
        await comm.connect()
        _, revenue = await _subscribe(comm, ["revenue"])
        assert revenue["data"]["total"] == 300.0
        assert revenue["data"]["display"]["revenue.total"]["value"] == "KES 300.00"
        await comm.send_json_to({"type": "subscribe", "metric_types": ["engagement"], "update_frequency": 30})
        refused = await comm.receive_json_from(timeout=5)
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        await comm.disconnect()

    run(scenario())


def test_the_sockets_of_one_view_share_one_computation_per_change(org_a, manager_a, agent_a, monkeypatch):
    """Two managers and an agent of one organization: after a change, the managers' numbers
    are computed once for both (and the agent's own once), and both managers get the same."""
    from tests.factories import MemberFactory

    monkeypatch.setattr(live, "MIN_FREQUENCY", 1)
    second = MemberFactory(organization=org_a, email="second@acme.test", role="manager")
    calls = []
    original = live.payload_json

    def counting(organization, metric_types, *, as_of, agent=None):
        calls.append((agent.pk if agent else None, tuple(metric_types)))
        return original(organization, metric_types, as_of=as_of, agent=agent)

    monkeypatch.setattr(live, "payload_json", counting)
    cookies = [session_cookie(m) for m in (manager_a, second, agent_a)]

    async def scenario():
        sockets = [connect(cookie=c) for c in cookies]
        for socket in sockets:
            await socket.connect()
            await _subscribe(socket, ["revenue", "calls"], frequency=1)
        await asyncio.sleep(1.1)
        calls.clear()
        await sync_to_async(ingest_records)(
            organization=org_a,
            entity="sales",
            records=[
                {"external_id": "S-S", "agent": agent_a.email, "amount": "75.00", "closed_at": hours_ago(2)}
            ],
        )
        updates = [[await s.receive_json_from(timeout=10) for _ in range(2)] for s in sockets]
        revenue = [next(u for u in batch if u["metric_type"] == "revenue") for batch in updates]
        assert revenue[0]["data"] == revenue[1]["data"]
        assert revenue[0]["data"]["total"] == revenue[2]["data"]["total"] == 75.0
        assert len(calls) == 2
        assert set(calls) == {(None, ("revenue", "calls")), (agent_a.pk, ("revenue", "calls"))}
        for socket in sockets:
            await socket.disconnect()

    run(scenario())


# --- G9 of shared RELIABILITY.md (the rest above: bad origin, anonymous, logout, deactivation) ---


def test_a_jwt_in_the_url_does_not_open_a_socket(manager_a):
    """Only a one-use ticket opens a socket without a session: a JWT never goes in a URL."""
    from rest_framework_simplejwt.tokens import AccessToken

    token = str(AccessToken.for_user(manager_a))

    async def scenario():
        for query in (f"ticket={token}", f"token={token}", f"access={token}"):
            comm = connect(f"/ws/bi-dashboard?{query}")
            await comm.connect()
            assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": UNAUTHORIZED}

    run(scenario())


def test_naming_another_organization_joins_nothing_of_it(manager_a, org_a, org_b, monkeypatch):
    """The group is the member's organization's, never one the client names: a subscribe that
    names organization B still carries A's numbers, and B's changes send A's socket nothing."""
    monkeypatch.setattr(live, "MIN_FREQUENCY", 1)
    cookie = session_cookie(manager_a)

    async def scenario():
        comm = connect(
            f"/ws/bi-dashboard?organization={org_b.pk}&group={live.group_name(org_b.pk)}", cookie=cookie
        )
        await comm.connect()
        await comm.send_json_to(
            {
                "type": "subscribe",
                "metric_types": ["revenue"],
                "update_frequency": 1,
                "organization": org_b.pk,
                "group": live.group_name(org_b.pk),
            }
        )
        assert (await comm.receive_json_from(timeout=10))["type"] == "subscribed"
        snapshot = await comm.receive_json_from(timeout=10)
        assert snapshot["data"]["total"] == 0
        await asyncio.sleep(1.1)
        await sync_to_async(ingest_records)(
            organization=org_b,
            entity="sales",
            records=[{"external_id": "S-B1", "amount": "999.00", "closed_at": hours_ago(1)}],
        )
        assert await comm.receive_nothing(timeout=1.0)
        await comm.disconnect()

    run(scenario())
