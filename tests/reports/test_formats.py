"""Each section, in each format, shows the page's numbers for the same query (issue 13).

The world is tests/insights/factories.py's history (AS_OF 15 Mar 2026 12:00 UTC, 7d), plus a
pricing suggestion. For every section the report is built for a manager, rendered as PDF,
XLSX and CSV, opened back, and compared with the page that shows the same numbers: the
dashboard tab's fragment, the agent page, the pricing page, the insights page.
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
import time_machine
from django.core.cache import cache
from pypdf import PdfReader

from crm.models import Role
from reports.document import ReportDocument, Section
from reports.sections import build_document
from reports.services import render_document
from reports.spec import SECTIONS, parse_spec
from tests.factories import MemberFactory
from tests.insights.factories import AS_OF, build_history
from tests.pricing.conftest import add_quotes, make_product

pytestmark = pytest.mark.django_db

PAGES = {
    "overview": "/dashboard/analytics/tab/overview?range=7d",
    "calls": "/dashboard/analytics/tab/calls?range=7d",
    "leads": "/dashboard/analytics/tab/leads?range=7d",
    "revenue": "/dashboard/analytics/tab/revenue?range=7d",
    "campaigns": "/dashboard/analytics/tab/campaigns?range=7d",
    "agent": "/agents/{agent_id}/?range=7d",
    "pricing": "/pricing",
    "insights": "/insights",
}


@pytest.fixture
def world(org_a, agent_a, manager_a, report_files):
    with time_machine.travel(AS_OF, tick=True):
        cache.clear()
        build_history(org_a, agent_a)
        product = make_product(org_a, "P-IN")
        add_quotes(org_a, product, n=60, slope=-0.5, win_at_list=0.5)
        from pricing.services import suggestions_generate

        admin = MemberFactory(organization=org_a, email="boss@acme.test", role=Role.ADMIN, is_staff=True)
        suggestions_generate(organization=org_a, requested_by=admin, product_ids=None, now=AS_OF)
        yield org_a
    cache.clear()


def section_of(doc: ReportDocument, key: str) -> Section:
    [section] = [s for s in doc.sections if s.key == key]
    return section


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def csv_texts(content: bytes, content_type: str) -> str:
    if content_type == "text/csv":
        return content.decode("utf-8-sig")
    archive = zipfile.ZipFile(io.BytesIO(content))
    return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())


@pytest.mark.parametrize("key", list(SECTIONS))
def test_every_format_shows_the_pages_numbers(world, manager_a, agent_a, client, key):
    with time_machine.travel(AS_OF, tick=False):
        filters = {"agent": agent_a.email} if key == "agent" else {}
        # the pricing page shows the last 90 days
        range_ = "90d" if key == "pricing" else "7d"
        spec = parse_spec(
            {"sections": [key], "range": range_, "filters": filters}, organization=world, as_of=AS_OF
        )
        doc = build_document(spec, viewer=manager_a, as_of=AS_OF, title="Check")
        section = section_of(doc, key)
        assert section.figures or section.tables

        # the page shows the same figures
        client.force_login(manager_a)
        page = client.get(PAGES[key].format(agent_id=agent_a.pk)).content.decode()
        for figure in section.figures:
            if key != "agent":  # the agent page writes its own labels (docs/agents.md)
                assert figure.label in page, figure.label
            assert figure.shown.replace("KES ", "") in page, (figure.name, figure.shown)

        # PDF: every figure's value and label, and the first rows of the tables
        text = pdf_text(render_document(doc, "pdf", basename="check").content)
        assert "Acme Ltd" in text
        for figure in section.figures:
            assert figure.shown in text, (figure.name, figure.shown)
        for table in section.tables:
            assert table.title[:30] in text

        # XLSX: the figures as typed numbers on the summary sheet, each table on a sheet
        book = openpyxl.load_workbook(io.BytesIO(render_document(doc, "xlsx", basename="check").content))
        summary = {
            row[0]: row[1]
            for row in book.worksheets[0].iter_rows(values_only=True)
            if row and row[0] is not None
        }
        for figure in section.figures:
            assert summary[figure.label] == figure.value, figure.name
        assert len(book.worksheets) >= 1 + len(section.tables)

        # CSV: every table, its header and each row's first cell
        rendered = render_document(doc, "csv", basename="check")
        text = csv_texts(rendered.content, rendered.content_type)
        for table in section.tables:
            assert ",".join(table.header[:2]) in text
            for row in table.rows[:5]:
                if row and isinstance(row[0], str) and row[0] and row[0][0] not in "=+-@\t\r":
                    assert row[0] in text
