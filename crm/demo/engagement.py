"""A contact's touchpoints (where its leads came from, the campaign messages it read) and its
chat conversations, including the anomalous day's outage chats and calls.

Customers start chats mostly in the evening (CHAT_HOUR_WEIGHTS: 18:00-21:59 local); agents
answer within minutes during the support shift, else when it next starts.
"""

from __future__ import annotations

import math

from crm.demo import profiles
from crm.demo.campaigns import CampaignTouch
from crm.demo.records import ContactState, LeadState, RecordWriter, poisson
from crm.demo.timeline import DAY, HOUR

_CUSTOMER_TOPICS = ("invoice", "upgrade", "support", "delivery")
_PROSPECT_TOPICS = ("pricing", "demo", "discount")
_FOLLOW_UPS_IN = ("Thanks!", "Ok, great.", "Noted, thank you.", "Perfect.")
_FOLLOW_UPS_OUT = ("You're welcome!", "Anything else I can help with?", "Have a great evening.")
_ANOMALY_FOLLOW_UPS = ("Any update? It is still failing.", "I have tried three times now.")
# A campaign message read this long before a lead was created still counts towards it.
ATTRIBUTION_LOOKBACK_DAYS = 45


class EngagementSteps(RecordWriter):
    def source_touchpoint(self, person: ContactState, lead: LeadState, source: profiles.Source) -> None:
        """The first touch of a lead: where it came from (an ads campaign for Paid Ads)."""
        if source is profiles.CAMPAIGN_SOURCE:
            return  # its campaign reply is already a touchpoint
        t = lead.created - self.rng.uniform(0, 1800)
        plan = None
        if source.name == "Paid Ads":
            plan = next((p for p in self.gen.ads if p.start <= t < p.end), None)
        self.touchpoint(person, lead, source.touch_channel, plan, t)

    def campaign_touchpoints(self, person: ContactState, touches: list[CampaignTouch]) -> None:
        """Every read campaign message is a touch, credited to the lead it preceded (within
        ATTRIBUTION_LOOKBACK_DAYS) or nurtured (before the lead closed)."""
        lookback = ATTRIBUTION_LOOKBACK_DAYS * DAY
        for touch in touches:
            t = touch.replied_at if touch.replied_at is not None else touch.read_at
            lead = next((ld for ld in person.leads if ld.created - lookback <= t <= ld.close), None)
            self.touchpoint(person, lead, touch.campaign.channel_name, touch.campaign, t)

    def owner_email(self, person: ContactState, t: float) -> str:
        """The agent who answers the contact at t: the owner of its latest lead, else anyone."""
        for lead in reversed(person.leads):
            if lead.agent is not None and lead.created <= t:
                return self.owner(lead, lead.agent, t).email
        return self.gen.router.pick(self.rng, t).email

    def chats(self, person: ContactState) -> None:
        rng, tl = self.rng, self.tl
        if person.engaged:
            rate = profiles.CHAT_CONVERSATIONS["engaged"]
        elif person.customer:
            rate = profiles.CHAT_CONVERSATIONS["customer"]
        elif person.leads:
            rate = profiles.CHAT_CONVERSATIONS["lead"]
        else:
            rate = profiles.CHAT_CONVERSATIONS["audience"]
        first_day = max(tl.day_of(person.created), tl.window_first)
        topics = _CUSTOMER_TOPICS if person.customer else _PROSPECT_TOPICS
        for _ in range(poisson(rng, rate * min(person.responsiveness, 2.5))):
            day = rng.randint(first_day, tl.last)
            t = tl.at(day, self.gen.chat_hours.pick(rng), rng)
            if t < person.created:
                continue
            wanted = rng.choice(topics)
            topic = next(item for item in profiles.CHAT_TOPICS if item[0] == wanted)
            self.conversation(person, t, topic, follow_ups=_FOLLOW_UPS_IN)
        # The anomalous day: a payment outage sends customers to chat and to the phone.
        anomaly = tl.anomaly
        if anomaly >= tl.window_first and tl.day_start[anomaly] > person.created:
            if rng.random() < profiles.ANOMALY_CHAT_PROBABILITY:
                t = tl.at(anomaly, rng.uniform(9, 21), rng)
                self.conversation(
                    person, t, profiles.ANOMALY_TOPIC, follow_ups=_ANOMALY_FOLLOW_UPS, insistent=True
                )
            if rng.random() < profiles.ANOMALY_CALL_PROBABILITY:
                t = tl.at(anomaly, rng.uniform(9, 19), rng)
                lead = next((ld for ld in reversed(person.leads) if ld.created <= t), None)
                agent = self.owner_email(person, t)
                self.call(
                    lead, agent, t, direction="inbound", reached=True, title="Inbound call: payment failed"
                )

    def conversation(
        self,
        person: ContactState,
        t: float,
        topic: tuple[str, str, str],
        *,
        follow_ups: tuple[str, ...],
        insistent: bool = False,
    ) -> None:
        """Alternating customer and agent messages; insistent customers write once more."""
        rng, end = self.rng, self.end
        product = person.leads[-1].product if person.leads else profiles.PRODUCT_LINES[0]
        price = f"{self.currency} {product.monthly_price * self.gen.factor:,.0f}"
        conversation = self.gen.next_id("CV", 7)
        agent = self.owner_email(person, t)
        inbound = topic[1].format(product=product.name, price=price)
        outbound = topic[2].format(product=product.name, price=price)
        rounds = 1 + (rng.random() < 0.55) + (insistent and rng.random() < 0.6)
        for number in range(rounds):
            if t >= end:
                return
            body = inbound if number == 0 else rng.choice(follow_ups)
            self.chat(conversation, person, "", "inbound", body, t)
            t = self.reply_time(t)
            if t >= end:
                return
            body = outbound if number == 0 else rng.choice(_FOLLOW_UPS_OUT)
            self.chat(conversation, person, agent, "outbound", body, t)
            t += rng.lognormvariate(math.log(180), 0.7)

    def reply_time(self, t: float) -> float:
        """Within minutes during the support shift, else shortly after it next starts."""
        tl, rng = self.tl, self.rng
        opens, closes = profiles.CHAT_SHIFT_HOURS
        day = tl.day_of(t)
        hour = (t - tl.day_start[day]) / HOUR
        if opens <= hour < closes:
            return t + min(rng.lognormvariate(math.log(300), 0.9), 2 * HOUR)
        if hour >= closes:
            day += 1
        if day > tl.last:
            return self.end + DAY
        return tl.day_start[day] + opens * HOUR + rng.uniform(60, 2700)
