"""Forms of the manager dashboard: organization goals and saved views."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms

from core.timeranges import add_months
from insights.models import GoalMetric
from insights.tabs import TAB_NAMES

MAX_TARGET = Decimal("999999999999.99")


class GoalForm(forms.Form):
    metric = forms.ChoiceField(choices=GoalMetric.choices)
    month = forms.ChoiceField(choices=[("this", "This month"), ("next", "Next month")], initial="this")
    target = forms.DecimalField(min_value=Decimal(0), max_value=MAX_TARGET, decimal_places=2, max_digits=14)

    def clean(self) -> dict:
        data = super().clean()
        metric, target = data.get("metric"), data.get("target")
        if (
            metric in (GoalMetric.CALLS, GoalMetric.CONVERSIONS)
            and target is not None
            and target != target.to_integral()
        ):
            self.add_error("target", "Calls and conversions are whole numbers.")
        return data

    def month_start(self, today: dt.date) -> dt.date:
        first = today.replace(day=1)
        return add_months(first, 1) if self.cleaned_data["month"] == "next" else first


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    tab = forms.ChoiceField(choices=[(t, t) for t in TAB_NAMES])
    query = forms.CharField(max_length=1000, required=False)
