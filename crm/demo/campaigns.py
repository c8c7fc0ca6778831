"""Demo campaigns: their plan (channel, dates, spend, which A/B variant wins) and the
messages one contact receives, with read and reply chances that depend on the variant and
on the local send hour (so a best hour to send exists)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple

from crm.demo import profiles
from crm.demo.timeline import DAY, HOUR, CumulativePicker, Timeline

ADS_CHANNEL = "paid_ads"


@dataclass(frozen=True)
class CampaignPlan:
    number: int
    name: str
    channel: profiles.CampaignChannel | None  # None: a paid-ads campaign, no messages
    start: float
    end: float
    first_send_day: int
    send_days: int
    audience_share: float
    winner: str
    spend_usd: float

    @property
    def external_id(self) -> str:
        return f"CMP{self.number:03d}"

    @property
    def channel_name(self) -> str:
        return self.channel.name if self.channel else ADS_CHANNEL


class SentMessage(NamedTuple):
    """One campaign message; instants are POSIX seconds, None if it did not happen (yet)."""

    plan: CampaignPlan
    variant: str
    sent: float
    delivered: float | None
    read: float | None
    replied: float | None
    failed: float | None


@dataclass(frozen=True)
class CampaignTouch:
    """A message the contact read (the only kind that becomes a touchpoint)."""

    campaign: CampaignPlan
    read_at: float
    replied_at: float | None


def plan_campaigns(*, seed: int, spec: profiles.ScaleSpec, timeline: Timeline) -> list[CampaignPlan]:
    """Campaigns spread evenly over the history; every ADS_CAMPAIGN_EVERY-th is paid ads.

    The last campaign is a message campaign that started in the last three weeks, so the
    default 30-day dashboard has a running campaign with messages, reads and replies."""
    rng = random.Random(f"crm-demo:{seed}:campaigns")
    first, last = timeline.window_first, timeline.last
    span = last - first
    count = spec.campaigns
    is_ads = [
        number % profiles.ADS_CAMPAIGN_EVERY == profiles.ADS_CAMPAIGN_EVERY - 2 for number in range(count)
    ]
    is_ads[-1] = False
    messaging = max(1, count - sum(is_ads))
    # A contact exists at a campaign for about 0.75 of the campaigns on average; the factor
    # makes the expected messages per contact come out at CAMPAIGN_MESSAGES_PER_CONTACT.
    share = min(0.85, profiles.CAMPAIGN_MESSAGES_PER_CONTACT / messaging / 0.75)
    channel_picker = CumulativePicker([c.weight for c in profiles.CAMPAIGN_CHANNELS])
    plans = []
    for number in range(count):
        start_day = first + int((number + rng.uniform(0.1, 0.9)) * span / count)
        if number == count - 1:
            start_day = last - rng.randint(*profiles.LAST_CAMPAIGN_DAYS_AGO)
        start_day = min(max(start_day, first), last)
        # Paid ads run for two to four months (most Paid Ads leads can be attributed to one);
        # message campaigns for one to three weeks.
        duration = rng.randint(60, 120) if is_ads[number] else rng.randint(7, 21)
        start = timeline.day_start[start_day] + rng.choice((8, 9, 10)) * HOUR
        end = start + duration * DAY
        date = timeline.date_of(start_day)
        theme = profiles.CAMPAIGN_THEMES[(number * 7 + rng.randrange(3)) % len(profiles.CAMPAIGN_THEMES)]
        progress = (start_day - first) / max(span, 1)
        existing = profiles.PRE_WINDOW_CONTACT_SHARE + (1 - profiles.PRE_WINDOW_CONTACT_SHARE) * progress
        if is_ads[number]:
            channel = None
            spend = rng.uniform(*profiles.ADS_BUDGET_USD) * (spec.contacts / 1000) ** 0.5
        else:
            channel = profiles.CAMPAIGN_CHANNELS[channel_picker.pick(rng)]
            expected_messages = spec.contacts * existing * share
            spend = 150.0 + expected_messages * channel.cost_per_message * rng.uniform(0.9, 1.2)
        plans.append(
            CampaignPlan(
                number=number + 1,
                name=f"{theme} {date:%b %Y}",
                channel=channel,
                start=start,
                end=end,
                first_send_day=start_day,
                send_days=min(3, duration),
                audience_share=share,
                # The challenger (B) wins three tests in four, so the overall A/B comparison
                # is clear too, and A still wins some.
                winner="A" if number % 4 == 2 else "B",
                spend_usd=spend,
            )
        )
    return plans


def contact_campaign_messages(
    *,
    rng: random.Random,
    timeline: Timeline,
    plans: list[CampaignPlan],
    contact_created: float,
    responsiveness: float,
) -> list[SentMessage]:
    """Every message sent to one contact, oldest campaign first."""
    end = timeline.end
    sent = []
    reach = min(responsiveness, 1.8)
    for plan in plans:
        channel = plan.channel
        if channel is None or plan.start < contact_created or rng.random() >= plan.audience_share:
            continue
        day = plan.first_send_day + rng.randrange(plan.send_days)
        if day > timeline.last:
            continue
        hour = rng.choice(profiles.SEND_HOURS)
        t = timeline.day_start[day] + hour * HOUR + rng.random() * HOUR
        if t >= end:
            continue
        variant = "A" if rng.random() < 0.5 else "B"
        wins = variant == plan.winner
        hour_factor = profiles.SEND_HOUR_FACTORS[hour]
        delivered = read = replied = failed = None
        if rng.random() < channel.delivery:
            delivered = t + rng.uniform(2, 120)
            p_read = channel.read * hour_factor * reach * (profiles.VARIANT_READ_LIFT if wins else 1.0)
            if rng.random() < min(p_read, 0.97):
                read = delivered + min(rng.lognormvariate(0, 1.0) * 35 * 60, 2 * DAY)
                p_reply = (
                    channel.reply
                    / channel.read
                    * hour_factor
                    * reach
                    * (profiles.VARIANT_REPLY_LIFT if wins else 1.0)
                )
                if rng.random() < min(p_reply, 0.9):
                    replied = read + min(rng.lognormvariate(0, 0.8) * 8 * 60, DAY)
        else:
            failed = t + rng.uniform(5, 300)
        if read is not None and read >= end:
            read = replied = None
        elif replied is not None and replied >= end:
            replied = None
        if delivered is not None and delivered >= end:
            delivered = None
        if failed is not None and failed >= end:
            failed = None
        sent.append(SentMessage(plan, variant, t, delivered, read, replied, failed))
    return sent
