"""Load on two cores (G11 of RELIABILITY.md): mixed dashboard and list traffic, 16 connections.

    .venv/bin/python bench/load.py --setup                  # once: database, organizations, data
    .venv/bin/python bench/load.py [--duration 300] [--setups daphne,serve]

Its own database and Redis database unless DATABASE_URL / REDIS_URL say otherwise:
postgres://postgres@127.0.0.1:5432/crm_bench_load (created by --setup) and
redis://127.0.0.1:6379/11 (cache, channel layer, rate limits; the broker too, with no worker).

--setup migrates and creates --orgs organizations (`load-bench-01` ...) with the demo
generator's history at --scale (small: 420 contacts, 8 agents, 13 months), their statistics
rebuilt as the nightly run would, their business insights and pricing suggestions, and four
managers each (password below), 16 in all: one per connection. A connection asks as fast as
it is answered, up to 20 times a second on a quiet machine, the per-member limit's default
(RATE_LIMITS["user"], 1200/min): the servers get a higher one (USER_RATE_LIMIT) unless the
environment sets RATE_LIMIT_USER, and still count every request.

Each set-up is started as a child process on the same database, Redis and production settings
(DEBUG off, the connection pool): `daphne` is one daphne process (the set-up of the issue's
51.7 requests/s), `serve` is the production set-up, `bin/serve` (gunicorn with uvicorn
workers); `uvicorn` (its own process manager) and `gunicorn-asgi` (gunicorn's own ASGI worker)
are the other candidates. `name:N` sets the worker count (default: the number of cores).
The set-ups run one after the other, --rounds times (A B A B), each after --warmup seconds of
the same traffic that are not counted, and each is stopped before the next starts.

Traffic: 16 keep-alive HTTP/1.1 connections (a small asyncio client on the standard library,
so the load generator costs little of the two cores it shares with the server), each a
manager logged in through POST /api/auth/token/ (refreshed through /api/auth/token/refresh/
before the five-minute lifetime ends; neither is counted). Each connection repeats the same
ten requests, as fast as answers come (closed loop; --rate paces all connections together to
a fixed number of requests a second instead, latency then counted from the planned start):
five of the manager dashboard (POST /api/analytics/overview for 30 and 7 days, and three
tabs of /api/analytics/tabs/<tab>: each tab in turn for 30 and 7 days, the revenue tab for
90 days) and five list pages by cursor (the business insights twice, an agent's activity
timeline twice, the agents in turn, and the pricing suggestions), each list followed by its
nextCursor to the end and started again. Printed per set-up: requests/s, p50/p95/p99 and
the largest latency, statuses (5xx, other non-200, connection errors), with --endpoints each
endpoint's p50/p95/p99, the CPU the server and the client used per request, and the machine's
5-minute load (other people's jobs share these two cores: compare set-ups of one run).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from crm.models import Member, Organization, Role  # noqa: E402
from tests.system.processes import free_port, serving, start, stop  # noqa: E402

CONNECTIONS = 16
MANAGERS_PER_ORG = 4
PASSWORD = "load-bench-pass-123"
LOGIN_TRIES = 20
TOKEN_REFRESH_SECONDS = 240  # access tokens live 300 s (SIMPLE_JWT)
PAGE_LIMIT = 10
# A closed-loop connection is one member asking as fast as the answers come, 10-20 requests a
# second when the server is quick, where RATE_LIMIT_USER's default (1200/min) answers the
# fastest connections 429 in a quiet minute. The servers get a higher limit, unless the
# environment sets one; every request is still counted (the same Redis call).
USER_RATE_LIMIT = "100000/min"
TABS = ("overview", "calls", "leads", "revenue", "campaigns")


# --- data ----------------------------------------------------------------------------------


def org_slug(index: int) -> str:
    return f"load-bench-{index:02d}"


def database_ensure() -> None:
    import psycopg

    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(
        host=settings.DATABASES["default"]["HOST"] or "127.0.0.1",
        port=settings.DATABASES["default"]["PORT"] or 5432,
        user=settings.DATABASES["default"]["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def setup(orgs: int, scale: str) -> None:
    from crm.demo.loader import demo_load
    from crm.models import Lead
    from crm.services import member_add
    from insights.bi.models import BusinessInsight
    from insights.bi.refresh import bi_refresh
    from pricing.models import PricingSuggestion
    from pricing.services import suggestions_generate

    database_ensure()
    call_command("migrate", verbosity=0)
    for index in range(1, orgs + 1):
        started = time.monotonic()
        org, _ = Organization.objects.get_or_create(
            slug=org_slug(index),
            defaults={"name": f"Load bench {index:02d}", "currency": "KES", "timezone": "Africa/Nairobi"},
        )
        for number in range(1, MANAGERS_PER_ORG + 1):
            email = f"manager{number}@{org.slug}.bench"
            if not Member.objects.filter(email=email).exists():
                member_add(organization=org, email=email, role=Role.MANAGER, password=PASSWORD)
        if not Lead.objects.for_org(org).exists():
            demo_load(organization=org, seed=index, scale=scale, as_of=timezone.now(), progress=None)
            call_command("rebuild_statistics", org.slug, verbosity=0)
        if not BusinessInsight.objects.for_org(org).exists():
            bi_refresh(organization=org, as_of=timezone.now())
        if not PricingSuggestion.objects.for_org(org).exists():
            manager = Member.objects.get(email=f"manager1@{org.slug}.bench")
            suggestions_generate(organization=org, requested_by=manager, product_ids=None, now=timezone.now())
        print(f"  {org.slug}: ready ({time.monotonic() - started:.0f} s)", flush=True)


@dataclass(frozen=True)
class Persona:
    email: str
    agents: tuple[str, ...]  # the organization's agents, whose timelines the manager pages through


def personas(orgs: int) -> list[Persona]:
    found = []
    for index in range(1, orgs + 1):
        org = Organization.objects.filter(slug=org_slug(index)).first()
        if org is None:
            raise SystemExit(f"{org_slug(index)} is missing: run with --setup first")
        agents = tuple(
            Member.objects.filter(organization=org, role=Role.AGENT)
            .order_by("pk")
            .values_list("email", flat=True)
        )
        for number in range(1, MANAGERS_PER_ORG + 1):
            found.append(Persona(f"manager{number}@{org.slug}.bench", agents))
    # connection i: organization i % orgs, its manager (i // orgs) % 4: the organizations take turns
    return [found[(i % orgs) * MANAGERS_PER_ORG + (i // orgs) % MANAGERS_PER_ORG] for i in range(CONNECTIONS)]


# --- a small HTTP/1.1 client ---------------------------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self, method: str, path: str, *, token: str = "", body: object = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: application/json"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        try:
            status, headers = await self._head()
            data = await self._body(headers)
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            await self.close()
            raise HttpError(str(error) or type(error).__name__) from error
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def _head(self) -> tuple[int, dict[str, str]]:
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return status, headers

    async def _body(self, headers: dict[str, str]) -> bytes:
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            return b"".join(part[:-2] for part in parts)
        raise HttpError("an answer without Content-Length")


# --- the traffic ---------------------------------------------------------------------------


@dataclass
class Sample:
    endpoint: str
    ms: float
    status: int  # 0: no answer (connection error)


@dataclass
class User:
    """One connection's manager: its tokens and where it is in each list."""

    persona: Persona
    offset: int
    access: str = ""
    refresh: str = ""
    minted: float = 0.0
    cursors: dict[str, str | None] = field(default_factory=dict)
    turn: itertools.count = field(default_factory=itertools.count)

    def steps(self) -> list[tuple[str, str, str, object]]:
        """The ten requests, in order: (endpoint, method, path, body); a list's path without its cursor."""
        turn = next(self.turn)
        tab = TABS[(turn + self.offset) % len(TABS)]
        other_tab = TABS[(turn + self.offset + 2) % len(TABS)]
        agent = self.persona.agents[(turn + self.offset) % len(self.persona.agents)]
        activities = f"/agent/analytics/activities?{urlencode({'agent': agent, 'limit': PAGE_LIMIT})}"
        return [
            ("overview 30d", "POST", "/api/analytics/overview", {"timeRange": "30d"}),
            ("insights page", "GET", f"/api/bi/insights?limit={PAGE_LIMIT}", None),
            ("tab 30d", "GET", f"/api/analytics/tabs/{tab}?range=30d", None),
            ("activities page", "GET", activities, None),
            ("overview 7d", "POST", "/api/analytics/overview", {"timeRange": "7d"}),
            ("pricing page", "GET", f"/api/v1/bi/pricing-suggestions?limit={PAGE_LIMIT}", None),
            ("tab 7d", "GET", f"/api/analytics/tabs/{other_tab}?range=7d", None),
            ("insights page", "GET", f"/api/bi/insights?limit={PAGE_LIMIT}", None),
            ("tab revenue 90d", "GET", "/api/analytics/tabs/revenue?range=90d", None),
            ("activities page", "GET", activities, None),
        ]


async def login(conn: Connection, user: User) -> None:
    for _ in range(LOGIN_TRIES):
        status, body = await conn.request(
            "POST", "/api/auth/token/", body={"email": user.persona.email, "password": PASSWORD}
        )
        if status != 429:  # sign-ins are limited per address (RATE_LIMITS["auth"]): wait, retry
            break
        await asyncio.sleep(5)
    if status != 200:
        raise SystemExit(f"login of {user.persona.email}: {status} {body[:300]!r}")
    tokens = json.loads(body)
    user.access, user.refresh, user.minted = tokens["access"], tokens["refresh"], time.monotonic()


async def refresh_if_old(conn: Connection, user: User) -> None:
    if time.monotonic() - user.minted < TOKEN_REFRESH_SECONDS:
        return
    status, body = await conn.request("POST", "/api/auth/token/refresh/", body={"refresh": user.refresh})
    if status != 200:
        raise SystemExit(f"token refresh of {user.persona.email}: {status} {body[:300]!r}")
    user.access, user.minted = json.loads(body)["access"], time.monotonic()


async def drive(
    conn: Connection,
    user: User,
    *,
    until: float,
    interval: float,
    samples: list[Sample],
    examples: dict[int, str],
) -> None:
    """Requests on one connection until `until`."""
    planned = time.perf_counter()
    while time.perf_counter() < until:
        for endpoint, method, path, body in user.steps():
            await refresh_if_old(conn, user)
            list_name = endpoint if endpoint.endswith(" page") else ""
            key = f"{list_name} {path}" if list_name else ""
            if key and user.cursors.get(key):
                path = f"{path}&cursor={user.cursors[key]}"
            if interval:  # paced: wait for the planned start, count latency from it
                planned += interval
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
                started = planned
            else:
                started = time.perf_counter()
            if started >= until:
                return
            try:
                status, data = await conn.request(method, path, token=user.access, body=body)
            except (HttpError, OSError):
                status, data = 0, b""
            ms = (time.perf_counter() - started) * 1000
            samples.append(Sample(endpoint, ms, status))
            if status != 200:
                examples.setdefault(status, f"{method} {path}: {data[:200].decode(errors='replace')}")
            if key and status == 200:
                user.cursors[key] = json.loads(data).get("nextCursor")


@dataclass
class Result:
    setup: str
    seconds: float
    samples: list[Sample]
    server_cpu: float
    client_cpu: float
    load: float
    examples: dict[int, str] = field(default_factory=dict)  # the first answer of each status but 200

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run_traffic(
    host: str, port: int, users: list[User], *, duration: float, rate: float
) -> tuple[list[Sample], dict[int, str]]:
    """`duration` seconds of the traffic: the samples, and the first answer of each status but 200."""
    conns = [Connection(host, port) for _ in users]
    for conn, user in zip(conns, users, strict=True):
        if not user.access:
            await login(conn, user)
    samples: list[Sample] = []
    examples: dict[int, str] = {}
    until = time.perf_counter() + duration
    interval = CONNECTIONS / rate if rate else 0.0
    await asyncio.gather(
        *(
            drive(conn, user, until=until, interval=interval, samples=samples, examples=examples)
            for conn, user in zip(conns, users, strict=True)
        )
    )
    for conn in conns:
        await conn.close()
    return samples, examples


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its children (gunicorn's and uvicorn's
    workers), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = (Path("/proc") / entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


# --- the set-ups ---------------------------------------------------------------------------


def server_command(name: str, workers: int, port: int) -> tuple[list[str], list[str]]:
    """(program, args) of a set-up listening on 127.0.0.1:port."""
    python = [sys.executable]
    if name == "daphne":
        return python, ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    if name == "serve":
        return [str(BASE_DIR / "bin" / "serve")], ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if name == "uvicorn":
        return python, [
            *("-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log"),
            "config.asgi:application",
        ]
    if name == "gunicorn-asgi":
        return python, [
            *("-m", "gunicorn", "-k", "asgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"),
            *("--no-control-socket", "config.asgi:application"),
        ]
    raise SystemExit(f"unknown set-up {name!r}: daphne, serve, uvicorn, gunicorn-asgi")


def run_setup(spec: str, users: list[User], args: argparse.Namespace) -> Result:
    name, _, count = spec.partition(":")
    workers = int(count) if count else len(os.sched_getaffinity(0))
    port = free_port()
    program, server_args = server_command(name, workers, port)
    log = BASE_DIR / "var" / f"bench-load-{name}.log"
    env = {
        "RATE_LIMIT_USER": USER_RATE_LIMIT,
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHON": sys.executable,
    }
    process = start(server_args, env, log, program=program)
    try:
        serving(process, f"http://127.0.0.1:{port}", log, timeout=120)
        # the same traffic, not counted: every worker up, the caches filled, the pools opened
        asyncio.run(run_traffic("127.0.0.1", port, users, duration=args.warmup, rate=args.rate))
        server_before, client_before = tree_cpu_seconds(process.pid), time.process_time()
        samples, examples = asyncio.run(
            run_traffic("127.0.0.1", port, users, duration=args.duration, rate=args.rate)
        )
        server_cpu = tree_cpu_seconds(process.pid) - server_before
        client_cpu = time.process_time() - client_before
        load = os.getloadavg()[1]  # the machine's 5-minute load: other jobs share these cores
    finally:
        stop(process)
    label = name if name == "daphne" else f"{name} x{workers}"
    return Result(label, args.duration, samples, server_cpu, client_cpu, load, examples)


def report(result: Result) -> None:
    ms = [s.ms for s in result.samples]
    statuses = Counter(s.status for s in result.samples)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    other = sum(n for status, n in statuses.items() if 0 < status < 500 and status != 200)
    requests = max(len(result.samples), 1)
    print(
        f"  {result.setup:<18} {result.rate:7.1f} req/s  p50 {percentile(ms, 0.5):6.1f}  "
        f"p95 {percentile(ms, 0.95):6.1f}  p99 {percentile(ms, 0.99):6.1f}  max {max(ms, default=0):7.1f} ms  "
        f"5xx {server_errors}  other non-200 {other}  no answer {statuses.get(0, 0)}  "
        f"CPU ms/request: server {1000 * result.server_cpu / requests:.1f}, client {1000 * result.client_cpu / requests:.1f}; "
        f"machine load {result.load:.1f}",
        flush=True,
    )
    if other or server_errors:
        print(f"    statuses: {dict(sorted(statuses.items()))}")
        for status, example in sorted(result.examples.items()):
            print(f"    first {status}: {example}")


def report_endpoints(result: Result) -> None:
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    for sample in result.samples:
        by_endpoint[sample.endpoint].append(sample.ms)
    print(f"    {result.setup}, per endpoint (requests, p50, p95, p99 ms):")
    for endpoint, values in sorted(by_endpoint.items()):
        print(
            f"      {endpoint:<16} {len(values):6d}  {percentile(values, 0.5):6.1f}  "
            f"{percentile(values, 0.95):6.1f}  {percentile(values, 0.99):6.1f}"
        )


def machine() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {memory:.0f} GiB, PostgreSQL {version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", action="store_true", help="create the database and the data, then run")
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--scale", default="small", choices=["small", "medium"])
    parser.add_argument(
        "--setups", default="daphne,serve", help="comma-separated, in order; name:N for N workers"
    )
    parser.add_argument("--duration", type=float, default=300, help="counted seconds per set-up and round")
    parser.add_argument("--warmup", type=float, default=20, help="uncounted seconds before each")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=0, help="requests/s for all connections (0: closed loop)"
    )
    parser.add_argument("--endpoints", action="store_true", help="also each endpoint's latencies")
    args = parser.parse_args()
    if args.setup:
        setup(args.orgs, args.scale)
    users = [User(persona, offset=i) for i, persona in enumerate(personas(args.orgs))]
    specs = [spec.strip() for spec in args.setups.split(",") if spec.strip()]
    print(
        f"G11 load: {CONNECTIONS} connections, {args.orgs} organizations ({len({u.persona.email for u in users})} "
        f"managers), {args.duration:.0f} s per set-up after {args.warmup:.0f} s of warm-up, "
        f"{'closed loop' if not args.rate else f'{args.rate:.0f} requests/s'}; {machine()}",
        flush=True,
    )
    results: dict[str, list[Result]] = defaultdict(list)
    for round_number in range(1, args.rounds + 1):
        print(f" round {round_number}:")
        for spec in specs:
            result = run_setup(spec, users, args)
            results[result.setup].append(result)
            report(result)
    for runs in results.values():
        merged = Result(
            runs[0].setup,
            sum(r.seconds for r in runs),
            [s for r in runs for s in r.samples],
            sum(r.server_cpu for r in runs),
            sum(r.client_cpu for r in runs),
            max(r.load for r in runs),
        )
        if args.rounds > 1:
            print(" all rounds:")
            report(merged)
        if args.endpoints:
            report_endpoints(merged)
    print(" target: 100 req/s, p95 <= 200 ms, p99 <= 400 ms, 0 server errors")


if __name__ == "__main__":
    main()
