"""Reads of the opportunity signals, scoped by organization (docs/metrics.md, "Opportunities").

`signal_facts` runs five aggregate queries (sales per contact, line and kind; the latest lead
per contact with its lead counts; the last ENGAGEMENT_DAYS of interactions, campaign replies
and inbound chats), whatever the data size, and reads only rows before `as_of`, so the same
call replays any past moment for training without leakage. The rules that turn those
aggregates into signals are pure (insights.bi.opportunities.rules). The same SQL runs on
SQLite and PostgreSQL (window functions for the latest lead and the medians).

A contact is the sale's contact, else its lead's contact: ingestion allows either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber

from core.metrics import counted_currencies
from crm.models import (
    Activity,
    ActivityType,
    CampaignMessage,
    ChatMessage,
    Contact,
    Direction,
    Lead,
    Organization,
    Sale,
)
from insights.bi.opportunities import rules
from insights.bi.opportunities.value import DEAL_LEVELS, VALUE_LOOKBACK_DAYS, DealSizes

# Activities that are an exchange with the contact (not routing, notes or status changes).
INTERACTION_TYPES = (ActivityType.CALL, ActivityType.EMAIL, ActivityType.MEETING, ActivityType.MESSAGE)
# Contacts are looked up by id in batches of this size (SQLite's variable limit is 32,766).
CONTACT_BATCH_SIZE = 2000


def _frame(rows: Iterable[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=list(columns))


def _sale_contact() -> Coalesce:
    return Coalesce("contact_id", "lead__contact_id")


def _sales(organization: Organization) -> QuerySet:
    return Sale.objects.for_org(organization).filter(
        Q(contact__isnull=False) | Q(lead__contact__isnull=False)
    )


def sales_by_contact(*, organization: Organization, before: dt.datetime) -> pd.DataFrame:
    rows = (
        _sales(organization)
        .filter(closed_at__lt=before)
        .values(buyer=_sale_contact(), line=F("product_line"), sale_kind=F("kind"))
        .annotate(n=Count("id"), total=Sum("amount"), first_at=Min("closed_at"), last_at=Max("closed_at"))
        .order_by()
    )
    frame = _frame(
        (
            {
                "contact_id": r["buyer"],
                "product_line": r["line"],
                "kind": r["sale_kind"],
                "n": r["n"],
                "total": float(r["total"] or 0),
                "first_at": r["first_at"],
                "last_at": r["last_at"],
            }
            for r in rows
        ),
        rules.SALES_COLUMNS,
    )
    return frame.astype({"n": float, "total": float})


def latest_leads(*, organization: Organization, as_of: dt.datetime) -> pd.DataFrame:
    """Per contact: its latest lead created before as_of (id, region, line, agent) and its
    leads' counts as of then (open, lost, created in the engagement window)."""
    recent = as_of - dt.timedelta(days=rules.ENGAGEMENT_DAYS)
    per_contact = [F("contact_id")]
    is_open = Q(converted_at__isnull=True) | Q(converted_at__gte=as_of)
    is_open &= Q(lost_at__isnull=True) | Q(lost_at__gte=as_of)

    def flag(condition: Q) -> Window:
        return Window(
            Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())),
            partition_by=per_contact,
        )

    rows = (
        Lead.objects.for_org(organization)
        .filter(contact__isnull=False, created_at__lt=as_of)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=per_contact, order_by=[F("created_at").desc(), F("id").desc()]
            ),
            n_leads=Window(Count("id"), partition_by=per_contact),
            n_open=flag(is_open),
            n_lost=flag(Q(lost_at__lt=as_of)),
            new_leads=flag(Q(created_at__gte=recent)),
            last_lost_at=Window(
                Max(Case(When(lost_at__lt=as_of, then=F("lost_at")))), partition_by=per_contact
            ),
        )
        .filter(rank=1)
        .values(
            "contact_id",
            "id",
            "region",
            "product_line",
            "assigned_agent_id",
            "n_leads",
            "n_open",
            "n_lost",
            "last_lost_at",
            "created_at",
            "new_leads",
        )
    )
    frame = _frame(
        (
            {**r, "lead_id": r["id"], "agent_id": r["assigned_agent_id"], "last_created_at": r["created_at"]}
            for r in rows
        ),
        rules.LEADS_COLUMNS,
    )
    return frame.astype({"lead_id": "Int64", "agent_id": "Int64"})


def recent_engagement(*, organization: Organization, as_of: dt.datetime) -> tuple[pd.DataFrame, ...]:
    """Interactions on the contacts' leads, campaign replies and inbound chats in the last
    ENGAGEMENT_DAYS before as_of, per contact (three queries)."""
    start = as_of - dt.timedelta(days=rules.ENGAGEMENT_DAYS)
    inbound = Q(direction=Direction.INBOUND)
    activities = (
        Activity.objects.for_org(organization)
        .filter(occurred_at__gte=start, occurred_at__lt=as_of, lead__contact__isnull=False)
        .filter(type__in=INTERACTION_TYPES, automated=False)
        .values(buyer=F("lead__contact_id"))
        .annotate(
            interactions=Count("id"),
            inbound=Count("id", filter=inbound),
            meetings=Count("id", filter=Q(type=ActivityType.MEETING)),
            last_inbound_at=Max("occurred_at", filter=inbound),
        )
        .order_by()
    )
    replies = (
        CampaignMessage.objects.for_org(organization)
        .filter(replied_at__gte=start, replied_at__lt=as_of, contact__isnull=False)
        .values("contact_id")
        .annotate(replies=Count("id"), last_reply_at=Max("replied_at"))
        .order_by()
    )
    chats = (
        ChatMessage.objects.for_org(organization)
        .filter(sent_at__gte=start, sent_at__lt=as_of, contact__isnull=False, direction=Direction.INBOUND)
        .values("contact_id")
        .annotate(chats=Count("id"), last_chat_at=Max("sent_at"))
        .order_by()
    )
    return (
        _frame(({**r, "contact_id": r["buyer"]} for r in activities), rules.ACTIVITY_COLUMNS),
        _frame(replies, rules.REPLY_COLUMNS),
        _frame(chats, rules.CHAT_COLUMNS),
    )


def signal_facts(*, organization: Organization, as_of: dt.datetime) -> rules.SignalFacts:
    """Everything the signal rules read, as of `as_of` (five queries)."""
    activities, replies, chats = recent_engagement(organization=organization, as_of=as_of)
    return rules.SignalFacts(
        as_of=as_of,
        sales=sales_by_contact(organization=organization, before=as_of),
        leads=latest_leads(organization=organization, as_of=as_of),
        activities=activities,
        replies=replies,
        chats=chats,
    )


def signals_at(
    *, organization: Organization, as_of: dt.datetime, renewal_notice_days: int, quiet_days: int
) -> pd.DataFrame:
    """The candidate signals as of `as_of`: one row per (contact, type) (rules.SIGNAL_COLUMNS)."""
    facts = signal_facts(organization=organization, as_of=as_of)
    return rules.candidate_signals(facts, renewal_notice_days=renewal_notice_days, quiet_days=quiet_days)


def sale_outcomes(*, organization: Organization, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Sales closed in [start, end) per (contact, kind, product line): what a signal at
    `start` turned into (the labels of the training set; one query)."""
    rows = (
        _sales(organization)
        .filter(closed_at__gte=start, closed_at__lt=end)
        .values(buyer=_sale_contact(), sale_kind=F("kind"), line=F("product_line"))
        .annotate(n=Count("id"))
        .order_by()
    )
    return _frame(
        (
            {"contact_id": r["buyer"], "kind": r["sale_kind"], "product_line": r["line"], "n": r["n"]}
            for r in rows
        ),
        ("contact_id", "kind", "product_line", "n"),
    )


def first_sale_at(*, organization: Organization) -> dt.datetime | None:
    return Sale.objects.for_org(organization).aggregate(first=Min("closed_at"))["first"]


def deal_sizes(*, organization: Organization, as_of: dt.datetime) -> DealSizes:
    """Median sale amount and count per (kind, product line, region), (kind, line), (kind) and
    overall, of the sales closed in the VALUE_LOOKBACK_DAYS before as_of (one query a level).

    The median is computed in the database on both engines: the rows ranked
    (n + 1) // 2 and (n + 2) // 2 of each group (one row when n is odd, the two middle ones
    when it is even) are fetched and averaged. The region is the sale's lead's region. Only
    sales in the organization's currency count (core.metrics.counted_currencies): a value is
    stored in that currency and amounts are never converted.
    """
    sales = Sale.objects.for_org(organization).filter(
        closed_at__lt=as_of,
        closed_at__gte=as_of - dt.timedelta(days=VALUE_LOOKBACK_DAYS),
        currency__in=counted_currencies(organization.currency),
    )
    keys = {"kind": F("kind"), "line": F("product_line"), "region": Coalesce(F("lead__region"), Value(""))}
    levels: dict[tuple[str, ...], dict[tuple, tuple[float, int]]] = {}
    for level in DEAL_LEVELS:
        partition = [keys[name] for name in level] or [Value(1)]
        middle = (
            sales.annotate(
                **{f"k_{name}": keys[name] for name in level},
                rank=Window(RowNumber(), partition_by=partition, order_by=[F("amount").asc(), F("id").asc()]),
                size=Window(Count("id"), partition_by=partition),
            )
            .filter(Q(rank=(F("size") + 1) / 2) | Q(rank=(F("size") + 2) / 2))
            .values(*(f"k_{name}" for name in level), "amount", "size")
        )
        sums: dict[tuple, list[float]] = {}
        for row in middle:
            key = tuple(row[f"k_{name}"] for name in level)
            entry = sums.setdefault(key, [0.0, 0.0, row["size"]])
            entry[0] += float(row["amount"])
            entry[1] += 1
        levels[level] = {key: (total / count, int(size)) for key, (total, count, size) in sums.items()}
    return DealSizes(levels=levels)


def contact_names(*, organization: Organization, contact_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(contact_ids))
    names: dict[int, str] = {}
    for start in range(0, len(ids), CONTACT_BATCH_SIZE):
        batch = ids[start : start + CONTACT_BATCH_SIZE]
        names.update(Contact.objects.for_org(organization).filter(pk__in=batch).values_list("pk", "name"))
    return names
