"""G4 for exports and e-mails: every section of a report, in every format, rendered for each
member of A (and the scheduled e-mails A's schedule sends, with their attachments), holds
none of B's marker values; the same report rendered for B's admin holds them (the positive
control: a search that cannot find anything proves nothing)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest
import time_machine
from django.core import mail
from pypdf import PdfReader

from reports import services
from reports.sections import build_document
from reports.spec import SECTIONS, parse_spec
from tests.security.conftest import AS_OF, MARKER_LEAD, MARKER_SOURCE, MEMBERS_OF_A, PERSONA

pytestmark = pytest.mark.django_db
# XLSX and CSV hold every value of every table; the PDF is searched once, for the manager
# (its values are the same document's, and rendering all sections is the slow part).
FORMATS = ("xlsx", "csv")


def text_of(rendered) -> str:
    content = rendered.content
    if rendered.content_type == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    if rendered.content_type.startswith("application/vnd.openxmlformats"):
        book = openpyxl.load_workbook(io.BytesIO(content))
        return "\n".join(
            " ".join(str(cell) for cell in row if cell is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        ) + " ".join(sheet.title for sheet in book.worksheets)
    if rendered.content_type == "application/zip":
        archive = zipfile.ZipFile(io.BytesIO(content))
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return content.decode("utf-8-sig", "replace")


def render_all(world, member, formats=FORMATS, sections=tuple(SECTIONS)) -> str:
    with time_machine.travel(AS_OF, tick=False):
        spec = parse_spec(
            {"sections": list(sections), "range": "1y"}, organization=member.organization, as_of=AS_OF
        )
        doc = build_document(spec, viewer=member, as_of=AS_OF, title="Everything")
        return "\n".join(text_of(services.render_document(doc, fmt, basename="leak")) for fmt in formats)


@pytest.mark.parametrize("persona", MEMBERS_OF_A, ids=lambda p: p.key)
def test_no_export_of_a_holds_anything_of_b(world, persona, settings, tmp_path):
    settings.REPORT_FILES_DIR = tmp_path
    member = world.member(persona)
    text = render_all(world, member)
    if persona.key == "manager_a":
        # the PDF of the sections that name leads, sources, insights and opportunities
        text += render_all(world, member, ("pdf",), ("leads", "insights", "agent"))
    text = re.sub(r"\s+", " ", text).lower()
    hits = [marker for marker in world.markers() if marker.lower() in text]
    assert not hits, hits


def test_the_positive_control_finds_bs_markers_in_bs_export(world, settings, tmp_path):
    settings.REPORT_FILES_DIR = tmp_path
    text = render_all(world, world.admin_b)
    assert MARKER_SOURCE in text or MARKER_LEAD in text


def test_no_scheduled_e_mail_of_a_holds_anything_of_b(world, settings, tmp_path):
    settings.REPORT_FILES_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    a = PERSONA["manager_a"]
    manager = world.member(a)
    with time_machine.travel(AS_OF, tick=False):
        services.schedule_save(
            organization=manager.organization,
            owner=manager,
            data={
                "name": "All of it",
                "spec": {"sections": list(SECTIONS), "range": "1y"},
                "formats": ["xlsx", "csv"],
                "cadence": "daily",
                "time": "07:00",
                "recipients": [manager.email, world.agent_a.email, "outside@example.com"],
            },
            now=AS_OF,
        )
    moment = AS_OF + dt.timedelta(days=1)
    with time_machine.travel(moment, tick=False):
        services.send_due_reports(now=moment)
    ours = [m for m in mail.outbox if m.subject.startswith("All of it")]
    assert sorted(m.to[0] for m in ours) == sorted(
        [manager.email, world.agent_a.email, "outside@example.com"]
    )
    texts = []
    for message in ours:
        texts.append(f"{message.subject}\n{message.body}")
        for name, content, content_type in message.attachments:
            texts.append(text_of(services.RenderedFile(name, content, content_type)))
    lowered = re.sub(r"\s+", " ", "\n".join(texts)).lower()
    hits = [marker for marker in world.markers() if marker.lower() in lowered]
    assert not hits, hits
