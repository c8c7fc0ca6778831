"""Writing demo records in the ingestion format (DESIGN section 5), and the per-contact state
the generator's steps share.

Every cell is text, exactly what a CSV import carries: ISO 8601 UTC timestamps with whole
seconds, amounts with two decimals, "true"/"false", JSON objects as JSON text, "" for empty.
That is also the ingestion service's fast path (it parses whole text columns at once).
Nothing at or after as_of, or before the window, is written: the history ends at as_of.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from crm.demo import profiles
from crm.demo.agents import AgentSkill
from crm.demo.campaigns import CampaignPlan, CampaignTouch, SentMessage

if TYPE_CHECKING:
    from crm.demo.generator import DemoGenerator

# The entities of each chunk of contacts, in loading order.
CHUNK_ENTITIES = (
    "contacts",
    "leads",
    "activities",
    "sales",
    "campaign_messages",
    "touchpoints",
    "messages",
)
# Loading order: a record only refers to records of entities before it. Products and
# campaigns come first (every chunk's sales refer to products, its messages and touchpoints
# to campaigns); the pricing history refers to products only and comes last.
ENTITY_ORDER = ("products", "campaigns", *CHUNK_ENTITIES, "price_history", "quotes", "competitor_prices")

Record = dict[str, Any]
Chunk = dict[str, list[Record]]

_UTC = dt.UTC


def iso(t: float) -> str:
    # Truncated, not rounded: an instant stays in its local hour and day, and before as_of.
    return dt.datetime.fromtimestamp(int(t), _UTC).isoformat()


def optional_iso(t: float | None) -> str:
    return "" if t is None else iso(t)


def json_text(value: dict[str, Any] | None) -> str:
    return orjson.dumps(value).decode() if value else ""


def money(amount: float) -> str:
    return f"{amount:.2f}"


def clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def add_months(date: dt.date, months: int) -> dt.date:
    index = date.year * 12 + date.month - 1 + months
    year, month = divmod(index, 12)
    # Billing on the 29th-31st moves to the 28th, so every month has a billing day.
    return dt.date(year, month + 1, min(date.day, 28))


@dataclass
class LeadState:
    external_id: str
    number: int
    agent: AgentSkill | None  # None while unassigned
    created: float
    # converted, lost or as_of: the end of the window its campaign touchpoints fall in.
    close: float
    converted: float | None
    product: profiles.ProductLine
    seats: int
    open: bool


@dataclass
class ContactState:
    external_id: str
    name: str
    # Log-normal around 1: how much this person reads, replies and chats.
    responsiveness: float
    created: float
    leads: list[LeadState] = field(default_factory=list)
    customer: bool = False
    engaged: bool = False
    churned: bool = False
    plan: str = "Free"


class RecordWriter:
    """State of one chunk being generated and the methods that append its records."""

    def __init__(self, gen: DemoGenerator, rng: random.Random) -> None:
        self.gen = gen
        self.rng = rng
        self.tl = gen.timeline
        self.start = gen.timeline.start
        self.end = gen.timeline.end
        self.currency = gen.config.currency
        self.out: Chunk = {entity: [] for entity in CHUNK_ENTITIES}

    def later(self, previous: float, delay: float) -> float:
        """A working time about `delay` seconds after `previous`, and strictly after it."""
        t = self.tl.workday_time(previous + delay, self.rng)
        return t if t > previous else self.tl.working(previous + delay, self.rng)

    def owner(self, lead: LeadState, agent: AgentSkill, t: float) -> AgentSkill:
        """Who looks after the lead's account at t (a colleague once the agent has left)."""
        return self.gen.router.owner_at(agent, t, self.gen.config.seed * 1_000_003 + lead.number)

    def activity(
        self,
        lead: LeadState | None,
        agent_email: str,
        kind: str,
        t: float,
        *,
        direction: str = "",
        channel: str = "",
        duration: int | None = None,
        outcome: str = "",
        automated: bool = False,
        title: str = "",
        description: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not self.start <= t < self.end:
            return
        self.out["activities"].append(
            {
                "external_id": self.gen.next_id("A", 8),
                "lead_external_id": lead.external_id if lead else "",
                "agent": agent_email,
                "type": kind,
                "direction": direction,
                "channel": channel,
                "occurred_at": iso(t),
                "duration_seconds": "" if duration is None else str(duration),
                "outcome": outcome,
                "automated": "true" if automated else "false",
                "title": title,
                "description": description,
                "metadata": json_text(metadata),
            }
        )

    def call(
        self,
        lead: LeadState | None,
        agent_email: str,
        t: float,
        *,
        direction: str = "outbound",
        reached: bool | None = None,
        title: str = "",
    ) -> None:
        """A phone call; about one outbound call in seven is placed by the voice assistant."""
        rng = self.rng
        automated = direction == "outbound" and rng.random() < 0.15
        if reached is None:
            reached = rng.random() < (0.62 if automated else 0.75)
        if reached:
            outcome = "success"
            duration = int(clamp(rng.lognormvariate(math.log(150 if automated else 260), 0.6), 30, 3600))
        else:
            outcome = rng.choices(("no_answer", "voicemail", "failed"), weights=(0.6, 0.3, 0.1))[0]
            duration = 0 if outcome == "no_answer" else rng.randint(5, 45)
        self.activity(
            lead,
            agent_email,
            "call",
            t,
            direction=direction,
            channel="phone",
            duration=duration,
            outcome=outcome,
            automated=automated,
            title=title or ("AI-assisted call" if automated else "Call"),
            metadata={"assistant": "voice-ai"} if automated else None,
        )
        if outcome == "success" and rng.random() < 0.25:
            self.activity(
                lead,
                agent_email,
                "note",
                t + duration + rng.uniform(60, 900),
                title="Call notes",
                description="Discussed needs and next steps.",
            )

    def status_change(
        self, lead: LeadState, email: str, t: float, before: str, after: str, reason: str = ""
    ) -> None:
        metadata = {"from": before, "to": after}
        if reason:
            metadata["reason"] = reason
        self.activity(lead, email, "status_change", t, title=f"Status: {after}", metadata=metadata)

    def sale(
        self,
        person: ContactState,
        lead: LeadState,
        agent: AgentSkill,
        kind: str,
        t: float,
        amount_usd: float,
        product_line: str,
        *,
        seats: int = 1,
    ) -> None:
        """`seats`: the quantity when the amount is per seat (see Catalogue.sale_columns)."""
        if not self.start <= t < self.end:
            return
        amount = money(amount_usd * self.gen.factor)
        self.out["sales"].append(
            {
                "external_id": self.gen.next_id("S", 7),
                "lead_external_id": lead.external_id,
                "contact_external_id": person.external_id,
                "agent": self.owner(lead, agent, t).email,
                "amount": amount,
                "currency": self.currency,
                "kind": kind,
                "closed_at": iso(t),
                "product_line": product_line,
                **self.gen.catalogue.sale_columns(kind, product_line, amount=amount, seats=seats),
            }
        )

    def campaign_messages(self, person: ContactState, messages: list[SentMessage]) -> list[CampaignTouch]:
        """Writes the contact's campaign messages; returns the read ones (touchpoints)."""
        touches = []
        out = self.out["campaign_messages"]
        for message in messages:
            out.append(
                {
                    "external_id": self.gen.next_id("CM", 8),
                    "campaign_external_id": message.plan.external_id,
                    "contact_external_id": person.external_id,
                    "variant": message.variant,
                    "sent_at": iso(message.sent),
                    "delivered_at": optional_iso(message.delivered),
                    "read_at": optional_iso(message.read),
                    "replied_at": optional_iso(message.replied),
                    "failed_at": optional_iso(message.failed),
                }
            )
            if message.read is not None:
                touches.append(CampaignTouch(message.plan, message.read, message.replied))
        return touches

    def touchpoint(
        self,
        person: ContactState,
        lead: LeadState | None,
        channel: str,
        plan: CampaignPlan | None,
        t: float,
    ) -> None:
        if not self.start <= t < self.end:
            return
        self.out["touchpoints"].append(
            {
                "external_id": self.gen.next_id("T", 8),
                "contact_external_id": person.external_id,
                "lead_external_id": lead.external_id if lead else "",
                "channel": channel,
                "campaign_external_id": plan.external_id if plan else "",
                "occurred_at": iso(t),
            }
        )

    def chat(
        self, conversation: str, person: ContactState, agent: str, direction: str, body: str, t: float
    ) -> None:
        if not self.start <= t < self.end:
            return
        self.out["messages"].append(
            {
                "external_id": self.gen.next_id("M", 8),
                "conversation_id": conversation,
                "contact_external_id": person.external_id,
                "agent": agent,
                "direction": direction,
                "body": body,
                "sent_at": iso(t),
            }
        )
