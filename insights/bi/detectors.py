"""The insight detectors (docs/metrics.md, "Insight detectors"): explainable rules, one per insight type.

Pure: plain rows in (built by insights.bi.selectors), `Finding`s out; no ORM, no clock (the
reference time is `Context.as_of`). Each detector documents its rule, its priority and its
`condition_since`, the moment since when the condition holds: insights.bi.services re-raises a
resolved insight only when a finding's `condition_since` is after the resolution.

Priorities by tercile: the findings of one detector run, ordered by their impact, are high for
the first third (rounded up), medium for the next third, low for the rest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from agents.facade import AgentTotals, agent_kpis
from core.metrics import percent, round_half_up, trend_percent
from core.timeranges import local_midnight, week_start
from insights.bi.models import InsightType, Priority
from insights.metrics.leads import NONE_SOURCE

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)

# Conversion risk: a drop needs at least this many activities in the previous window, so
# that 1 -> 0 or 2 -> 0 (the normal end of a short exchange) is not called a risk.
RISK_MIN_PREVIOUS = 3
# Upsell engagement points: a campaign reply is the customer choosing to write (two
# activities' worth), a purchase is a buying decision (three).
ENGAGEMENT_POINTS = {"activities": 1, "replies": 2, "purchases": 3}
# Engagement trends: a (source, channel) series is judged only when it is established (some
# engagement in at least half of its history weeks) and busy enough (a mean of at least this
# many events a week) for a weekly change to mean something.
TREND_MIN_WEEKLY_MEAN = 5.0
# The usual variation is never taken below one event: a perfectly flat history would make
# any change infinitely unusual.
TREND_MIN_SD = 1.0
# Performance: the length of the compared windows (the agents' and leads' "30d" range).
PERFORMANCE_WINDOW = dt.timedelta(days=30)
# A window counts (current or history) only with at least this many leads in its
# denominator (handled leads; responded leads for the response time; created leads for a source).
PERFORMANCE_MIN_LEADS = 5
# At least this many usable history windows (fewer when the history setting is shorter).
PERFORMANCE_MIN_SAMPLES = 6
# Floors of the usual variation, so that a flat history does not make a small move unusual:
# at z = 2 a conversion rate must move 5 points, a response time 2 hours.
PERFORMANCE_MIN_SD = {"conversion": 2.5, "response": 1.0}


@dataclass(frozen=True)
class Thresholds:
    """An organization's settings as plain numbers (insights.bi.services builds them from
    InsightSettings, whose field defaults are the documented defaults)."""

    missed_min_score: int
    missed_idle_days: int
    upsell_top_share: float
    upsell_engagement_days: int
    upsell_quiet_days: int
    risk_window_days: int
    risk_drop_share: float
    response_goal_hours: float
    trend_history_weeks: int
    trend_z: float
    performance_history_weeks: int
    performance_z: float


@dataclass(frozen=True)
class Context:
    as_of: dt.datetime
    tz: dt.tzinfo
    currency: str


@dataclass(frozen=True)
class Finding:
    type: str
    priority: str
    subject_key: str
    title: str
    explanation: str
    action_items: tuple[str, ...]
    evidence: dict
    impact: Decimal | None
    condition_since: dt.datetime
    lead_id: int | None = None
    contact_id: int | None = None
    agent_id: int | None = None


# --- input rows (built by insights.bi.selectors) ------------------------------------------


@dataclass(frozen=True)
class OpenLead:
    """An open lead with a good score whose last agent touch is old (missed opportunities)."""

    lead_id: int
    name: str
    score: int
    estimated_value: Decimal | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    last_touch_at: dt.datetime | None
    agent_id: int | None = None
    agent_name: str = ""


@dataclass(frozen=True)
class Customer:
    """A contact with at least one sale, and its engagement in the engagement window."""

    contact_id: int
    name: str
    first_sale_at: dt.datetime
    last_upsell_at: dt.datetime | None
    revenue_year: Decimal
    activities: int = 0
    replies: int = 0
    purchases: int = 0
    # the earliest engagement event counted (activity, reply or purchase) in the window
    first_event_at: dt.datetime | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class InterestedLead:
    lead_id: int
    name: str
    score: int | None
    estimated_value: Decimal | None
    current: int  # conversation activities in [as_of - W, as_of)
    previous: int  # and in [as_of - 2W, as_of - W)
    last_activity_at: dt.datetime | None
    last_inbound_at: dt.datetime | None  # the lead's last e-mail or message
    last_touch_at: dt.datetime | None  # the last agent touch
    agent_id: int | None = None
    agent_name: str = ""


@dataclass(frozen=True)
class WeeklyEngagement:
    source: str
    channel: str
    week: dt.date  # local Monday
    count: int


@dataclass(frozen=True)
class AgentHistory:
    """`windows[0]` is the last 30 days, `windows[k]` the k-th history window
    (performance_windows)."""

    agent_id: int
    name: str
    windows: tuple[AgentTotals, ...]


@dataclass(frozen=True)
class SourceHistory:
    source: str
    windows: tuple[tuple[int, int], ...]  # (leads created, of them converted by the window's end)


# --- shared helpers -----------------------------------------------------------------------


def _money(amount: Decimal | float, currency: str) -> str:
    return f"{currency} {round_half_up(amount, 2):,.2f}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _day(moment: dt.datetime, tz: dt.tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y}"


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _cents(amount: Decimal) -> Decimal:
    return Decimal(str(round_half_up(amount, 2)))


def expected_value(estimated_value: Decimal | None, score: int | None) -> Decimal:
    """estimated_value x score / 100 (nothing known is 0): the value weighted by the chance
    the score expresses."""
    if estimated_value is None or score is None:
        return Decimal(0)
    return _cents(estimated_value * score / 100)


def tercile_priorities(count: int) -> list[str]:
    """Priorities of `count` findings already ordered by impact, highest first."""
    first, second = math.ceil(count / 3), math.ceil(2 * count / 3)
    return [
        Priority.HIGH if i < first else Priority.MEDIUM if i < second else Priority.LOW for i in range(count)
    ]


def _ranked(items: list[tuple[tuple, Finding]]) -> list[Finding]:
    """Sort by the key (impact first), then give tercile priorities."""
    items.sort(key=lambda pair: pair[0])
    ordered = [finding for _, finding in items]
    return [_with_priority(f, p) for f, p in zip(ordered, tercile_priorities(len(ordered)), strict=True)]


def _with_priority(finding: Finding, priority: str) -> Finding:
    return dataclasses.replace(finding, priority=priority)


@dataclass(frozen=True)
class Deviation:
    """How unusual `current` is against `history`: z = (current - mean) / max(sd, floor),
    sd the sample standard deviation."""

    current: float
    mean: float
    sd: float
    z: float
    samples: int


def deviation(current: float, history: Sequence[float], *, min_sd: float) -> Deviation | None:
    """None with fewer than two history values (no spread to compare with)."""
    if len(history) < 2:
        return None
    mean = statistics.fmean(history)
    sd = statistics.stdev(history)
    return Deviation(
        current=current, mean=mean, sd=sd, z=(current - mean) / max(sd, min_sd), samples=len(history)
    )


# --- 1. missed opportunities --------------------------------------------------------------


def missed_opportunities(rows: Iterable[OpenLead], *, thresholds: Thresholds, ctx: Context) -> list[Finding]:
    """Open leads with score >= missed_min_score and no agent touch for missed_idle_days.

    Last touch: the lead's last agent touch (insights.bi.selectors.agent_touch), else assigned_at, else
    created_at. Idle when as_of - last touch >= N x 24 hours; condition_since = last touch +
    N days. Impact = expected value; priority by tercile of the expected value.
    """
    idle_limit = thresholds.missed_idle_days * DAY
    found: list[tuple[tuple, Finding]] = []
    for row in rows:
        last = row.last_touch_at or row.assigned_at or row.created_at
        idle = ctx.as_of - last
        if row.score < thresholds.missed_min_score or idle < idle_limit:
            continue
        value = expected_value(row.estimated_value, row.score)
        idle_days = idle // DAY
        estimated = (
            "no estimated value"
            if row.estimated_value is None
            else (f"estimated value {_money(row.estimated_value, ctx.currency)}")
        )
        touched = "last agent touch" if row.last_touch_at else "assigned" if row.assigned_at else "created"
        owner = (
            f"Check with {row.agent_name} that the lead is still being worked, or reassign it."
            if row.agent_id
            else "Assign the lead to an agent with capacity."
        )
        finding = Finding(
            type=InsightType.MISSED_OPPORTUNITY,
            priority=Priority.LOW,
            subject_key=f"lead:{row.lead_id}",
            lead_id=row.lead_id,
            agent_id=row.agent_id,
            title=f"{row.name} has had no agent contact for {idle_days} days",
            explanation=(
                f"{row.name} (score {row.score}, {estimated}) has had no call, e-mail, meeting or message "
                f"from an agent since {_day(last, ctx.tz)} ({idle_days} days; the limit is "
                f"{thresholds.missed_idle_days}). Its expected value is {_money(value, ctx.currency)} "
                "(estimated value x score / 100)."
            ),
            action_items=(
                f"Call {row.name} today and log the outcome.",
                owner,
                "Send a follow-up that answers their last question or proposes a next step.",
                "If they are no longer interested, mark the lead lost with a reason.",
            ),
            evidence={
                "score": row.score,
                "estimatedValue": None if row.estimated_value is None else float(_cents(row.estimated_value)),
                "expectedValue": float(value),
                "lastTouchAt": _iso(last),
                "lastTouchKind": touched,
                "idleDays": idle_days,
                "idleDaysLimit": thresholds.missed_idle_days,
                "minScore": thresholds.missed_min_score,
            },
            impact=value,
            condition_since=last + idle_limit,
        )
        found.append(((-value, last, row.lead_id), finding))
    return _ranked(found)


# --- 2. upsell potential ------------------------------------------------------------------


def engagement_score(customer: Customer) -> int:
    points = ENGAGEMENT_POINTS
    return (
        customer.activities * points["activities"]
        + customer.replies * points["replies"]
        + customer.purchases * points["purchases"]
    )


def upsell_potential(rows: Iterable[Customer], *, thresholds: Thresholds, ctx: Context) -> list[Finding]:
    """Customers in the top upsell_top_share by engagement score, with no upsell or
    cross-sell sale in the last upsell_quiet_days.

    Customers: contacts whose first sale closed before the engagement window (one who just
    bought is being onboarded, and its sales conversation would count as engagement). The top
    share: the first ceil(share x customers) of them by score, then revenue of the last 365
    days, then id (every customer counts, engaged or not; a score of 0 is never in).
    condition_since = the later of the first engagement event counted and the start of the
    quiet period (the last upsell + quiet days; without one, the first sale). Impact = the
    customer's revenue of the last 365 days; priority by tercile of the engagement score.
    """
    window_start = ctx.as_of - thresholds.upsell_engagement_days * DAY
    customers = sorted(
        (c for c in rows if c.first_sale_at < window_start),
        key=lambda c: (-engagement_score(c), -c.revenue_year, c.contact_id),
    )
    size = math.ceil(thresholds.upsell_top_share * len(customers))
    quiet = thresholds.upsell_quiet_days * DAY
    share = int(round_half_up(thresholds.upsell_top_share * 100, 0))
    found: list[tuple[tuple, Finding]] = []
    for rank, row in enumerate(customers[:size], start=1):
        score = engagement_score(row)
        if score == 0 or (row.last_upsell_at is not None and ctx.as_of - row.last_upsell_at < quiet):
            continue
        quiet_since = row.last_upsell_at + quiet if row.last_upsell_at else row.first_sale_at
        since = max(quiet_since, row.first_event_at or quiet_since)
        last_upsell = f"since {_day(row.last_upsell_at, ctx.tz)}" if row.last_upsell_at else "ever"
        finding = Finding(
            type=InsightType.UPSELL_POTENTIAL,
            priority=Priority.LOW,
            subject_key=f"contact:{row.contact_id}",
            contact_id=row.contact_id,
            agent_id=row.agent_id,
            title=f"{row.name} is highly engaged: offer an upgrade",
            explanation=(
                f"{row.name} ranks {rank} of your {len(customers)} customers by engagement over the last "
                f"{thresholds.upsell_engagement_days} days, in the top {share}% (score {score}: {_count(row.activities, 'activity', 'activities')}, "
                f"{_count(row.replies, 'campaign reply', 'campaign replies')}, "
                f"{_count(row.purchases, 'purchase', 'purchases')}) and has bought no upsell or "
                f"cross-sell {last_upsell}. They spent {_money(row.revenue_year, ctx.currency)} in the last "
                "12 months."
            ),
            action_items=(
                f"Call {row.name} to review how they use the product and propose the next plan or add-on.",
                f"Prepare an offer sized to their current spend of {_money(row.revenue_year, ctx.currency)} "
                "a year.",
                "Ask whether other teams or sites could use the product (cross-sell).",
            ),
            evidence={
                "engagementScore": score,
                "rank": rank,
                "customers": len(customers),
                "topShare": thresholds.upsell_top_share,
                "activities": row.activities,
                "replies": row.replies,
                "purchases": row.purchases,
                "engagementDays": thresholds.upsell_engagement_days,
                "lastUpsellAt": _iso(row.last_upsell_at),
                "quietDays": thresholds.upsell_quiet_days,
                "revenueLast12Months": float(_cents(row.revenue_year)),
            },
            impact=_cents(row.revenue_year),
            condition_since=since,
        )
        found.append(((rank,), finding))
    return _ranked(found)


# --- 3. conversion risk -------------------------------------------------------------------


def conversion_risks(
    rows: Iterable[InterestedLead], *, thresholds: Thresholds, ctx: Context
) -> list[Finding]:
    """Interested open leads whose activity fell, or whose last message waits for a reply.

    Decline: previous >= RISK_MIN_PREVIOUS and current < previous x (1 - risk_drop_share)
    (conversation activities in the last risk_window_days against the risk_window_days
    before); since the lead's last activity. Waiting: the lead's last inbound e-mail or
    message has no agent touch at or after it and is older than response_goal_hours; since
    that message + the goal. condition_since = the later of the two; impact = expected value;
    priority by tercile of the expected value.
    """
    goal = dt.timedelta(hours=thresholds.response_goal_hours)
    found: list[tuple[tuple, Finding]] = []
    for row in rows:
        declined = row.previous >= RISK_MIN_PREVIOUS and row.current < row.previous * (
            1 - thresholds.risk_drop_share
        )
        waiting = (
            row.last_inbound_at is not None
            and (row.last_touch_at is None or row.last_touch_at < row.last_inbound_at)
            and ctx.as_of - row.last_inbound_at > goal
        )
        if not (declined or waiting):
            continue
        sinces = []
        reasons = []
        if declined:
            sinces.append(row.last_activity_at or ctx.as_of - thresholds.risk_window_days * DAY)
            drop = int(round_half_up((row.previous - row.current) / row.previous * 100, 0))
            reasons.append(
                f"its activity fell by {drop}% ({row.previous} activities in the previous "
                f"{thresholds.risk_window_days} days, {row.current} in the last {thresholds.risk_window_days})"
            )
        waited_hours = None
        if waiting:
            sinces.append(row.last_inbound_at + goal)
            waited_hours = round_half_up((ctx.as_of - row.last_inbound_at) / dt.timedelta(hours=1), 1)
            reasons.append(
                f"its message of {_day(row.last_inbound_at, ctx.tz)} has waited {waited_hours:g} hours for a "
                f"reply (goal: {thresholds.response_goal_hours:g} hours)"
            )
        value = expected_value(row.estimated_value, row.score)
        title = (
            f"{row.name} is waiting {waited_hours:g} hours for a reply"
            if waiting
            else f"{row.name} is going quiet: activity {row.previous} -> {row.current}"
        )
        actions = [f"Reply to {row.name}'s last message today."] if waiting else []
        actions += [
            f"Call {row.name} to confirm their interest and agree a next step.",
            "Offer a demo or a proposal with a deadline to restart the conversation.",
        ]
        if row.agent_name:
            actions.append(f"Ask {row.agent_name} what is blocking the deal.")
        finding = Finding(
            type=InsightType.CONVERSION_RISK,
            priority=Priority.LOW,
            subject_key=f"lead:{row.lead_id}",
            lead_id=row.lead_id,
            agent_id=row.agent_id,
            title=title,
            explanation=(
                f"{row.name} is interested but {' and '.join(reasons)}. Its expected value is "
                f"{_money(value, ctx.currency)}."
            ),
            action_items=tuple(actions[:4]),
            evidence={
                "declined": declined,
                "waiting": waiting,
                "activitiesCurrent": row.current,
                "activitiesPrevious": row.previous,
                "windowDays": thresholds.risk_window_days,
                "dropShare": thresholds.risk_drop_share,
                "lastInboundAt": _iso(row.last_inbound_at),
                "lastTouchAt": _iso(row.last_touch_at),
                "waitedHours": waited_hours,
                "responseGoalHours": thresholds.response_goal_hours,
                "expectedValue": float(value),
            },
            impact=value,
            condition_since=max(sinces),
        )
        found.append(((-value, row.lead_id), finding))
    return _ranked(found)


# --- 4. engagement trends -----------------------------------------------------------------


def trend_weeks(*, as_of: dt.datetime, tz: dt.tzinfo, history_weeks: int) -> list[dt.date]:
    """Local Mondays, newest first: the last complete week, then history_weeks + 1 before it
    (the history_weeks changes before the last one need one more week)."""
    last = week_start(as_of.astimezone(tz).date()) - WEEK
    return [last - k * WEEK for k in range(history_weeks + 2)]


def engagement_trends(
    rows: Iterable[WeeklyEngagement], *, thresholds: Thresholds, ctx: Context
) -> list[Finding]:
    """Week-over-week changes of engagement per (source, channel) larger than usual.

    change_k = count of week k - count of week k+1 (week 0 = the last complete local week).
    The change of week 0 is flagged when |z| > trend_z against the changes of weeks
    1..trend_history_weeks, for an established series (engagement in at least half of the
    history weeks 1..H+1, a mean of at least TREND_MIN_WEEKLY_MEAN a week). condition_since =
    the end of week 0. Priority: high from 2 x trend_z, medium from 1.5 x trend_z, else low.
    """
    weeks = trend_weeks(as_of=ctx.as_of, tz=ctx.tz, history_weeks=thresholds.trend_history_weeks)
    index = {week: k for k, week in enumerate(weeks)}
    series: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(weeks))
    for row in rows:
        if row.week in index:
            series[(row.source or NONE_SOURCE, row.channel)][index[row.week]] += row.count
    end_of_week = local_midnight(weeks[0] + WEEK, ctx.tz)
    z_limit = thresholds.trend_z
    found: list[tuple[tuple, Finding]] = []
    for (source, channel), counts in series.items():
        history_counts = counts[1:]
        active = sum(1 for c in history_counts if c)
        if (
            active < math.ceil(len(history_counts) / 2)
            or statistics.fmean(history_counts) < TREND_MIN_WEEKLY_MEAN
        ):
            continue
        changes = [counts[k] - counts[k + 1] for k in range(len(counts) - 1)]
        result = deviation(changes[0], changes[1:], min_sd=TREND_MIN_SD)
        if result is None or abs(result.z) <= z_limit:
            continue
        rising = result.z > 0
        size = abs(result.z)
        priority = (
            Priority.HIGH
            if size >= 2 * z_limit
            else Priority.MEDIUM
            if size >= 1.5 * z_limit
            else Priority.LOW
        )
        change_pct = trend_percent(current=counts[0], previous=counts[1])
        moved = (
            f"{'rose' if rising else 'fell'} {abs(change_pct):g}%"
            if change_pct is not None
            else "rose from 0"
        )
        if rising:
            actions = (
                f"Make sure enough agents cover {channel} so the extra {source} conversations are answered "
                "within the response goal.",
                "Find what caused the rise (a campaign, an event, an outage) and follow up while interest is high.",
            )
        else:
            actions = (
                f"Check that the {channel} channel works (deliveries, the inbox, the phone line).",
                f"Ask the agents who work {source} leads what changed, and restart the outreach there.",
            )
        finding = Finding(
            type=InsightType.ENGAGEMENT_TREND,
            priority=priority,
            subject_key=f"source:{source}:channel:{channel}",
            title=f"Engagement from {source} via {channel} {moved} last week",
            explanation=(
                f"In the week of {weeks[0].day} {weeks[0]:%b}, {source} leads and customers engaged "
                f"{counts[0]} times via {channel} against {counts[1]} the week before ({changes[0]:+d}). Over "
                f"the previous {len(changes) - 1} weeks the weekly change was usually {result.mean:+.1f} "
                f"± {result.sd:.1f}, so this one is {size:.1f} standard deviations away."
            ),
            action_items=actions,
            evidence={
                "week": weeks[0].isoformat(),
                "weeklyCounts": {w.isoformat(): c for w, c in zip(weeks, counts, strict=True)},
                "change": changes[0],
                "changePercent": change_pct,
                "usualChangeMean": round_half_up(result.mean, 2),
                "usualChangeSd": round_half_up(result.sd, 2),
                "z": round_half_up(result.z, 2),
                "zThreshold": z_limit,
                "historyWeeks": thresholds.trend_history_weeks,
            },
            impact=Decimal(abs(changes[0])),
            condition_since=end_of_week,
        )
        found.append(((-size, source, channel), finding))
    found.sort(key=lambda pair: pair[0])
    return [finding for _, finding in found]


# --- 5. performance -----------------------------------------------------------------------


def performance_windows(*, as_of: dt.datetime, history_weeks: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """[current, history 1..H]: the last 30 days, then 30-day windows ending at the current
    window's start and at each of the history_weeks - 1 weeks before it (they overlap each
    other, never the current window)."""
    current_start = as_of - PERFORMANCE_WINDOW
    ends = [current_start - k * WEEK for k in range(history_weeks)]
    return [(current_start, as_of), *((end - PERFORMANCE_WINDOW, end) for end in ends)]


@dataclass(frozen=True)
class _Metric:
    """One performance series: how to read a window's value and how to word it."""

    kind: str  # "conversion" or "response"
    higher_is_better: bool
    unit: str
    label: str
    actions_worse: tuple[str, ...] = field(default=())
    actions_better: tuple[str, ...] = field(default=())


def _float(value: Decimal | float | None) -> float | None:
    # The deviation statistics run on floats; rates arrive as unrounded Decimals.
    return None if value is None else float(value)


def _agent_value(totals: AgentTotals, kind: str) -> float | None:
    kpis = agent_kpis(totals)
    if kind == "conversion":
        return _float(kpis.conversion_rate) if totals.assigned >= PERFORMANCE_MIN_LEADS else None
    return _float(kpis.response_time_hours) if totals.response_count >= PERFORMANCE_MIN_LEADS else None


def _source_value(window: tuple[int, int]) -> float | None:
    leads, converted = window
    return _float(percent(converted, leads)) if leads >= PERFORMANCE_MIN_LEADS else None


def _performance_finding(
    *,
    subject_key: str,
    who: str,
    metric: _Metric,
    values: list[float | None],
    thresholds: Thresholds,
    ctx: Context,
    agent_id: int | None,
    counts: dict,
) -> Finding | None:
    current, history = values[0], [v for v in values[1:] if v is not None]
    needed = max(3, min(PERFORMANCE_MIN_SAMPLES, thresholds.performance_history_weeks))
    if current is None or len(history) < needed:
        return None
    result = deviation(current, history, min_sd=PERFORMANCE_MIN_SD[metric.kind])
    if result is None or abs(result.z) <= thresholds.performance_z:
        return None
    better = (result.z > 0) == metric.higher_is_better
    size = abs(result.z)
    priority = (
        Priority.LOW
        if better
        else (Priority.HIGH if size >= 1.5 * thresholds.performance_z else Priority.MEDIUM)
    )
    direction = "up" if result.z > 0 else "down"
    # One decimal, half up, as the dashboards show the same figure.
    shown, usual = round_half_up(current, 1), round_half_up(result.mean, 1)
    return Finding(
        type=InsightType.PERFORMANCE,
        priority=priority,
        subject_key=subject_key,
        agent_id=agent_id,
        title=f"{who}: {metric.label} {direction} to {shown:.1f}{metric.unit}",
        explanation=(
            f"Over the last 30 days the {metric.label} of {who} was {shown:.1f}{metric.unit}, against a usual "
            f"{usual:.1f}{metric.unit} (± {result.sd:.1f}) over {result.samples} earlier 30-day windows: "
            f"{result.z:+.1f} standard deviations, {'better' if better else 'worse'} than usual."
        ),
        action_items=metric.actions_better if better else metric.actions_worse,
        evidence={
            "metric": metric.kind,
            "current": round_half_up(current, 2),
            "usualMean": round_half_up(result.mean, 2),
            "usualSd": round_half_up(result.sd, 2),
            "z": round_half_up(result.z, 2),
            "zThreshold": thresholds.performance_z,
            "historySamples": result.samples,
            "history": [round_half_up(v, 2) for v in values[1:]],
            **counts,
        },
        impact=Decimal(str(round_half_up(size, 2))),
        condition_since=ctx.as_of - PERFORMANCE_WINDOW,
    )


def performance_shifts(
    agents: Iterable[AgentHistory],
    sources: Iterable[SourceHistory],
    *,
    thresholds: Thresholds,
    ctx: Context,
) -> list[Finding]:
    """Agents' conversion rate and response time, and sources' conversion rate, whose last
    30 days are more than performance_z standard deviations from their own history.

    Values with the dashboards' definitions (agents.metrics.agent_kpis over handled leads;
    a source's conversion = converted / created leads), each window counted as it stood at
    its end (a lead converted or contacted after the window's end does not count for it), so
    the recent window is not penalised for leads that have not had time to convert. A window
    with fewer than PERFORMANCE_MIN_LEADS leads has no value; at least PERFORMANCE_MIN_SAMPLES
    history values are needed. condition_since = the start of the last 30 days. Priority:
    better than usual is low; worse is high from 1.5 x performance_z, else medium.
    """
    goal = f"{thresholds.response_goal_hours:g}-hour"
    found: list[Finding] = []
    for agent in agents:
        name = agent.name
        metrics = (
            _Metric(
                "conversion",
                True,
                "%",
                "conversion rate",
                actions_worse=(
                    f"Review {name}'s recent lost and stalled leads with them.",
                    f"Pair {name} with a top performer for call reviews this week.",
                    f"Check whether {name}'s lead mix changed (sources, scores) before drawing conclusions.",
                ),
                actions_better=(
                    f"Ask {name} what they do differently and share it with the team.",
                    f"Consider routing more high-score leads to {name}.",
                ),
            ),
            _Metric(
                "response",
                False,
                " h",
                "response time",
                actions_worse=(
                    f"Check {name}'s workload and rebalance new leads if needed.",
                    f"Ask {name} to contact new leads within the {goal} response goal.",
                    "Look for leads that arrive outside working hours and cover them.",
                ),
                actions_better=(
                    f"Recognise {name}'s faster responses in the team meeting.",
                    f"Ask {name} how they organise their day and share it.",
                ),
            ),
        )
        current = agent.windows[0]
        for metric in metrics:
            counts = (
                {"handledLeads": current.assigned, "convertedLeads": current.converted}
                if metric.kind == "conversion"
                else {"respondedLeads": current.response_count}
            )
            finding = _performance_finding(
                subject_key=f"agent:{agent.agent_id}:{metric.kind}",
                who=name,
                metric=metric,
                values=[_agent_value(w, metric.kind) for w in agent.windows],
                thresholds=thresholds,
                ctx=ctx,
                agent_id=agent.agent_id,
                counts=counts,
            )
            if finding is not None:
                found.append(finding)
    for source in sources:
        name = source.source or NONE_SOURCE
        metric = _Metric(
            "conversion",
            True,
            "%",
            "conversion rate",
            actions_worse=(
                f"Check the quality of recent {name} leads (scores, fit, contact details).",
                f"Talk to whoever runs {name} about what changed in the last month.",
                f"Review how fast {name} leads are contacted.",
            ),
            actions_better=(
                f"Put more budget or effort into {name} while it converts well.",
                f"Find out what changed in {name} and repeat it in other sources.",
            ),
        )
        leads, converted = source.windows[0]
        finding = _performance_finding(
            subject_key=f"source:{name}:conversion",
            who=f"{name} leads",
            metric=metric,
            values=[_source_value(w) for w in source.windows],
            thresholds=thresholds,
            ctx=ctx,
            agent_id=None,
            counts={"createdLeads": leads, "convertedLeads": converted},
        )
        if finding is not None:
            found.append(finding)
    found.sort(key=lambda f: (-(f.impact or 0), f.subject_key))
    return found
