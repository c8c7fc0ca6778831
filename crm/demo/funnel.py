"""A lead's way through the funnel (new -> contacted -> interested -> converted | lost) and
the sales activities along it.

A lead's buying intent (around its source's mean) drives every step and its score, so
sources differ in conversion and the score predicts it; the agent's skill multiplies each
step after contact and sets the response time. Milestones are strictly ordered; whatever
would happen at or after as_of has not happened, so recent leads are still open.
"""

from __future__ import annotations

import math

from crm.demo import profiles
from crm.demo.agents import AgentSkill
from crm.demo.records import ContactState, LeadState, RecordWriter, clamp, iso, money, optional_iso, poisson
from crm.demo.timeline import DAY, HOUR

_LOST_REASONS = ("price", "competitor", "no budget", "timing", "no response")


class FunnelSteps(RecordWriter):
    def lognormal_hours(self, median: float, sigma: float = 0.8) -> float:
        """Seconds; capped at six medians so a legacy customer's funnel fits before the window."""
        return min(median * self.rng.lognormvariate(0, sigma), 6 * median) * HOUR

    def lead(
        self, person: ContactState, t0: float, source: profiles.Source, region: str, *, legacy: bool
    ) -> LeadState:
        """Writes the lead and its funnel activities; legacy leads convert before the window."""
        rng, tl, gen, end = self.rng, self.tl, self.gen, self.end
        external_id = gen.next_id("L", 7)
        number = gen.count("L")
        agent = gen.router.pick(rng, t0)
        intent = clamp(rng.gauss(source.intent, profiles.INTENT_SIGMA), 0.02, 0.98)
        if legacy:
            intent = max(intent, 0.55)
        mix = source.product_mix
        roll = rng.random() * sum(mix)
        product = profiles.PRODUCT_LINES[0 if roll < mix[0] else 1 if roll < mix[0] + mix[1] else 2]
        low, high = product.seats
        seats = max(low, min(high, int(low + (high - low) * rng.betavariate(1.5 + 2 * intent, 3))))
        score = int(clamp(12 + 78 * intent + rng.gauss(0, 9), 0, 100))
        estimated = product.monthly_price * seats * 12 * rng.uniform(0.85, 1.2) * gen.factor
        skill = math.sqrt(agent.conversion)

        assigned = t0 + self.lognormal_hours(profiles.ASSIGN_MEDIAN_HOURS)
        contacted = interested = converted = lost = None
        reachable = legacy or rng.random() < (0.8 if source.name == "Cold Outreach" else 0.93)
        cold = False
        if reachable:
            # The backlog of nights and weekends is worked off when the floor opens.
            response = self.lognormal_hours(agent.response_hours, profiles.RESPONSE_SIGMA)
            contacted = tl.working(assigned + response, rng)
            if legacy or rng.random() < clamp((0.12 + 0.8 * intent) * skill, 0, 0.97):
                interested = self.later(contacted, self.lognormal_hours(profiles.INTEREST_MEDIAN_HOURS))
                if legacy or rng.random() < clamp((0.05 + 0.85 * intent) * skill, 0, 0.95):
                    converted = self.later(interested, self.lognormal_hours(profiles.CONVERT_MEDIAN_HOURS))
            if converted is None:
                if rng.random() < profiles.COLD_SHARE:
                    cold = True
                else:
                    lost = self.later(
                        interested or contacted, self.lognormal_hours(profiles.LOSE_MEDIAN_HOURS)
                    )
        elif rng.random() < 0.7:
            # Unreachable after several attempts; the rest stay "new": missed opportunities.
            lost = self.later(assigned, rng.uniform(5, 21) * DAY)

        # Whatever has not happened by as_of has not happened: the lead is still open there.
        if assigned >= end:
            assigned = contacted = interested = converted = lost = None
        if contacted is not None and contacted >= end:
            contacted = interested = converted = lost = None
        if interested is not None and interested >= end:
            interested = converted = lost = None
        if converted is not None and converted >= end:
            converted = None
        if lost is not None and lost >= end:
            lost = None
        if converted:
            status = "converted"
        elif lost:
            status = "lost"
        elif interested:
            status = "interested"
        else:
            status = "contacted" if contacted else "new"
        rating = rated = ""
        if converted is not None and rng.random() < profiles.RATING_PROBABILITY:
            rated_at = converted + rng.uniform(1, 10) * DAY
            if rated_at < end:
                mean = agent.satisfaction_mean + 0.4 * (intent - 0.5)
                rating = str(int(clamp(round(rng.gauss(mean, 0.75)), 1, 5)))
                rated = iso(rated_at)

        self.out["leads"].append(
            {
                "external_id": external_id,
                "contact_external_id": person.external_id,
                "name": f"{person.name} ({product.name})",
                "source": source.name,
                "status": status,
                "assigned_agent": "" if assigned is None else agent.email,
                "score": str(score),
                "estimated_value": money(estimated),
                "product_line": product.name,
                "region": region,
                "created_at": iso(t0),
                "assigned_at": optional_iso(assigned),
                "contacted_at": optional_iso(contacted),
                "interested_at": optional_iso(interested),
                "converted_at": optional_iso(converted),
                "lost_at": optional_iso(lost),
                "satisfaction_rating": rating,
                "rated_at": rated,
            }
        )
        lead = LeadState(
            external_id=external_id,
            number=number,
            agent=agent if assigned is not None else None,
            created=t0,
            close=converted or lost or end,
            converted=converted,
            product=product,
            seats=seats,
            open=converted is None and lost is None,
        )
        if assigned is not None:
            self.funnel_activities(
                lead, agent, assigned, contacted, interested, converted, lost, cold, reachable
            )
        return lead

    def touch(self, lead: LeadState, agent_email: str, t: float) -> None:
        """One follow-up of the sales conversation, of a random kind."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.38:
            self.call(lead, agent_email, t, title="Follow-up call")
        elif roll < 0.62:
            self.activity(
                lead, agent_email, "email", t, direction="outbound", channel="email", title="Follow-up e-mail"
            )
        elif roll < 0.77:
            channel = rng.choice(("whatsapp", "sms"))
            self.activity(
                lead,
                agent_email,
                "message",
                t,
                direction="outbound",
                channel=channel,
                title="Follow-up message",
            )
        elif roll < 0.9:
            self.activity(
                lead, agent_email, "email", t, direction="inbound", channel="email", title="Reply from lead"
            )
        else:
            self.activity(
                lead, agent_email, "note", t, title="Note", description="Waiting on the customer's budget."
            )

    def touches_between(self, lead: LeadState, agent_email: str, low: float, high: float, count: int) -> None:
        tl, rng = self.tl, self.rng
        for _ in range(count):
            t = tl.workday_time(low + rng.random() * (high - low), rng)
            if low < t < high:
                self.touch(lead, agent_email, t)

    def funnel_activities(
        self,
        lead: LeadState,
        agent: AgentSkill,
        assigned: float,
        contacted: float | None,
        interested: float | None,
        converted: float | None,
        lost: float | None,
        cold: bool,
        reachable: bool,
    ) -> None:
        rng, tl, end = self.rng, self.tl, self.end
        email = agent.email
        self.activity(
            lead,
            email,
            "assignment",
            assigned,
            automated=True,
            title="Lead assigned",
            metadata={"router": "capacity"},
        )
        # Unanswered attempts before the first contact (or before giving up).
        attempts = 0
        if reachable:
            while attempts < 4 and rng.random() < 0.45:
                attempts += 1
            horizon = contacted if contacted is not None else end
        else:
            attempts = rng.randint(2, 4)
            horizon = lost if lost is not None else min(end, assigned + 10 * DAY)
        for k in range(attempts):
            t = tl.workday_time(assigned + (horizon - assigned) * (k + rng.random()) / (attempts + 1), rng)
            if assigned < t < horizon:
                self.call(lead, email, t, reached=False, title="Call attempt")
        if contacted is None:
            if lost is not None:
                self.status_change(lead, email, lost, "new", "lost", reason="unreachable")
            return
        roll = rng.random()
        if roll < 0.6:
            self.call(lead, email, contacted, reached=True, title="Discovery call")
        elif roll < 0.8:
            self.activity(
                lead,
                email,
                "email",
                contacted,
                direction="outbound",
                channel="email",
                title="Introduction e-mail",
            )
        else:
            self.activity(
                lead,
                email,
                "message",
                contacted,
                direction="outbound",
                channel="whatsapp",
                title="Introduction message",
            )
        self.status_change(lead, email, contacted, "new", "contacted")
        if cold:
            # Went cold: at most one touch shortly after contact, then silence while open.
            self.touches_between(lead, email, contacted, min(end, contacted + 5 * DAY), rng.randint(0, 1))
            if interested is not None:
                self.status_change(lead, email, interested, "contacted", "interested")
            return
        after_contact = interested or lost or min(end, contacted + 21 * DAY)
        self.touches_between(lead, email, contacted, after_contact, 1 + poisson(rng, 2.2))
        if interested is not None:
            self.status_change(lead, email, interested, "contacted", "interested")
            after_interest = converted or lost or min(end, interested + 30 * DAY)
            if rng.random() < 0.6:
                t = tl.workday_time(interested + (after_interest - interested) * rng.uniform(0.1, 0.6), rng)
                if interested < t < after_interest:
                    self.activity(
                        lead,
                        email,
                        "meeting",
                        t,
                        direction="outbound",
                        channel=rng.choice(("video", "in_person")),
                        duration=rng.choice((1800, 2700, 3600)),
                        outcome="held",
                        title="Product demo",
                    )
            self.touches_between(lead, email, interested, after_interest, 1 + poisson(rng, 2.0))
        if converted is not None:
            self.activity(
                lead,
                email,
                "conversion",
                converted,
                title=f"Deal won: {lead.product.name}",
                metadata={"product_line": lead.product.name, "seats": lead.seats},
            )
        elif lost is not None:
            before = "interested" if interested else "contacted"
            self.status_change(lead, email, lost, before, "lost", reason=rng.choice(_LOST_REASONS))
