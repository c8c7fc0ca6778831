"""What every format says about a report before its sections: the same facts, the same words,
and times in the organization's time zone (a PDF cover, the XLSX Summary sheet)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reports.document import ReportDocument


@dataclass(frozen=True)
class CoverLine:
    label: str
    text: str
    # The naive local time behind `text`, when it is one: XLSX writes it as a date cell.
    moment: dt.datetime | None = None


def local(doc: ReportDocument, moment: dt.datetime) -> dt.datetime:
    """`moment` as a naive wall-clock time in the organization's zone (spreadsheets have no zones)."""
    return moment.astimezone(ZoneInfo(doc.timezone)).replace(tzinfo=None)


def local_text(doc: ReportDocument, moment: dt.datetime) -> str:
    """ "1 Mar 2026 00:00": the day without a leading zero, portable (no %-d)."""
    shown = local(doc, moment)
    return f"{shown.day} {shown:%b %Y %H:%M}"


def cover_lines(doc: ReportDocument) -> list[CoverLine]:
    """Organization, range (its name, then start and end in local time), filters, generation time
    and audience: the cover of the PDF and the top of the XLSX Summary sheet."""
    lines = [
        CoverLine("Organization", doc.organization),
        CoverLine("Range", doc.range_label),
        CoverLine("From", local_text(doc, doc.start), local(doc, doc.start)),
        CoverLine("To", local_text(doc, doc.end), local(doc, doc.end)),
        CoverLine("Time zone", doc.timezone),
        CoverLine("Currency", doc.currency),
    ]
    lines += [CoverLine(label, value) for label, value in doc.filters] or [CoverLine("Filters", "None")]
    lines.append(CoverLine("Generated at", local_text(doc, doc.generated_at), local(doc, doc.generated_at)))
    if doc.audience:
        lines.append(CoverLine("Prepared for", doc.audience))
    return lines
