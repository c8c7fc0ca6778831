"""Forms of the agent pages: bind and validate the query string and the goal form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from django import forms
from django.http import HttpRequest, QueryDict

from agents import analytics, selectors, team
from agents.models import GoalPeriod
from agents.services import GoalConflict, GoalError, goals_set
from core.timeranges import DEFAULT_RANGE, NAMED_RANGES
from crm.models import Member

RANGE_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "12 months"}
RANGE_SHORT = {"24h": "24h", "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "1 year"}
PERIODS = ("daily", "weekly", "monthly")
FILTERS = tuple(selectors.TIMELINE_TYPES)
RANGES_TEXT = ", ".join(NAMED_RANGES)


def _choice(name: str, choices: tuple[str, ...] | list[str], allowed: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[(value, value) for value in choices],
        required=False,
        error_messages={"invalid_choice": f"Unknown {name} “%(value)s”; use {allowed}."},
    )


@dataclass(frozen=True)
class Link:
    """A link of a segmented control: its label, its query string, whether it is current."""

    label: str
    query: str  # the whole page's query string (plain links, without JavaScript)
    active: bool
    section_query: str = ""  # only what an HTMX section request changes (see for_section)


@dataclass(frozen=True)
class DashboardParams:
    """The valid query of an agent page; unknown values fall back to the defaults."""

    range: str = DEFAULT_RANGE
    period: str = "daily"
    filter: str = "all"
    cursor: str = ""

    @property
    def range_label(self) -> str:
        return RANGE_LABELS[self.range]

    def query(self, **changes: str) -> str:
        """The page's query string with some values changed (links keep the others)."""
        values = replace(self, **changes)
        return urlencode({"range": values.range, "period": values.period, "filter": values.filter})

    def range_links(self) -> list[Link]:
        return [Link(RANGE_SHORT[r], self.query(range=r), r == self.range) for r in NAMED_RANGES]

    def period_links(self) -> list[Link]:
        return [
            Link(
                p.capitalize(),
                self.query(period=p),
                p == self.period,
                urlencode({"range": self.range, "period": p}),
            )
            for p in PERIODS
        ]

    def filter_links(self) -> list[Link]:
        return [
            Link(
                f.capitalize(),
                self.query(filter=f),
                f == self.filter,
                urlencode({"range": self.range, "filter": f}),
            )
            for f in FILTERS
        ]

    def more_query(self, cursor: str) -> str:
        return f"{self.query()}&{urlencode({'cursor': cursor})}"

    def more_section_query(self, cursor: str) -> str:
        return urlencode({"range": self.range, "filter": self.filter, "cursor": cursor})

    @property
    def year_query(self) -> str:
        return self.query(range="1y")


class DashboardQuery(forms.Form):
    """?range=7d&period=weekly&filter=calls&cursor=...; every field is optional."""

    range = _choice("time range", list(NAMED_RANGES), RANGES_TEXT)
    period = _choice("revenue period", PERIODS, "daily, weekly or monthly")
    filter = _choice("activity filter", FILTERS, "all, calls, emails or conversions")
    cursor = forms.CharField(required=False, max_length=500)

    def clean_cursor(self) -> str:
        cursor = self.cleaned_data["cursor"]
        if cursor:
            try:
                analytics.decode_cursor(cursor)
            except analytics.CursorError as exc:
                raise forms.ValidationError("This “load more” link is broken; reload the page.") from exc
        return cursor

    def params(self) -> DashboardParams:
        """The valid values, with the defaults wherever the query is missing or wrong."""
        self.is_valid()
        given = {name: value for name, value in self.cleaned_data.items() if value}
        return DashboardParams(**given)

    def problems(self) -> list[str]:
        self.is_valid()
        return [message for messages in self.errors.values() for message in messages]

    @classmethod
    def for_section(cls, request: HttpRequest) -> DashboardQuery:
        """A section's own parameters over the valid ones of the page it was loaded in.

        A section link only carries what it changes (?period=weekly); the rest of the state
        comes from the address bar (HX-Current-URL, which HTMX keeps up to date as sections
        push their URLs), so the URL pushed back keeps the other sections' choices.
        """
        current = request.htmx.current_url if request.htmx else None
        page = cls(QueryDict(urlsplit(current).query)).params() if current else DashboardParams()
        data = {"range": page.range, "period": page.period, "filter": page.filter}
        data.update(request.GET.items())
        return cls(data)


@dataclass(frozen=True)
class TeamParams:
    range: str = DEFAULT_RANGE
    sort: str = team.DEFAULT_SORT

    @property
    def range_label(self) -> str:
        return RANGE_LABELS[self.range]

    def query(self, **changes: str) -> str:
        values = replace(self, **changes)
        return urlencode({"range": values.range, "sort": values.sort})

    def range_links(self) -> list[Link]:
        return [Link(RANGE_SHORT[r], self.query(range=r), r == self.range) for r in NAMED_RANGES]

    def columns(self) -> list[Column]:
        """The table's header: each column links to the sort a click on it gives."""
        current = self.sort.lstrip("-")
        direction = "descending" if self.sort.startswith("-") else "ascending"
        return [
            Column(
                key=key,
                label=label,
                query=self.query(sort=team.next_sort(key, self.sort)),
                sorted=direction if key == current else "none",
                numeric=key != "name",
            )
            for key, label in TEAM_COLUMNS.items()
        ]


TEAM_COLUMNS = {
    "name": "Agent",
    "rank": "Rank",
    "leads": "Leads handled",
    "conversion": "Conversion",
    "revenue": "Revenue",
    "response": "Response time",
    "satisfaction": "Satisfaction",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    query: str
    sorted: str  # the aria-sort value: "ascending", "descending" or "none"
    numeric: bool


class TeamQuery(forms.Form):
    range = _choice("time range", list(NAMED_RANGES), RANGES_TEXT)
    sort = _choice("sort column", team.sort_choices(), "one of the column names, “-” first to reverse")

    def params(self) -> TeamParams:
        self.is_valid()
        return TeamParams(**{name: value for name, value in self.cleaned_data.items() if value})

    def problems(self) -> list[str]:
        self.is_valid()
        return [message for messages in self.errors.values() for message in messages]


# --- goals ------------------------------------------------------------------------------------

# Form field -> goal type of agents.models.GoalType / the API.
GOAL_FIELDS = {"conversions": "conversions", "revenue": "revenue", "response_time_hours": "responseTimeHours"}


def _target(label: str, help_text: str) -> forms.DecimalField:
    # No min_value: agents.services validates targets, and its message is shown on the field.
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


def _plain(value: Decimal) -> Decimal:
    """9000.00 -> 9000 and 2.50 -> 2.5 for the input (normalize() alone would give 9E+3)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class GoalForm(forms.Form):
    """Targets for the current month, quarter or year; an empty field leaves that goal alone."""

    period = forms.ChoiceField(choices=GoalPeriod.choices, initial=GoalPeriod.MONTHLY)
    conversions = _target("Conversions", "Leads converted in the period.")
    revenue = _target("Revenue", "Sales closed in the period.")
    response_time_hours = _target("Response time", "Hours to first contact, on average; lower is better.")

    @classmethod
    def prefilled(cls, goals_payload: Mapping[str, Any], period: str) -> GoalForm:
        """An unbound form showing the period's current targets (from analytics.goals); an
        unknown period (a hand-edited ?period=) shows the monthly one."""
        if period not in GoalPeriod.values:
            period = GoalPeriod.MONTHLY
        by_type = {g["type"]: g["target"] for g in goals_payload["goals"] if g["period"] == period}
        initial: dict[str, Any] = {"period": period}
        for field, goal_type in GOAL_FIELDS.items():
            if goal_type in by_type:
                initial[field] = _plain(Decimal(str(by_type[goal_type])))
        return cls(initial=initial)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and all(cleaned.get(field) is None for field in GOAL_FIELDS):
            raise forms.ValidationError("Enter at least one target.")
        return cleaned

    def save(self, *, agent: Member, actor: Member, as_of: dt.datetime) -> bool:
        """Set the targets: create each goal, or update it when the period already has one.

        The first call validates every target before writing anything, so a bad value
        (GoalError, shown on its field) never leaves half the goals saved.
        """
        if not self.is_valid():
            return False
        period = self.cleaned_data["period"]
        targets = {
            goal_type: str(self.cleaned_data[field])
            for field, goal_type in GOAL_FIELDS.items()
            if self.cleaned_data[field] is not None
        }

        def write(goals: dict[str, str], *, create: bool) -> None:
            goals_set(agent=agent, period=period, goals=goals, actor=actor, as_of=as_of, create=create)

        try:
            write(targets, create=True)
        except GoalConflict:
            # Some already exist: update those, create the others (one goal per call).
            for goal_type, target in targets.items():
                try:
                    write({goal_type: target}, create=True)
                except GoalConflict:
                    write({goal_type: target}, create=False)
        except GoalError as exc:
            self.add_error(self._field_for(exc.field), str(exc))
            return False
        return True

    @staticmethod
    def _field_for(error_field: str) -> str | None:
        """ "goals.revenue" -> "revenue"; anything without a field is a form-wide error."""
        goal_type = error_field.removeprefix("goals.")
        by_type = {value: key for key, value in GOAL_FIELDS.items()}
        if error_field == "period":
            return "period"
        return by_type.get(goal_type)
