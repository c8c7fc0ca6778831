"""Live metrics push (B12 of BENCHMARKS.md): 500 WebSocket clients in 20 organizations.

    createdb -h 127.0.0.1 -U postgres crm_bench_ws
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_ws REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/live.py --setup [--seconds 60]

--setup migrates the database and creates the organizations (`live-bench-01` ...), each with
the demo generator's small history (420 contacts, 8 agents, 13 months) and 25 managers.

One ASGI process (daphne, a child process serving bench/live_asgi.py: the product plus the
reference route) with the channels-redis layer. Per organization 25 clients: managers
subscribed to the five metric types and --agents agents (default 5) to the four an agent may
follow (each agent's own numbers: one more computation per change), all at
`update_frequency` 5, the shortest the protocol allows; each client authenticates with its own
one-use ticket. Every organization commits one sale of 1.00 through the ingestion service
every 5 seconds (staggered), so each client is sent one update per second on average (five
types per 5 s for a manager). The commit time is taken by an on_commit callback registered
before the ingestion's own (the one that tells the sockets).

Two runs on the same data and server, one after the other:

  R  the reference: the same clients on `/ws/bench-relay`, a consumer that only relays (it
     sends the same number of frames per change, without computing anything);
  L  the product: `/ws/bi-dashboard` (LiveMetricsConsumer, insights.live).

Per frame, the latency is its arrival minus the time of the latest commit of its organization
before it. Reported: p50/p95/p99 latency, frames delivered per second (the fan-out), L's over
R's; lost messages: gaps in any socket's `seq`, and for L, managers whose last revenue frame
does not hold the snapshot's revenue plus 1.00 per commit. Targets: p95 under 250 ms, fan-out at least
0.8x R, zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from crm.demo.loader import demo_load  # noqa: E402
from crm.ingestion.service import ingest_records  # noqa: E402
from crm.models import Member, Organization, Role, Sale  # noqa: E402
from crm.services import member_add  # noqa: E402
from insights import tickets  # noqa: E402
from tests.system.processes import asgi_start, stop  # noqa: E402

PERIOD = 5.0  # seconds between two commits of one organization = the clients' update_frequency
PER_ORG = 25  # clients per organization: managers, and --agents of them agents
MANAGER_TYPES = ["revenue", "leads", "calls", "engagement", "performance"]
AGENT_TYPES = ["revenue", "leads", "calls", "performance"]


def org_slug(index: int) -> str:
    return f"live-bench-{index:02d}"


def setup(orgs: int) -> None:
    call_command("migrate", verbosity=0)
    for index in range(1, orgs + 1):
        org, created = Organization.objects.get_or_create(
            slug=org_slug(index), defaults={"name": f"Live bench {index:02d}", "currency": "KES"}
        )
        if created or not Sale.objects.filter(organization=org).exists():
            demo_load(organization=org, seed=index, scale="small", as_of=timezone.now(), progress=None)
        for number in range(1, PER_ORG + 1):
            email = f"manager{number:02d}@{org.slug}.bench"
            if not Member.objects.filter(email=email).exists():
                member_add(organization=org, email=email, role=Role.MANAGER, password=None)
        print(f"  {org.slug}: ready", flush=True)


@dataclass
class Client:
    org_id: int
    manager: bool
    types: list[str]
    url: str = ""
    seqs: list[int] = field(default_factory=list)
    frames: list[tuple[float, str, dict | None]] = field(default_factory=list)  # (arrival, type, data)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    snapshots: int = 0
    computed: list[tuple[float, float]] = field(default_factory=list)  # (arrival, as_of)


def clients_for(orgs: list[Organization], mode: str, base_ws: str, agents: int) -> list[Client]:
    clients: list[Client] = []
    now = timezone.now()
    for org in orgs:
        managers = list(
            Member.objects.filter(organization=org, role=Role.MANAGER).order_by("email")[: PER_ORG - agents]
        )
        viewers = list(
            Member.objects.filter(organization=org, role=Role.AGENT, is_active=True).order_by("email")[
                :agents
            ]
        )
        if len(managers) < PER_ORG - agents or len(viewers) < agents:
            raise SystemExit(f"{org.slug}: run with --setup first")
        for member in [*managers, *viewers]:
            manager = member.role == Role.MANAGER
            client = Client(org.pk, manager, MANAGER_TYPES if manager else AGENT_TYPES)
            if mode == "relay":
                client.url = f"{base_ws}/ws/bench-relay?org={org.pk}&frames={len(client.types)}"
            else:
                token, _ = tickets.ticket_issue(member, now=now)
                client.url = f"{base_ws}/ws/bi-dashboard?ticket={token}"
            clients.append(client)
    return clients


async def run_client(client: Client, mode: str, origin: str, stop_at: asyncio.Event) -> None:
    async with connect(client.url, origin=origin, max_size=2**22, open_timeout=60) as socket:
        if mode == "relay":
            client.subscribed.set()
        else:
            await socket.send(
                json.dumps(
                    {
                        "type": "subscribe",
                        "client_id": "bench",
                        "metric_types": client.types,
                        "update_frequency": int(PERIOD),
                    }
                )
            )
        while not stop_at.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
            except TimeoutError:
                continue
            arrival = time.time()
            message = json.loads(raw)
            client.seqs.append(message["seq"])
            if message["type"] == "error":
                raise RuntimeError(f"server error: {message}")
            if message["type"] != "metrics":
                continue
            if mode == "live" and client.snapshots < len(client.types):
                client.snapshots += 1
                if client.snapshots == len(client.types):
                    client.subscribed.set()
                data = message["data"] if message["metric_type"] == "revenue" else None
                client.frames.append((-1.0, message["metric_type"], data))  # the snapshot
                continue
            data = message.get("data") if message["metric_type"] == "revenue" else None
            if "as_of" in message:  # when the server computed the numbers it sends
                client.computed.append((arrival, dt.datetime.fromisoformat(message["as_of"]).timestamp()))
            client.frames.append((arrival, message["metric_type"], data))


def commit_loop(
    orgs: list[Organization], seconds: float, commits: dict[int, list[float]], started: float
) -> None:
    """Each organization commits a sale of 1.00 every PERIOD seconds, staggered."""
    close_old_connections()
    offsets = {org.pk: PERIOD * index / len(orgs) for index, org in enumerate(orgs)}
    due = {org.pk: started + offsets[org.pk] for org in orgs}
    by_id = {org.pk: org for org in orgs}
    counter = 0
    while True:
        org_id = min(due, key=due.get)
        when = due[org_id]
        if when - started >= seconds:
            break
        time.sleep(max(0.0, when - time.perf_counter()))
        counter += 1
        with transaction.atomic():
            # registered first, so it runs first at the commit, before the live listener
            transaction.on_commit(lambda o=org_id: commits[o].append(time.time()))
            result = ingest_records(
                organization=by_id[org_id],
                entity="sales",
                records=[
                    {
                        "external_id": f"LIVE-BENCH-{org_id}-{time.time_ns()}-{counter}",
                        "amount": "1.00",
                        "closed_at": timezone.now().isoformat(),
                    }
                ],
            )
        assert result.rows_stored == 1, result
        due[org_id] = when + PERIOD


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Result:
    mode: str
    frames: int
    seconds: float
    latencies: list[float]
    gaps: int
    stale: int
    connect_seconds: float
    waits: list[float]

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


async def run_mode(mode: str, orgs: list[Organization], seconds: float, base: str, agents: int) -> Result:
    base_ws = base.replace("http://", "ws://")
    clients = await asyncio.to_thread(clients_for, orgs, mode, base_ws, agents)
    stop_at = asyncio.Event()
    connecting = time.perf_counter()
    tasks = []
    # One organization's 25 clients at a time: 500 handshakes in one burst queue behind the
    # snapshots' computations past daphne's 5 s connect timeout (docs/live.md, "Production").
    for first in range(0, len(clients), PER_ORG):
        batch = clients[first : first + PER_ORG]
        tasks.extend(asyncio.create_task(run_client(client, mode, base, stop_at)) for client in batch)
        await asyncio.wait_for(asyncio.gather(*(c.subscribed.wait() for c in batch)), timeout=120)
    connect_seconds = time.perf_counter() - connecting
    await asyncio.sleep(PERIOD + 1)  # nothing pending from the snapshots' timers

    commits: dict[int, list[float]] = defaultdict(list)
    started = time.perf_counter()
    await asyncio.to_thread(commit_loop, orgs, seconds, commits, started)
    await asyncio.sleep(PERIOD + 2)  # the last changes' messages (a deferred one waits up to PERIOD)
    measured = time.perf_counter() - started
    stop_at.set()
    await asyncio.gather(*tasks)

    latencies: list[float] = []
    waits: list[float] = []  # commit to the start of the computation a frame carries
    frames = gaps = stale = 0
    for client in clients:
        gaps += sum(1 for a, b in zip(client.seqs, client.seqs[1:], strict=False) if b != a + 1)
        gaps += 1 if client.seqs and client.seqs[0] != 1 else 0
        times = commits[client.org_id]
        for arrival, as_of in client.computed:
            before = [t for t in times if t <= arrival]
            if before and as_of >= before[-1]:
                waits.append((as_of - before[-1]) * 1000)
        last_revenue = first_revenue = None
        for arrival, _type, data in client.frames:
            if arrival < 0:
                first_revenue = data if data is not None else first_revenue
                continue
            frames += 1
            before = [t for t in times if t <= arrival]
            if before:
                latencies.append((arrival - before[-1]) * 1000)
            if data is not None:
                last_revenue = data
        if mode == "live" and client.manager and times:
            # each commit added 1.00 to the snapshot's 30-day revenue
            expected = Decimal(str(first_revenue["total"])) + len(times)
            if last_revenue is None or Decimal(str(last_revenue["total"])) != expected:
                stale += 1
    return Result(mode, frames, measured, latencies, gaps, stale, connect_seconds, waits)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--agents", type=int, default=5, help="clients per organization that are agents (0-8)"
    )
    args = parser.parse_args()
    if "redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        raise SystemExit("B12 runs on channels-redis: set REDIS_URL")
    if args.setup:
        setup(args.orgs)
    orgs = list(Organization.objects.filter(slug__startswith="live-bench-").order_by("slug")[: args.orgs])
    if len(orgs) < args.orgs:
        raise SystemExit("run with --setup first")

    log = BASE_DIR / "var" / "bench-live-daphne.log"
    log.parent.mkdir(exist_ok=True)
    server, base = asgi_start("bench.live_asgi:application", {**os.environ, "PYTHONUNBUFFERED": "1"}, log)
    try:
        print(
            f"B12 live push: {len(orgs)} organizations x {PER_ORG} clients ({args.agents} agents), one daphne process, "
            f"channels-redis; {platform.python_version()}, {os.cpu_count()} cores; {args.seconds:.0f} s per run"
        )
        results = {}
        for mode in ("relay", "live"):
            results[mode] = asyncio.run(run_mode(mode, orgs, args.seconds, base, args.agents))
            r = results[mode]
            print(
                f"  {mode:<5} connected+subscribed in {r.connect_seconds:5.1f} s; {r.frames:,} frames in {r.seconds:.1f} s "
                f"= {r.rate:,.0f}/s; latency p50 {percentile(r.latencies, 0.5):.0f} ms, p95 {percentile(r.latencies, 0.95):.0f} ms, "
                f"p99 {percentile(r.latencies, 0.99):.0f} ms, max {max(r.latencies, default=0):.0f} ms; seq gaps {r.gaps}; "
                f"managers with a stale last revenue {r.stale}"
                + (
                    f"; commit to computation p50 {percentile(r.waits, 0.5):.0f} ms, p95 {percentile(r.waits, 0.95):.0f} ms"
                    if r.waits
                    else ""
                ),
                flush=True,
            )
        live, relay = results["live"], results["relay"]
        ratio = live.rate / relay.rate
        p95 = percentile(live.latencies, 0.95)
        print(
            f"  fan-out L/R {ratio:.2f}x (target >= 0.8); p95 commit-to-client {p95:.0f} ms (target < 250); "
            f"lost: {live.gaps} gaps, {live.stale} stale (target 0)"
        )
        ok = ratio >= 0.8 and p95 < 250 and live.gaps == 0 and live.stale == 0 and relay.gaps == 0
        print("  B12", "met" if ok else "NOT met")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
