"""What a report holds, as the API, the builder, exports and schedules pass it around.

A spec is a plain dict, stored as JSON on reports, exports and schedules:

    {"sections": ["overview", "revenue", "agent"], "range": "30d", "start": "", "end": "",
     "filters": {"region": "", "productLine": "", "source": "", "agent": ""}}

`parse_spec` validates it (an ApplicationError naming the field) against the organization;
who may see which section is decided per viewer when the document is built
(reports.sections), not here, so one saved report serves every recipient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import ApplicationError
from crm.models import Organization
from insights import tabs
from insights.tabs import TabInputError, parse_dashboard_query

DASHBOARD_SECTIONS = tabs.DATA_TABS  # overview, calls, leads, revenue, campaigns
SECTIONS: dict[str, str] = {
    **{name: f"Dashboard: {tabs.get_tab(name).TITLE}" for name in DASHBOARD_SECTIONS},
    "insights": "Business insights and opportunities",
    "agent": "Agent analytics",
    "pricing": "Pricing summary",
}
# The filters of the dashboard (DESIGN section 6): query-string names.
FILTERS = tabs.FILTER_PARAMS
FILTER_LABELS = {"region": "Region", "productLine": "Product line", "source": "Source", "agent": "Agent"}


@dataclass(frozen=True)
class ReportSpec:
    sections: tuple[str, ...]
    range: str = "30d"
    start: str = ""
    end: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "sections": list(self.sections),
            "range": self.range,
            "start": self.start,
            "end": self.end,
            "filters": {k: v for k, v in self.filters.items() if v},
        }

    def query_params(self, **overrides: str) -> dict[str, str]:
        """The dashboard's query-string parameters of this spec."""
        params = {"range": self.range, **{k: v for k, v in self.filters.items() if v}}
        if self.range == "custom":
            params.update(start=self.start, end=self.end)
        params.update({k: v for k, v in overrides.items() if v is not None})
        return params


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError("Give a text value.", field=name)
    return value.strip()


def parse_spec(data: Mapping[str, Any], *, organization: Organization, as_of) -> ReportSpec:
    """A valid spec, or ApplicationError naming the field. The range and filters are checked
    exactly as the dashboard checks them (a filter value the organization does not use is
    refused)."""
    sections = data.get("sections")
    if not isinstance(sections, Sequence) or isinstance(sections, str) or not sections:
        raise ApplicationError("Choose at least one section.", field="sections")
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ApplicationError(
            f"Unknown section {unknown[0]!r}; use {', '.join(SECTIONS)}.", field="sections"
        )
    filters_in = data.get("filters") or {}
    if not isinstance(filters_in, Mapping):
        raise ApplicationError("Send an object.", field="filters")
    bad = [name for name in filters_in if name not in FILTERS]
    if bad:
        raise ApplicationError(f"Unknown filter {bad[0]!r}; use {', '.join(FILTERS)}.", field="filters")
    spec = ReportSpec(
        sections=tuple(dict.fromkeys(sections)),
        range=_text(data.get("range"), "range") or "30d",
        start=_text(data.get("start"), "start"),
        end=_text(data.get("end"), "end"),
        filters={
            name: _text(filters_in.get(name), f"filters.{name}") for name in FILTERS if filters_in.get(name)
        },
    )
    try:
        parse_dashboard_query(organization=organization, params=spec.query_params(), as_of=as_of)
    except TabInputError as exc:
        name = exc.field if exc.field in ("range", "start", "end") else f"filters.{exc.field}"
        raise ApplicationError(str(exc), field=name) from exc
    return spec


def spec_from_json(data: Mapping[str, Any]) -> ReportSpec:
    """A stored spec (already validated when it was saved)."""
    return ReportSpec(
        sections=tuple(data.get("sections", ())),
        range=data.get("range", "30d"),
        start=data.get("start", ""),
        end=data.get("end", ""),
        filters=dict(data.get("filters", {})),
    )
