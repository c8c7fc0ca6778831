"""Reads of the insight detectors (docs/metrics.md, "Insight detectors"), scoped by organization.

Each function is a small fixed number of aggregate queries for the whole organization
(grouped, conditional or correlated-subquery aggregates): never a query per lead, contact or
agent. They narrow the rows with the detector's own threshold where that keeps a large
organization's answer small (the detectors in insights.bi.detectors decide and explain).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, DateTimeField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Trunc

from agents.facade import RESPONDED, RESPONSE, AgentTotals, agent_leads, handled_in, ranked_agents
from core.stats.rollups import Microseconds
from core.timeranges import local_midnight
from crm.models import (
    Activity,
    ActivityType,
    CampaignMessage,
    Contact,
    Direction,
    Lead,
    LeadStatus,
    Organization,
)
from insights.bi.detectors import (
    WEEK,
    AgentHistory,
    Customer,
    InterestedLead,
    OpenLead,
    SourceHistory,
    WeeklyEngagement,
)
from insights.bi.models import InsightSettings
from insights.selectors import LEADS, SALES, _open_at
from insights.selectors.leads import _as_day

# Activities where the agent and the lead actually exchange something; notes, assignments,
# status changes and conversion records are bookkeeping, automated calls are the voice robot.
CONVERSATION_TYPES = (ActivityType.CALL, ActivityType.EMAIL, ActivityType.MEETING, ActivityType.MESSAGE)
UNANSWERED_OUTCOMES = ("no_answer", "voicemail", "failed")
# Written inbound activities that wait for an answer (an inbound call is answered or not on the spot).
WAITING_TYPES = (ActivityType.EMAIL, ActivityType.MESSAGE)
INBOUND_TYPES = (ActivityType.CALL, ActivityType.EMAIL, ActivityType.MESSAGE)
# Sales that count as a purchase for engagement (recurring charges and renewals are automatic)
# and those that end the upsell quiet period.
PURCHASE_KINDS = ("new", "one_time", "upsell", "cross_sell", "expansion")
UPSELL_KINDS = ("upsell", "cross_sell")
CLOSED_STATUSES = (LeadStatus.CONVERTED, LeadStatus.LOST)
YEAR = dt.timedelta(days=365)


def _q(prefix: str, **lookups: object) -> Q:
    return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})


def conversation(prefix: str = "") -> Q:
    """A non-automated call, e-mail, meeting or message."""
    return _q(prefix, type__in=CONVERSATION_TYPES, automated=False)


def agent_touch(prefix: str = "") -> Q:
    """A conversation by an agent that reaches the lead: anything not inbound, or an inbound
    call or meeting that was answered (an inbound e-mail is the lead writing, not the agent)."""
    answered_live = _q(prefix, type__in=(ActivityType.CALL, ActivityType.MEETING)) & ~_q(
        prefix, outcome__in=UNANSWERED_OUTCOMES
    )
    return (
        conversation(prefix)
        & _q(prefix, agent__isnull=False)
        & (_q(prefix, direction__in=(Direction.OUTBOUND, "")) | answered_live)
    )


def engaged_activity(prefix: str = "") -> Q:
    """A conversation with the customer: unanswered call attempts do not engage anybody."""
    return conversation(prefix) & ~_q(prefix, type=ActivityType.CALL, outcome__in=UNANSWERED_OUTCOMES)


def _open(as_of: dt.datetime) -> Q:
    """Open at as_of: created before, neither converted nor lost by then (the dashboards'
    pipeline definition), and not marked converted or lost without the date."""
    return _open_at(as_of) & ~Q(status__in=CLOSED_STATUSES)


def _agent_label(name: str | None, email: str | None) -> str:
    if name:
        return name
    return (email or "").split("@")[0]


def _contact_leads(organization: Organization, contact: OuterRef) -> QuerySet:
    """A contact's leads, for a correlated subquery. Scoped through the contact, not with
    lead.organization_id = X: with that constant SQLite walks the (organization, created_at)
    index to avoid sorting and scans every lead once per outer row (minutes at 100,000
    contacts); through the contact it uses the contact_id index."""
    return Lead.objects.filter(contact_id=contact, contact__organization_id=organization.pk)


def settings_row(organization: Organization) -> InsightSettings | None:
    return InsightSettings.objects.for_org(organization).first()


# --- 1. missed opportunities --------------------------------------------------------------


def idle_open_leads(
    *, organization: Organization, as_of: dt.datetime, min_score: int, idle_days: int
) -> list[OpenLead]:
    """Open leads with score >= min_score whose last agent touch (else assignment, else
    creation) is at least idle_days old: one query (the last touch is a correlated subquery
    on the (organization, lead, occurred_at) index)."""
    last_touch = (
        Activity.objects.filter(
            organization_id=organization.pk, lead_id=OuterRef("pk"), occurred_at__lt=as_of
        )
        .filter(agent_touch())
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    rows = (
        LEADS.raw(organization)
        .filter(_open(as_of), score__gte=min_score)
        .annotate(last_touch=Subquery(last_touch, output_field=DateTimeField()))
        .annotate(touched=Coalesce("last_touch", "assigned_at", "created_at"))
        .filter(touched__lte=as_of - dt.timedelta(days=idle_days))
        .values(
            "id",
            "name",
            "external_id",
            "score",
            "estimated_value",
            "created_at",
            "assigned_at",
            "last_touch",
            "assigned_agent_id",
            "assigned_agent__name",
            "assigned_agent__email",
        )
        .order_by("id")
    )
    return [
        OpenLead(
            lead_id=row["id"],
            name=row["name"] or row["external_id"],
            score=row["score"],
            estimated_value=row["estimated_value"],
            created_at=row["created_at"],
            assigned_at=row["assigned_at"],
            last_touch_at=row["last_touch"],
            agent_id=row["assigned_agent_id"],
            agent_name=_agent_label(row["assigned_agent__name"], row["assigned_agent__email"]),
        )
        for row in rows
    ]


# --- 2. upsell potential ------------------------------------------------------------------


def customers_engagement(
    *, organization: Organization, as_of: dt.datetime, engagement_days: int
) -> list[Customer]:
    """Every customer (a contact with a sale closed before as_of: the sale's contact, else its
    lead's) with its engagement in [as_of - engagement_days, as_of): four grouped queries
    (sales, activities on the contact's leads, campaign replies, the contacts' names)."""
    start = as_of - dt.timedelta(days=engagement_days)
    in_window = Q(closed_at__gte=start, closed_at__lt=as_of)
    purchase = in_window & Q(kind__in=PURCHASE_KINDS)
    customer_sales = (
        SALES.raw(organization)
        .filter(closed_at__lt=as_of)
        .annotate(customer=Coalesce("contact_id", "lead__contact_id"))
        .filter(customer__isnull=False)
    )
    sales = (
        customer_sales.values("customer")
        .annotate(
            first_sale=Min("closed_at"),
            last_upsell=Max("closed_at", filter=Q(kind__in=UPSELL_KINDS)),
            purchases=Count("id", filter=purchase),
            first_purchase=Min("closed_at", filter=purchase),
            revenue_year=Sum("amount", filter=Q(closed_at__gte=as_of - YEAR)),
        )
        .order_by()
    )
    by_customer = {row["customer"]: row for row in sales}
    if not by_customer:
        return []
    activities = {
        row["lead__contact_id"]: row
        for row in Activity.objects.for_org(organization)
        .filter(
            engaged_activity(), occurred_at__gte=start, occurred_at__lt=as_of, lead__contact_id__isnull=False
        )
        .values("lead__contact_id")
        .annotate(count=Count("id"), first=Min("occurred_at"))
        .order_by()
    }
    replies = {
        row["contact_id"]: row
        for row in CampaignMessage.objects.for_org(organization)
        .filter(replied_at__gte=start, replied_at__lt=as_of, contact_id__isnull=False)
        .values("contact_id")
        .annotate(count=Count("id"), first=Min("replied_at"))
        .order_by()
    }
    # The owner: the agent of the contact's newest lead (agents see their own leads' insights).
    owner = (
        _contact_leads(organization, OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("assigned_agent_id")[:1]
    )
    contacts = (
        Contact.objects.for_org(organization)
        .filter(id__in=customer_sales.values("customer"))
        .annotate(owner=Subquery(owner))
        .values_list("id", "name", "external_id", "owner")
    )
    out = []
    for contact_id, name, external_id, agent_id in contacts:
        sale = by_customer.get(contact_id)
        if sale is None:
            continue
        activity, reply = activities.get(contact_id, {}), replies.get(contact_id, {})
        firsts = [
            m for m in (sale["first_purchase"], activity.get("first"), reply.get("first")) if m is not None
        ]
        out.append(
            Customer(
                contact_id=contact_id,
                name=name or external_id,
                first_sale_at=sale["first_sale"],
                last_upsell_at=sale["last_upsell"],
                revenue_year=sale["revenue_year"] or Decimal(0),
                activities=activity.get("count", 0),
                replies=reply.get("count", 0),
                purchases=sale["purchases"],
                first_event_at=min(firsts) if firsts else None,
                agent_id=agent_id,
            )
        )
    out.sort(key=lambda c: c.contact_id)
    return out


# --- 3. conversion risk -------------------------------------------------------------------


def interested_open_leads(
    *, organization: Organization, as_of: dt.datetime, window_days: int
) -> list[InterestedLead]:
    """Interested open leads with their conversation counts in the last two windows and the
    times of their last activity, last inbound e-mail/message and last agent touch: one
    grouped query over the leads joined to their activities."""
    window = dt.timedelta(days=window_days)
    before = Q(activity__occurred_at__lt=as_of)
    talk = conversation("activity__") & before
    rows = (
        LEADS.raw(organization)
        .filter(_open(as_of), interested_at__lt=as_of)
        .annotate(
            current=Count("activity", filter=talk & Q(activity__occurred_at__gte=as_of - window)),
            previous=Count(
                "activity",
                filter=talk
                & Q(activity__occurred_at__gte=as_of - 2 * window, activity__occurred_at__lt=as_of - window),
            ),
            last_activity=Max("activity__occurred_at", filter=talk),
            last_inbound=Max(
                "activity__occurred_at",
                filter=before
                & Q(
                    activity__type__in=WAITING_TYPES,
                    activity__direction=Direction.INBOUND,
                    activity__automated=False,
                ),
            ),
            last_touch=Max("activity__occurred_at", filter=agent_touch("activity__") & before),
        )
        .values(
            "id",
            "name",
            "external_id",
            "score",
            "estimated_value",
            "current",
            "previous",
            "last_activity",
            "last_inbound",
            "last_touch",
            "assigned_agent_id",
            "assigned_agent__name",
            "assigned_agent__email",
        )
        .order_by("id")
    )
    return [
        InterestedLead(
            lead_id=row["id"],
            name=row["name"] or row["external_id"],
            score=row["score"],
            estimated_value=row["estimated_value"],
            current=row["current"],
            previous=row["previous"],
            last_activity_at=row["last_activity"],
            last_inbound_at=row["last_inbound"],
            last_touch_at=row["last_touch"],
            agent_id=row["assigned_agent_id"],
            agent_name=_agent_label(row["assigned_agent__name"], row["assigned_agent__email"]),
        )
        for row in rows
    ]


# --- 4. engagement trends -----------------------------------------------------------------


def weekly_engagement(*, organization: Organization, weeks: list[dt.date]) -> list[WeeklyEngagement]:
    """Engagement per (lead source, channel, local ISO week) over the given Mondays: inbound
    calls, e-mails and messages on leads (the activity's channel, else its type), and campaign
    replies (the campaign's channel; the source of the contact's newest lead created before
    the reply, "" without one). Two grouped queries."""
    tz = organization.tz
    start, end = local_midnight(min(weeks), tz), local_midnight(max(weeks) + WEEK, tz)
    activities = (
        Activity.objects.for_org(organization)
        .filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            lead__isnull=False,
            automated=False,
            direction=Direction.INBOUND,
            type__in=INBOUND_TYPES,
        )
        .annotate(week=Trunc("occurred_at", "week", tzinfo=tz))
        .values("lead__source", "channel", "type", "week")
        .annotate(count=Count("id"))
        .order_by()
    )
    lead_source = (
        _contact_leads(organization, OuterRef("contact_id"))
        .filter(created_at__lte=OuterRef("replied_at"))
        .order_by("-created_at", "-id")
        .values("source")[:1]
    )
    replies = (
        CampaignMessage.objects.for_org(organization)
        .filter(replied_at__gte=start, replied_at__lt=end)
        .annotate(
            week=Trunc("replied_at", "week", tzinfo=tz), source=Coalesce(Subquery(lead_source), Value(""))
        )
        .values("source", "campaign__channel", "week")
        .annotate(count=Count("id"))
        .order_by()
    )
    out = [
        WeeklyEngagement(
            source=row["lead__source"] or "",
            channel=row["channel"] or row["type"],
            week=_as_day(row["week"], tz),
            count=row["count"],
        )
        for row in activities
    ]
    out += [
        WeeklyEngagement(
            source=row["source"] or "",
            channel=row["campaign__channel"] or "campaign",
            week=_as_day(row["week"], tz),
            count=row["count"],
        )
        for row in replies
    ]
    return out


# --- 5. performance -----------------------------------------------------------------------


def agent_performance_history(
    *, organization: Organization, windows: list[tuple[dt.datetime, dt.datetime]]
) -> list[AgentHistory]:
    """Per ranked agent, the agent-metric totals of each window as they stood at its end
    (handled in the window; converted, contacted before its end): one conditional-aggregate
    query over the handled leads plus one for the agents."""
    aggregates = {}
    for i, (start, end) in enumerate(windows):
        handled = handled_in(start, end)
        responded = handled & RESPONDED & Q(contacted_at__lt=end)
        aggregates[f"assigned_{i}"] = Count("id", filter=handled)
        aggregates[f"converted_{i}"] = Count("id", filter=handled & Q(converted_at__lt=end))
        aggregates[f"response_{i}"] = Sum(Microseconds(RESPONSE), filter=responded)
        aggregates[f"responded_{i}"] = Count("id", filter=responded)
    first, last = min(s for s, _ in windows), max(e for _, e in windows)
    rows = {
        row["assigned_agent_id"]: row
        for row in agent_leads(organization)
        .filter(handled_in(first, last))
        .values("assigned_agent_id")
        .annotate(**aggregates)
        .order_by()
    }
    out = []
    for agent in ranked_agents(organization):
        row = rows.get(agent.pk)
        if row is None:
            continue
        totals = tuple(
            AgentTotals(
                assigned=row[f"assigned_{i}"],
                converted=row[f"converted_{i}"],
                response_microseconds=row[f"response_{i}"] or 0,
                response_count=row[f"responded_{i}"],
            )
            for i in range(len(windows))
        )
        out.append(AgentHistory(agent_id=agent.pk, name=agent.display_name, windows=totals))
    return out


def source_performance_history(
    *, organization: Organization, windows: list[tuple[dt.datetime, dt.datetime]]
) -> list[SourceHistory]:
    """Per lead source, (created, converted before the window's end) of each window: one
    conditional-aggregate query."""
    aggregates = {}
    for i, (start, end) in enumerate(windows):
        created = Q(created_at__gte=start, created_at__lt=end)
        aggregates[f"created_{i}"] = Count("id", filter=created)
        aggregates[f"converted_{i}"] = Count("id", filter=created & Q(converted_at__lt=end))
    first, last = min(s for s, _ in windows), max(e for _, e in windows)
    rows = (
        LEADS.raw(organization)
        .filter(created_at__gte=first, created_at__lt=last)
        .values("source")
        .annotate(**aggregates)
        .order_by("source")
    )
    merged: dict[str, list[list[int]]] = {}
    for row in rows:
        # NULL and "" are the same "(none)" source
        counts = merged.setdefault(row["source"] or "", [[0, 0] for _ in windows])
        for i in range(len(windows)):
            counts[i][0] += row[f"created_{i}"]
            counts[i][1] += row[f"converted_{i}"]
    return [SourceHistory(source=s, windows=tuple((c, v) for c, v in counts)) for s, counts in merged.items()]
