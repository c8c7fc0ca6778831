"""A report as plain values: what every format renders (docs/reports.md).

`reports.sections` builds a `ReportDocument` from the same computations the pages use (the
dashboard tabs' payloads, the catalogue's figures, the agent analytics, the insights, the
pricing suggestions); `reports.render` turns one document into PDF, XLSX, CSV (a zip for
several tables), SVG or PNG. So every format shows the page's numbers for the same query.

Values are already rounded the way pages show them (core.catalogue.shown); `format` says how
to write them (reports.charts.ValueFormat: money with the currency, percent 0-100, ...).
None is "no value" (shown as an em dash, an empty cell in CSV and XLSX), never 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reports.charts import Chart, ValueFormat, format_value


@dataclass(frozen=True)
class Figure:
    """One KPI: a catalogue metric as the page shows it."""

    name: str  # the catalogue name, e.g. "revenue.total"
    label: str
    value: float | int | None
    format: ValueFormat
    change: str = ""  # the trend as the page writes it: "+12.5%", "+1.2 pts", "—"
    sense: str = "none"  # good, bad, flat or none (core.display.Trend.sense)

    @property
    def shown(self) -> str:
        """The value as every page writes it ("KES 1,234.50", "42.0%", "—")."""
        return format_value(self.value, self.format)


@dataclass(frozen=True)
class Table:
    """One table: numbers stay numbers; `formats` gives each column's ValueFormat (None: text)."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    formats: tuple[ValueFormat | None, ...] = ()

    def column_format(self, index: int) -> ValueFormat | None:
        return self.formats[index] if index < len(self.formats) else None


@dataclass(frozen=True)
class Section:
    key: str  # "overview", "calls", ..., "agent", "insights", "pricing"
    title: str
    figures: tuple[Figure, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportDocument:
    title: str
    organization: str
    timezone: str  # the organization's IANA zone: dates are shown in it
    currency: str
    range_label: str  # "Last 30 days", "1 Mar 2026 - 31 Mar 2026"
    start: dt.datetime  # the window, aware (UTC)
    end: dt.datetime
    generated_at: dt.datetime  # aware
    filters: tuple[tuple[str, str], ...] = ()  # (label, value) of each filter in force
    sections: tuple[Section, ...] = ()
    # Who the copy is for, when it matters ("Alan Agent's own numbers", "as Mia Manager sees them").
    audience: str = ""

    def tables(self) -> list[tuple[Section, Table]]:
        return [(section, table) for section in self.sections for table in section.tables]
