"""The forms of the experiment pages: which campaign or product a new experiment tests (the
query string), and the experiment itself (docs/experiments.md, "Pages").

The form parses what people type (shares in percent, empty rows skipped) into the arguments of
services.experiment_create; the rules (alpha and power in (0, 1), weights, a metric the kind
can measure, known variants) stay in the service, whose errors come back under their field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from core.errors import ApplicationError
from insights.experiments.display import METHOD_HELP
from insights.experiments.models import ExperimentKind, ExperimentMethod, ExperimentMetric, ExperimentScope
from insights.experiments.page_reads import Subject
from insights.experiments.services import NOTE_MAX_LENGTH, VariantSpec

# Rows offered when the variants are typed in: a product's prices, or a campaign that has sent
# no variant yet.
FREE_ROWS = 4
SHARE_TOTAL = Decimal(100)
# How the service names its fields (the API's camelCase) -> this form's fields; "variants" is
# the variants table as a whole.
SERVICE_FIELDS = {
    "name": "name",
    "hypothesis": "hypothesis",
    "metric": "metric",
    "method": "method",
    "alpha": "alpha",
    "power": "power",
    "scope": "scope",
    "baselineRate": "baseline_rate",
    "baselineSd": "baseline_sd",
    "minimumDetectableEffect": "minimum_detectable_effect",
    "variants": "variants",
}
DEFAULT_METRIC = {
    ExperimentKind.CAMPAIGN: ExperimentMetric.REPLY_RATE,
    ExperimentKind.PRICING: ExperimentMetric.CONVERSION_RATE,
}


class SubjectQuery(forms.Form):
    """`?campaign=<external_id>` or `?product=<external_id>` of /experiments/new."""

    campaign = forms.CharField(required=False, max_length=100)
    product = forms.CharField(required=False, max_length=100)


def equal_shares(count: int) -> list[Decimal]:
    """Equal shares in percent with two decimals that add up to exactly 100: the last takes
    the remainder (3 variants: 33.33, 33.33, 33.34)."""
    if count <= 0:
        return []
    each = (SHARE_TOTAL / count).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [each] * (count - 1) + [SHARE_TOTAL - each * (count - 1)]


def _share_field(initial: Decimal | None) -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=SHARE_TOTAL,
        decimal_places=2,
        initial=initial,
        widget=forms.NumberInput(attrs={"step": "0.01", "class": "exp-share"}),
    )


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=200)
    hypothesis = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you expect and why, in a sentence: it is kept with the decision.",
    )
    metric = forms.ChoiceField()
    scope = forms.ChoiceField(
        choices=ExperimentScope.choices,
        initial=ExperimentScope.SINCE_START,
        widget=forms.RadioSelect,
        label="Messages measured",
    )
    method = forms.ChoiceField(
        choices=ExperimentMethod.choices, initial=ExperimentMethod.SEQUENTIAL, widget=forms.RadioSelect
    )
    alpha = forms.FloatField(
        initial=0.05,
        label="Significance level (alpha)",
        help_text="The false-positive rate you accept, between 0 and 1: 0.05 is usual.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    power = forms.FloatField(
        initial=0.8,
        label="Power",
        help_text="The chance of detecting the minimum effect if it is real, between 0 and 1: 0.8 is usual.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    baseline_rate = forms.FloatField(
        required=False, label="Baseline (optional)", widget=forms.NumberInput(attrs={"step": "any"})
    )
    baseline_sd = forms.FloatField(
        required=False,
        label="Standard deviation of revenue per contact (optional, revenue only)",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    minimum_detectable_effect = forms.FloatField(
        label="Minimum detectable effect",
        help_text="Absolute: for a rate, a difference of proportions (0.05 is five percentage points); "
        "for revenue per contact, an amount of money.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    # Never rendered: carries the errors of the variants table as a whole.
    variants = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, subject: Subject, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subject = subject
        self.fields["metric"].choices = [(m, ExperimentMetric(m).label) for m in subject.metrics]
        self.fields["metric"].initial = DEFAULT_METRIC[subject.kind]
        if subject.kind != ExperimentKind.CAMPAIGN:
            del self.fields["scope"]
        self.fixed_keys = subject.variant_keys
        if self.fixed_keys:
            for i, share in enumerate(equal_shares(len(self.fixed_keys))):
                self.fields[f"variant-{i}-include"] = forms.BooleanField(required=False, initial=True)
                self.fields[f"variant-{i}-share"] = _share_field(share)
            self.fields["control"] = forms.ChoiceField(
                choices=[(k, k) for k in self.fixed_keys],
                initial=self.fixed_keys[0],
                widget=forms.RadioSelect,
            )
        else:
            pricing = subject.kind == ExperimentKind.PRICING
            defaults = (
                [("current", subject.product.list_price), ("test", None)]
                if pricing
                else [("A", None), ("B", None)]
            )
            for i in range(FREE_ROWS):
                key, price = defaults[i] if i < len(defaults) else ("", None)
                self.fields[f"variant-{i}-key"] = forms.CharField(
                    required=False,
                    max_length=50,
                    initial=key,
                    widget=forms.TextInput(attrs={"class": "exp-key"}),
                )
                if pricing:
                    self.fields[f"variant-{i}-price"] = forms.DecimalField(
                        required=False,
                        min_value=Decimal("0.01"),
                        max_digits=14,
                        decimal_places=2,
                        initial=price,
                        widget=forms.NumberInput(attrs={"step": "0.01", "class": "exp-price"}),
                    )
                self.fields[f"variant-{i}-share"] = _share_field(Decimal(50) if i < len(defaults) else None)

    # --- what the template draws ------------------------------------------------------------------

    @property
    def variant_rows(self) -> list[dict[str, Any]]:
        """One row per variant: the bound fields to draw (key, include, price, share)."""
        if self.fixed_keys:
            controls = self["control"].subwidgets
            return [
                {
                    "key": key,
                    "include": self[f"variant-{i}-include"],
                    "control": controls[i],
                    "share": self[f"variant-{i}-share"],
                }
                for i, key in enumerate(self.fixed_keys)
            ]
        return [
            {
                "index": i,
                "key_field": self[f"variant-{i}-key"],
                "price": self[f"variant-{i}-price"] if f"variant-{i}-price" in self.fields else None,
                "share": self[f"variant-{i}-share"],
            }
            for i in range(FREE_ROWS)
        ]

    @property
    def method_options(self) -> list[dict[str, Any]]:
        chosen = self["method"].value()
        return [
            {"value": value, "label": label, "help": METHOD_HELP[value], "checked": value == chosen}
            for value, label in ExperimentMethod.choices
        ]

    # --- parsing ----------------------------------------------------------------------------------

    def _variant_specs(self) -> list[VariantSpec]:
        data = self.cleaned_data
        rows: list[tuple[str, Decimal | None, Decimal | None]] = []
        if self.fixed_keys:
            control = data.get("control") or self.fixed_keys[0]
            for i, key in enumerate(self.fixed_keys):
                if data.get(f"variant-{i}-include"):
                    rows.append((key, None, data.get(f"variant-{i}-share")))
            # the control leads: the service takes the first variant for the control
            rows.sort(key=lambda row: row[0] != control)
        else:
            for i in range(FREE_ROWS):
                key = (data.get(f"variant-{i}-key") or "").strip()
                price = data.get(f"variant-{i}-price")
                share = data.get(f"variant-{i}-share")
                if key or price is not None:
                    rows.append((key, price, share))
        if any(share is None for _, _, share in rows):
            raise forms.ValidationError("Give each variant its share of contacts, in percent.")
        total = sum((share for _, _, share in rows), Decimal(0))
        if rows and total != SHARE_TOTAL:
            raise forms.ValidationError(
                f"The shares add up to {total.normalize():f}%; they must add up to 100%."
            )
        return [
            VariantSpec(key=key, weight=float(share / SHARE_TOTAL), price=price) for key, price, share in rows
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["variant_specs"] = self._variant_specs()
        except forms.ValidationError as error:
            self.add_error("variants", error)
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The keyword arguments of services.experiment_create (besides organization, actor and now)."""
        data = self.cleaned_data
        campaign = self.subject.kind == ExperimentKind.CAMPAIGN
        arguments: dict[str, Any] = {
            "name": data["name"],
            "hypothesis": data.get("hypothesis", ""),
            "kind": self.subject.kind,
            "campaign_id": self.subject.external_id if campaign else None,
            "product_id": None if campaign else self.subject.external_id,
            "variants": data["variant_specs"],
            "metric": data["metric"],
            "method": data["method"],
            "alpha": data["alpha"],
            "power": data["power"],
            "baseline_rate": data.get("baseline_rate"),
            "baseline_sd": data.get("baseline_sd"),
            "minimum_detectable_effect": data["minimum_detectable_effect"],
        }
        if campaign:
            arguments["scope"] = data["scope"]
        return arguments

    def add_service_error(self, error: ApplicationError) -> None:
        """A service's refusal under the field it names (the table for the variants), or above
        the form when it names none of this form's fields."""
        field = SERVICE_FIELDS.get(error.field or "")
        self.add_error(field if field in self.fields else None, error.message)


class NoteForm(forms.Form):
    """The optional note of a start, stop or decision, kept in the history and the audit log."""

    note = forms.CharField(
        required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
