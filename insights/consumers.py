"""`WS /ws/bi-dashboard`: live metrics for managers and agents (DESIGN section 9.7).

A thin consumer: it authenticates (the session, or a one-use ticket from
`POST /api/v1/bi/ws-ticket`; anything else closes with 4401), joins its organization's group,
and on each subscription sends a snapshot at once, then after each committed change of the
organization's data at most one message per metric type per `update_frequency` seconds. The
numbers come from insights.live (the overview API's and the insights page's computations).
Every message carries `seq`, so a client can tell a gap.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from crm.models import Member
from insights import live, tickets

UNAUTHORIZED = 4401
# How often a connected socket checks that its member is still signed in and active.
RECHECK_SECONDS = 30


class LiveMetricsConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, cls=DjangoJSONEncoder)

    async def connect(self) -> None:
        self.member: Member | None = None
        self.subscriptions: dict[str, float] = {}  # metric type -> frequency (s)
        self.last_sent: dict[str, float] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.seq = 0
        self.client_id = ""
        await self.accept()
        member = await self._authenticate()
        if member is None:
            await self.close(code=UNAUTHORIZED)
            return
        # With its organization loaded: attribute access must not query in async code.
        self.member = await _member_with_organization(member.pk)
        self.group = live.group_name(self.member.organization_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.watch = asyncio.create_task(self._watch_membership())

    async def disconnect(self, code: int) -> None:
        for task in [*self.pending.values(), getattr(self, "watch", None)]:
            if task is not None:
                task.cancel()
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # --- authentication ---------------------------------------------------------------------

    async def _authenticate(self) -> Member | None:
        user = self.scope.get("user")
        self.via_session = user is not None and user.is_authenticated
        if self.via_session:
            return user if await _still_allowed(user.pk, self.scope.get("session")) else None
        query = self.scope.get("query_string", b"").decode()
        token = dict(part.split("=", 1) for part in query.split("&") if "=" in part).get("ticket", "")
        if not token:
            return None
        return await database_sync_to_async(tickets.ticket_redeem)(token, now=timezone.now())

    async def _watch_membership(self) -> None:
        """A logout or a deactivated member closes the socket within RECHECK_SECONDS."""
        session = self.scope.get("session") if self.via_session else None
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if not await _still_allowed(self.member.pk, session):
                await self.close(code=UNAUTHORIZED)
                return

    # --- the protocol -------------------------------------------------------------------------

    async def send_message(self, message: dict) -> None:
        self.seq += 1
        await self.send_json({**message, "seq": self.seq})

    async def error(self, code: str, message: str) -> None:
        await self.send_message({"type": "error", "code": code, "message": message})

    async def receive_json(self, content: Any, **kwargs) -> None:
        if self.member is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_message({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(content)
        elif kind == "unsubscribe":
            types = content.get("metric_types")
            if not isinstance(types, list):
                await self.error("bad_request", "metric_types: give a list.")
                return
            for metric_type in types:
                self.subscriptions.pop(metric_type, None)
                task = self.pending.pop(metric_type, None)
                # a pending send shared with a type still followed goes on without this one
                if task and task not in self.pending.values():
                    task.cancel()
            await self.send_message({"type": "unsubscribed", "metric_types": sorted(set(types))})
        else:
            await self.error("bad_request", "type: use subscribe, unsubscribe or ping.")

    async def _subscribe(self, content: dict) -> None:
        types = content.get("metric_types")
        frequency = content.get("update_frequency", 30)
        if not isinstance(types, list) or not types or not all(t in live.METRIC_TYPES for t in types):
            await self.error(
                "bad_request", f"metric_types: a list drawn from {', '.join(live.METRIC_TYPES)}."
            )
            return
        if (
            not isinstance(frequency, int)
            or isinstance(frequency, bool)
            or not live.MIN_FREQUENCY <= frequency <= live.MAX_FREQUENCY
        ):
            await self.error(
                "bad_request",
                f"update_frequency: whole seconds, {live.MIN_FREQUENCY} to {live.MAX_FREQUENCY}.",
            )
            return
        if not self.member.is_manager and live.MANAGER_ONLY_TYPES & set(types):
            await self.error("forbidden", "metric_types: engagement is organization-wide, for managers only.")
            return
        self.client_id = str(content.get("client_id", ""))[:100]
        for metric_type in types:
            self.subscriptions[metric_type] = frequency
        await self.send_message(
            {
                "type": "subscribed",
                "client_id": self.client_id,
                "metric_types": [t for t in live.METRIC_TYPES if t in self.subscriptions],
                "update_frequency": frequency,
            }
        )
        await self._send_metrics(list(dict.fromkeys(types)))

    async def _send_metrics(self, metric_types: list[str]) -> None:
        # The period runs from the decision to send, not from the send: measured from the send,
        # each update's computing time would delay the next one by as much, and latency
        # would pile up under a steady stream of changes.
        decided = time.monotonic()
        for metric_type in metric_types:
            self.last_sent[metric_type] = decided
        shared = await shared_payload(self.member, metric_types, latest_change(self.member.organization_id))
        for metric_type in metric_types:
            as_of, data = shared[metric_type]
            self.seq += 1
            # The data is JSON already (encoded once for every socket of the change).
            await self.send(
                text_data=f'{{"type":"metrics","metric_type":"{metric_type}","data":{data},'
                f'"as_of":"{as_of}","seq":{self.seq}}}'
            )

    # --- group events ---------------------------------------------------------------------

    async def org_data_changed(self, event: dict) -> None:
        """Data changed: each subscribed type is sent now if its frequency allows, else once
        when it does (later changes in between ride on that one message)."""
        _latest_changes()[self.member.organization_id] = event.get("change", "")
        now = time.monotonic()
        due_now: list[str] = []
        later: dict[float, list[str]] = {}
        for metric_type, frequency in self.subscriptions.items():
            if metric_type in self.pending:
                continue
            wait = self.last_sent.get(metric_type, 0) + frequency - now
            if wait <= 0:
                due_now.append(metric_type)
            else:
                later.setdefault(wait, []).append(metric_type)
        # Types that fall due together (sent together before) are sent together: one message
        # round and one shared computation.
        for wait, metric_types in later.items():
            task = asyncio.create_task(self._send_later(metric_types, wait))
            for metric_type in metric_types:
                self.pending[metric_type] = task
        if due_now:
            await self._send_metrics(due_now)

    async def _send_later(self, metric_types: list[str], wait: float) -> None:
        await asyncio.sleep(wait)
        for metric_type in metric_types:
            self.pending.pop(metric_type, None)
        still = [t for t in metric_types if t in self.subscriptions]
        if still:
            await self._send_metrics(still)


# --- one computation per change ---------------------------------------------------------------
# The sockets of one process that follow one organization with the same view (the whole
# organization for managers, or one agent's own numbers) share each change's computation: the
# first socket starts it, the others await the same task, and every message splices the same
# JSON. Entries live SHARE_SECONDS; a snapshot asked meanwhile, with no change in between,
# reuses the last one (its `as_of` says when it was computed). Per event loop: a test's loop
# never sees another's tasks.
SHARE_SECONDS = 10
_memos: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _loop_state() -> dict:
    return _memos.setdefault(asyncio.get_running_loop(), {"shared": {}, "changes": {}})


def _latest_changes() -> dict[int, str]:
    return _loop_state()["changes"]


def latest_change(organization_id: int) -> str:
    """The id of the last change of the organization this process heard of ("" before any)."""
    return _latest_changes().get(organization_id, "")


async def shared_payload(member: Member, metric_types: list[str], change: str) -> dict[str, tuple[str, str]]:
    """{metric type: (as_of ISO, data JSON)} for the member's view after `change`."""
    loop = asyncio.get_running_loop()
    shared = _loop_state()["shared"]
    viewer = None if member.is_manager else member.pk
    keys = {t: (member.organization_id, viewer, t, change) for t in metric_types}
    missing = [t for t in metric_types if keys[t] not in shared]
    if missing:
        task = asyncio.ensure_future(_compute(member, viewer is not None, missing))
        started = [keys[t] for t in missing]
        for key in started:
            shared[key] = task

        def forget(*_: object) -> None:
            for key in started:
                if shared.get(key) is task:
                    del shared[key]

        # A failed computation is not shared: the next socket tries again.
        task.add_done_callback(lambda t: forget() if t.cancelled() or t.exception() else None)
        loop.call_later(SHARE_SECONDS, forget)
    out = {}
    for metric_type, key in keys.items():
        as_of, data = (
            await asyncio.shield(shared[key])
            if key in shared
            else await _compute(member, viewer is not None, [metric_type])
        )
        out[metric_type] = (as_of, data[metric_type])
    return out


def _compute(member: Member, as_agent: bool, metric_types: list[str]) -> tuple[str, dict[str, str]]:
    now = timezone.now()
    data = live.payload_json(member.organization, metric_types, as_of=now, agent=member if as_agent else None)
    return now.isoformat(), data


# Off the one thread that channels runs database calls on by default: the computations of
# different organizations overlap their queries, and the short calls of handshakes and
# membership checks do not queue behind them (daphne drops a handshake not accepted in 5 s).
_compute = database_sync_to_async(_compute, thread_sensitive=False)


@database_sync_to_async
def _member_with_organization(member_id: int) -> Member:
    return Member.objects.select_related("organization").get(pk=member_id)


@database_sync_to_async
def _still_allowed(member_id: int, session) -> bool:
    """The member is active, and when the socket came with a session, that session still
    holds them (a logout deletes it)."""
    if not Member.objects.filter(pk=member_id, is_active=True, organization__isnull=False).exists():
        return False
    key = getattr(session, "session_key", None)
    if key is None:
        return True
    stored = Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).first()
    return stored is not None and str(stored.get_decoded().get(SESSION_KEY)) == str(member_id)
