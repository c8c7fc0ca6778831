"""The records behind a number of the dashboard (drill-down): leads, calls or sales.

A chart point or table cell links to `insights.tabs.records_url(kind, query, **params)`;
the records page parses the same query string back (`parse_record_params`) and lists
`record_queryset(...)`. The parameters (docs/metrics.md, "Drill-down") narrow the view's
window and filters; every value is checked (TabInputError names the parameter).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from core.timeranges import Window, local_midnight
from crm.models import Campaign, SaleKind, Touchpoint
from insights import selectors
from insights.selectors import leads as lead_reads
from insights.tabs import (
    RECORD_KINDS,
    DashboardQuery,
    TabInputError,
    parse_dashboard_query,
)

STAGES = {
    "created": None,
    "contacted": "contacted_at",
    "interested": "interested_at",
    "converted": "converted_at",
    "lost": "lost_at",
}
NO_OUTCOME = "(none)"
UNKNOWN_COUNTRY = "unknown"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DECIMAL = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
# Days allowed for convertedWithinDays (a cohort horizon of up to a year).
MAX_HORIZON_DAYS = 366
TIME_FIELDS = {"leads": "created_at", "calls": "occurred_at", "sales": "closed_at"}
ORDERING = {"leads": ("-created_at", "-id"), "calls": ("-occurred_at", "-id"), "sales": ("-closed_at", "-id")}


def _int(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not low <= int(text) <= high:
        raise TabInputError(name, f"Use a whole number from {low} to {high}.")
    return int(text)


def _day(params: Mapping[str, str], name: str) -> dt.date | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    try:
        day = dt.date.fromisoformat(text) if ISO_DATE.match(text) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise TabInputError(name, "Use a date as YYYY-MM-DD (years 2000-2100).")
    return day


def _amount(params: Mapping[str, str], name: str) -> Decimal | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    if not DECIMAL.match(text):
        raise TabInputError(name, "Use an amount such as 1500 or 99.50.")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise TabInputError(name, "Use an amount such as 1500 or 99.50.") from exc


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    if text not in choices:
        raise TabInputError(name, f"Use one of {', '.join(choices)}.")
    return text


def _text(params: Mapping[str, str], name: str, limit: int = 100) -> str | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    if len(text) > limit:
        raise TabInputError(name, "The value is too long.")
    return text


def _stages(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated stages a lead reached (each milestone set), e.g. contacted,interested."""
    text = _text(params, name, 60)
    if text is None:
        return ()
    stages = tuple(text.split(","))
    allowed = tuple(s for s in STAGES if STAGES[s])
    if not set(stages) <= set(allowed) or len(set(stages)) != len(stages):
        raise TabInputError(name, f"Use distinct stages from {', '.join(allowed)}, separated by commas.")
    return stages


def _campaign(params: Mapping[str, str], query: DashboardQuery) -> Campaign | None:
    external_id = _text(params, "campaign", 200)
    if external_id is None:
        return None
    campaign = Campaign.objects.for_org(query.organization).filter(external_id=external_id).first()
    if campaign is None:
        raise TabInputError("campaign", "No campaign with this id in your organization.")
    return campaign


def _window(params: Mapping[str, str], query: DashboardQuery) -> Window:
    """The view's window, or the local days from..to (inclusive) of a clicked bucket."""
    first, last = _day(params, "from"), _day(params, "to")
    if first is None and last is None:
        return query.window
    tz = query.organization.tz
    first = first or query.window.start.astimezone(tz).date()
    last = last or first
    if first > last:
        raise TabInputError("to", "Give a day on or after 'from'.")
    if (last - first).days > 3660:
        raise TabInputError("to", "At most ten years.")
    return Window(start=local_midnight(first, tz), end=local_midnight(last + dt.timedelta(days=1), tz))


def _in(window: Window, column: str) -> Q:
    return Q(**{f"{column}__gte": window.start, f"{column}__lt": window.end})


def _leads(query: DashboardQuery, params: Mapping[str, str]) -> QuerySet:
    organization = query.organization
    qs = selectors.LEADS.raw(organization)
    campaign = _campaign(params, query)
    if campaign is not None:
        # As the campaigns' lead count: touched at any time, organization-wide.
        qs = qs.filter(Exists(Touchpoint.objects.filter(campaign_id=campaign.pk, lead_id=OuterRef("pk"))))
    else:
        qs = qs.filter(query.filters.raw_q(selectors.LEADS))
        week = _day(params, "cohortWeek")
        if week is not None:
            if week.isoweekday() != 1:
                raise TabInputError("cohortWeek", "Give the Monday that starts the week.")
            tz = organization.tz
            qs = qs.filter(
                _in(
                    Window(local_midnight(week, tz), local_midnight(week + dt.timedelta(days=7), tz)),
                    "created_at",
                )
            )
        else:
            qs = qs.filter(_in(_window(params, query), "created_at"))
    stage = _choice(params, "stage", tuple(STAGES))
    if stage and STAGES[stage]:
        qs = qs.filter(**{f"{STAGES[stage]}__isnull": False})
    for reached in _stages(params, "reached"):
        qs = qs.filter(lead_reads.reached(reached))
    low, high = _int(params, "scoreMin", 0, 100), _int(params, "scoreMax", 0, 100)
    if low is not None:
        qs = qs.filter(score__gte=low)
    if high is not None:
        qs = qs.filter(score__lte=high)
    if _choice(params, "noScore", ("1",)):
        qs = qs.filter(score__isnull=True)
    within = _int(params, "convertedWithinDays", 1, MAX_HORIZON_DAYS)
    if within is not None:
        qs = qs.filter(lead_reads.converted_within(within))
    return qs.select_related("assigned_agent", "contact")


def _calls(query: DashboardQuery, params: Mapping[str, str]) -> QuerySet:
    tz = query.organization.tz
    qs = selectors.CALLS.raw(query.organization).filter(query.filters.raw_q(selectors.CALLS))
    qs = qs.filter(_in(_window(params, query), "occurred_at"))
    outcome = _text(params, "outcome", 32 if params.get("outcome") != NO_OUTCOME else 10)
    if outcome is not None:
        qs = qs.filter(outcome="" if outcome == NO_OUTCOME else outcome)
    country = _text(params, "country", 7)
    if country is not None:
        if country == UNKNOWN_COUNTRY:
            qs = qs.filter(Q(lead__contact__country="") | Q(lead__contact__isnull=True))
        elif re.fullmatch(r"[A-Z]{2}", country):
            qs = qs.filter(lead__contact__country=country)
        else:
            raise TabInputError("country", f"Use an ISO country code such as KE, or {UNKNOWN_COUNTRY}.")
    hour = _int(params, "hour", 0, 23)
    if hour is not None:
        qs = qs.annotate(local_hour=ExtractHour("occurred_at", tzinfo=tz)).filter(local_hour=hour)
    weekday = _int(params, "weekday", 1, 7)
    if weekday is not None:
        qs = qs.annotate(local_weekday=ExtractIsoWeekDay("occurred_at", tzinfo=tz)).filter(
            local_weekday=weekday
        )
    automated = _choice(params, "automated", ("true", "false"))
    if automated is not None:
        qs = qs.filter(automated=automated == "true")
    return qs.select_related("agent", "lead", "lead__contact")


def _sales(query: DashboardQuery, params: Mapping[str, str]) -> QuerySet:
    window = _window(params, query)
    if _choice(params, "leadCreated", ("1",)):
        # The Leads tab's source revenue: the sales of the leads created in the window, closed
        # at any time, the filters applying to the lead.
        qs = lead_reads.cohort_sales(organization=query.organization, window=window, filters=query.filters)
    else:
        qs = selectors.SALES.raw(query.organization).filter(query.filters.raw_q(selectors.SALES))
        qs = qs.filter(_in(window, "closed_at"))
    kind = _choice(params, "kind", tuple(SaleKind.values))
    if kind is not None:
        qs = qs.filter(kind=kind)
    low, high = _amount(params, "dealMin"), _amount(params, "dealMax")
    if low is not None:
        qs = qs.filter(amount__gte=low)
    if high is not None:
        qs = qs.filter(amount__lt=high)
    campaign = _campaign(params, query)
    if campaign is not None:
        qs = qs.filter(last_touch_campaign_id=campaign.pk)
    return qs.select_related("agent", "lead")


BUILDERS = {"leads": _leads, "calls": _calls, "sales": _sales}


def record_params(kind: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The drill-down parameters of `kind` present in a query string (one text value each)."""
    out = {}
    for name in RECORD_KINDS[kind]:
        value = params.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise TabInputError(name, "Give one text value.")
        out[name] = value
    return out


def record_queryset(kind: str, query: DashboardQuery, params: Mapping[str, str]) -> QuerySet:
    """The records of `kind` behind a number, newest first (TabInputError on bad params)."""
    if kind not in BUILDERS:
        raise KeyError(kind)
    return BUILDERS[kind](query, params).order_by(*ORDERING[kind])


def records_for_url(organization: Any, url: str, as_of: dt.datetime) -> QuerySet:
    """The queryset a records_url() link lists (tests follow chart links with it)."""
    parts = urlsplit(url)
    kind = parts.path.rstrip("/").rsplit("/", 1)[-1]
    params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query = parse_dashboard_query(organization=organization, params=params, as_of=as_of)
    return record_queryset(kind, query, record_params(kind, params))
