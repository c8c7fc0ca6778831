"""Reads of the Overview tab beyond the overview answer: today so far and the month goals."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from core.timeranges import Window, add_months, local_midnight
from crm.models import Organization
from insights import selectors
from insights.models import OrganizationGoal
from insights.selectors import CALLS, CAMPAIGNS, LEADS, SALES, Filters, Part


def today_windows(organization: Organization, as_of: dt.datetime) -> dict[str, Window]:
    """Today from local midnight to now, and yesterday from its midnight to the same time."""
    midnight = local_midnight(as_of.astimezone(organization.tz).date(), organization.tz)
    day = dt.timedelta(days=1)
    return {
        "today": Window(start=midnight, end=as_of),
        "yesterday": Window(start=midnight - day, end=max(midnight - day, as_of - day)),
    }


def today_totals(*, organization: Organization, filters: Filters, as_of: dt.datetime) -> dict[str, dict]:
    """{spec name: {"today": totals, "yesterday": totals}}: one live query per table."""
    windows = today_windows(organization, as_of)
    trusted, hours = selectors.trust(organization)
    out = {}
    for spec in (CALLS, LEADS, SALES, CAMPAIGNS):
        grouped = selectors.window_totals(
            organization=organization,
            spec=spec,
            parts={name: Part(w) for name, w in windows.items()},
            filters=filters,
            trusted_last_day=trusted,
            hours_until=hours,
        )
        out[spec.name] = {name: grouped[name].get(None, {}) for name in windows}
    return out


def month_window(organization: Organization, as_of: dt.datetime) -> tuple[dt.date, Window]:
    """The local calendar month of `as_of`, from its first day to now."""
    first = as_of.astimezone(organization.tz).date().replace(day=1)
    return first, Window(start=local_midnight(first, organization.tz), end=as_of)


def month_length(first: dt.date) -> int:
    return (add_months(first, 1) - first).days


def goals_for_month(*, organization: Organization, month: dt.date) -> list[OrganizationGoal]:
    return list(OrganizationGoal.objects.for_org(organization).filter(month=month).order_by("metric"))


def month_actuals(*, organization: Organization, window: Window) -> dict[str, object]:
    """Organization-wide month-to-date calls, revenue and conversions (the goals' figures):
    rollup days plus the live rest for calls and revenue, one query for conversions."""
    trusted, hours = selectors.trust(organization)
    parts = {"month": Part(window)}

    def total(spec, measure):
        grouped = selectors.window_totals(
            organization=organization,
            spec=spec,
            parts=parts,
            filters=Filters(),
            trusted_last_day=trusted,
            hours_until=hours,
        )
        return grouped["month"].get(None, {}).get(measure, 0)

    # Conversions count when they happen (converted_at in the month), whatever the lead's
    # creation day: a monthly target is about this month's work.
    conversions = (
        LEADS.raw(organization)
        .filter(Q(converted_at__gte=window.start) & Q(converted_at__lt=window.end))
        .aggregate(n=Count("id"))["n"]
    )
    return {"calls": total(CALLS, "calls"), "revenue": total(SALES, "amount_sum"), "conversions": conversions}
