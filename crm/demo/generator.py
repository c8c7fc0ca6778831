"""Deterministic demo history: records in the ingestion format (DESIGN section 5).

Given a seed, a scale, the reference time `as_of` and the organization's agents, time zone
and currency, `DemoGenerator` yields the same records every time; it never reads the clock
or the database. Contacts are generated in chunks of `ScaleSpec.chunk_contacts`; each chunk
holds the contacts with everything that hangs off them (leads, activities, sales, campaign
messages, touchpoints, chat messages), so a chunk can be loaded in entity order and
forgotten. Each chunk has its own random stream, seeded by (seed, chunk number).

The steps live in funnel.py (leads), accounts.py (customers' sales), engagement.py
(touchpoints and chats) and records.py (writing rows); pricing.py makes the products every
sale refers to and the pricing history (quotes, competitor prices, earlier list prices),
generated apart from the chunks. docs/demo-data.md tells the story.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from crm.demo import profiles
from crm.demo.accounts import AccountSteps
from crm.demo.agents import Router, agent_skills
from crm.demo.campaigns import CampaignTouch, contact_campaign_messages, plan_campaigns
from crm.demo.engagement import EngagementSteps
from crm.demo.funnel import FunnelSteps
from crm.demo.pricing import Catalogue, PricingHistory
from crm.demo.records import CHUNK_ENTITIES, ENTITY_ORDER, Chunk, ContactState, Record, iso, json_text, money
from crm.demo.timeline import DAY, HOUR, CumulativePicker, Timeline

__all__ = ["CHUNK_ENTITIES", "ENTITY_ORDER", "Chunk", "DemoConfig", "DemoGenerator", "Record"]

# Ids: prefix and digits (large has 1.1M contacts and about 10M activities).
_ID_WIDTHS = {"C": 7, "L": 7, "A": 8, "S": 7, "CM": 8, "T": 8, "M": 8, "CV": 7}


@dataclass(frozen=True)
class DemoConfig:
    seed: int
    scale: str
    as_of: dt.datetime
    agent_emails: tuple[str, ...]
    timezone: str = "UTC"
    currency: str = "USD"

    @property
    def spec(self) -> profiles.ScaleSpec:
        return profiles.SCALES[self.scale]


class DemoGenerator:
    """The whole history of one organization, chunk by chunk (see the module docstring)."""

    def __init__(self, config: DemoConfig) -> None:
        if config.scale not in profiles.SCALES:
            raise ValueError(f"Unknown scale {config.scale!r}; use one of {', '.join(profiles.SCALES)}.")
        if not config.agent_emails:
            raise ValueError("the demo needs at least one agent e-mail")
        self.config = config
        self.spec = config.spec
        self.timeline = Timeline(as_of=config.as_of, timezone=config.timezone)
        self.skills = agent_skills(
            seed=config.seed,
            emails=config.agent_emails,
            inactive_agents=self.spec.inactive_agents,
            as_of=config.as_of,
        )
        self.router = Router(self.skills)
        self.plans = plan_campaigns(seed=config.seed, spec=self.spec, timeline=self.timeline)
        self.ads = [plan for plan in self.plans if plan.channel is None]
        self.factor = profiles.CURRENCY_FACTOR.get(config.currency.upper(), 1.0)
        self.catalogue = Catalogue(factor=self.factor)
        self.pricing = PricingHistory(
            seed=config.seed,
            scale=config.scale,
            catalogue=self.catalogue,
            timeline=self.timeline,
            router=self.router,
            currency=config.currency,
        )
        self.lead_days = self.timeline.lead_day_picker()
        self.lead_hours = CumulativePicker(profiles.LEAD_HOUR_WEIGHTS)
        self.chat_hours = CumulativePicker(profiles.CHAT_HOUR_WEIGHTS)
        self.countries = CumulativePicker([c.weight for c in profiles.COUNTRIES])
        self.regions = {c.code: CumulativePicker([w for _, w in c.regions]) for c in profiles.COUNTRIES}
        self.sources = CumulativePicker([s.weight for s in profiles.SOURCES])
        self._counters = dict.fromkeys(_ID_WIDTHS, 0)

    @property
    def chunk_count(self) -> int:
        return math.ceil(self.spec.contacts / self.spec.chunk_contacts)

    def campaign_records(self) -> list[Record]:
        end = self.timeline.end
        return [
            {
                "external_id": plan.external_id,
                "name": plan.name,
                "channel": plan.channel_name,
                "started_at": iso(plan.start),
                # A running campaign's end is its planned end, after as_of.
                "ended_at": iso(plan.end),
                "spend": money(plan.spend_usd * self.factor),
                "status": "completed" if plan.end <= end else "active",
            }
            for plan in self.plans
        ]

    def product_records(self) -> list[Record]:
        return self.pricing.product_records()

    def pricing_records(self) -> Chunk:
        """What pricing learns from, loaded after the chunks: earlier list prices, quotes
        and competitor prices (crm/demo/pricing.py)."""
        return {
            "price_history": self.pricing.price_history_records(),
            "quotes": self.pricing.quote_records(),
            "competitor_prices": self.pricing.competitor_price_records(),
        }

    def chunks(self) -> Iterator[Chunk]:
        """Chunks in order; consume them in order (external ids are sequential)."""
        size = self.spec.chunk_contacts
        for number in range(self.chunk_count):
            rng = random.Random(f"crm-demo:{self.config.seed}:chunk:{number}")
            yield ChunkBuilder(self, rng).build(min(size, self.spec.contacts - number * size))

    def next_id(self, prefix: str, width: int | None = None) -> str:
        self._counters[prefix] += 1
        return f"{prefix}{self._counters[prefix]:0{width or _ID_WIDTHS[prefix]}d}"

    def count(self, prefix: str) -> int:
        """How many ids of `prefix` were handed out so far."""
        return self._counters[prefix]


class ChunkBuilder(FunnelSteps, AccountSteps, EngagementSteps):
    """One chunk of contacts and everything that hangs off them."""

    def build(self, count: int) -> Chunk:
        for _ in range(count):
            self.contact()
        return self.out

    def contact(self) -> None:
        rng, tl, gen = self.rng, self.tl, self.gen
        country = profiles.COUNTRIES[gen.countries.pick(rng)]
        region = country.regions[gen.regions[country.code].pick(rng)][0]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        name = f"{first} {last}"
        pre_window = rng.random() < profiles.PRE_WINDOW_CONTACT_SHARE
        day = rng.randrange(tl.window_first) if pre_window else gen.lead_days.pick(rng)
        created = tl.at(day, gen.lead_hours.pick(rng), rng)
        person = ContactState(gen.next_id("C"), name, rng.lognormvariate(0, 0.5), created)

        messages = contact_campaign_messages(
            rng=rng,
            timeline=tl,
            plans=gen.plans,
            contact_created=created,
            responsiveness=person.responsiveness,
        )
        touches = self.campaign_messages(person, messages)
        for t0, source, legacy in self.lead_starts(person, pre_window, touches):
            lead = self.lead(person, t0, source, region, legacy=legacy)
            person.leads.append(lead)
            self.source_touchpoint(person, lead, source)
            if lead.converted is not None and lead.agent is not None:
                person.customer = True
                person.engaged = person.engaged or person.responsiveness > profiles.ENGAGED_RESPONSIVENESS
                self.customer(person, lead, lead.agent, lead.converted)
        self.campaign_touchpoints(person, touches)
        self.chats(person)
        self.contact_record(person, country, first, last, region)

    def contact_record(
        self, person: ContactState, country: profiles.Country, first: str, last: str, region: str
    ) -> None:
        """The contact as it stands at as_of: tags and segment follow from its history."""
        rng = self.rng
        tags = []
        if person.engaged or any(ld.product.name == "Enterprise" for ld in person.leads if ld.converted):
            tags.append("VIP")
        if person.customer:
            tags.append("Customer")
        if any(lead.open for lead in person.leads):
            tags.append("Lead")
        if person.churned:
            tags.append("Churned")
        if rng.random() < 0.08:
            tags.append("Wholesale")
        if rng.random() < 0.4:
            tags.append("Newsletter")
        if person.customer:
            segment = profiles.SEGMENTS_BY_PRODUCT.get(person.plan, "SMB")
        else:
            segment = "Prospect" if person.leads else "Subscriber"
        language = "sw" if country.code in ("KE", "TZ") and rng.random() < 0.35 else "en"
        email = ""
        if rng.random() < 0.75:
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            email = f"{local}{rng.randrange(1, 1000)}@{rng.choice(profiles.EMAIL_DOMAINS)}"
        fields = {"segment": segment, "plan": person.plan, "city": region, "language": language}
        self.out["contacts"].append(
            {
                "external_id": person.external_id,
                "name": person.name,
                "phone": self.phone(country),
                "email": email,
                "created_at": iso(person.created),
                "tags": ";".join(tags),
                "custom_fields": json_text(fields),
            }
        )

    def phone(self, country: profiles.Country) -> str:
        rng = self.rng
        prefix = rng.choice(country.prefixes)
        if country.code == "US":
            # NANP exchanges never start with 0/1, and N11 and 555 are not assignable.
            exchange = rng.randrange(200, 1000)
            while exchange % 100 == 11 or exchange == 555:
                exchange = rng.randrange(200, 1000)
            return f"+1{prefix}{exchange}{rng.randrange(10_000):04d}"
        digits = country.nsn_length - len(prefix)
        return f"+{country.calling_code}{prefix}{rng.randrange(10**digits):0{digits}d}"

    def lead_starts(
        self, person: ContactState, pre_window: bool, touches: list[CampaignTouch]
    ) -> list[tuple[float, profiles.Source, bool]]:
        """(created_at, source, legacy) of the contact's leads, oldest first."""
        rng, tl, gen = self.rng, self.tl, self.gen
        starts: list[tuple[float, profiles.Source, bool]] = []
        legacy = pre_window and rng.random() < profiles.LEGACY_CUSTOMER_SHARE
        if legacy:
            # Converted before the window: the history starts with subscriptions running.
            day = tl.window_first - rng.randint(45, min(600, tl.window_first - 1))
            t0 = max(tl.at(day, gen.lead_hours.pick(rng), rng), person.created)
            starts.append((t0, self.source(), True))
        elif pre_window:
            roll = rng.random()
            for _ in range(0 if roll < 0.45 else 1 if roll < 0.9 else 2):
                t0 = tl.at(gen.lead_days.pick(rng), gen.lead_hours.pick(rng), rng)
                starts.append((t0, self.source(), False))
        else:
            if rng.random() < 0.9:
                starts.append((person.created + rng.uniform(0, 600), self.source(), False))
            if rng.random() < 0.06:
                repeat = person.created + rng.uniform(30, 300) * DAY
                if repeat < self.end:
                    starts.append((repeat, self.source(), False))
        replies = [touch.replied_at for touch in touches if touch.replied_at is not None]
        if replies and not legacy and rng.random() < profiles.CAMPAIGN_LEAD_PROBABILITY:
            t0 = replies[0] + rng.uniform(0.5, 72) * HOUR
            if t0 < self.end:
                starts.append((t0, profiles.CAMPAIGN_SOURCE, False))
        starts.sort(key=lambda item: item[0])
        return starts

    def source(self) -> profiles.Source:
        return profiles.SOURCES[self.gen.sources.pick(self.rng)]
