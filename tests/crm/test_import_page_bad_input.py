"""Bad input through the import page (RELIABILITY G7, issue 20): the page reads a file
exactly as `manage.py import_crm` does. A bad cell rejects its row, reported as (row, column,
reason), and the other rows are stored; a file that cannot be read at all is a 400 that
stores nothing. Every case is checked against the command on the same bytes (the command
imports into organization B, the page into organization A)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils.html import escape

from crm import tasks, uploads
from crm.ingestion import csv_reader
from crm.ingestion.schemas import SPECS
from crm.models import Contact, ImportRun, ImportStatus, Organization
from tests.factories import ContactFactory

HEADER = "external_id,name,created_at\n"
AMINA = "c-1,Amina,2026-01-05T09:00:00Z\n"
BARAKA = "c-2,Baraka,2026-01-06T09:00:00Z\n"
CHAUSIKU = "c-3,Chausiku,2026-01-07T09:00:00Z\n"
# Row 3 (the header is row 1) has a NUL byte in its name.
NUL_ROW = (HEADER + AMINA + "c-2,Ba\x00raka,2026-01-06T09:00:00Z\n" + CHAUSIKU).encode()
NUL_ERROR = {"row": 3, "column": "name", "reason": "contains a NUL character"}


@pytest.fixture
def manager_client(client, manager_a, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client.force_login(manager_a)
    return client


def upload(client, content: bytes, *, name: str = "contacts.csv", htmx: bool = False):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("crm-import"), {"entity": "contacts", "file": file}, **extra)


def command(organization: Organization, content: bytes, directory: Path) -> str:
    """Run import_crm on the same bytes; its CommandError message ("" when it succeeded)."""
    path = directory / "command" / "contacts.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    try:
        call_command(
            "import_crm",
            organization.slug,
            "contacts",
            str(path),
            "--no-progress",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    except CommandError as exc:
        return str(exc)
    return ""


def last_run(organization: Organization) -> ImportRun:
    return ImportRun.objects.for_org(organization).order_by("-pk").first()


def report(run: ImportRun) -> tuple:
    return (run.status, run.rows_total, run.rows_stored, run.rows_rejected, run.errors, run.message)


def stored_rows() -> dict[str, tuple[int, str]]:
    """Every entity table, all organizations: its row count and a checksum of its values."""
    snapshot = {}
    for entity, spec in SPECS.items():
        rows = list(spec.model._base_manager.order_by("pk").values_list())
        snapshot[entity] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return snapshot


def contact_names(organization: Organization) -> dict[str, str]:
    return dict(Contact.objects.for_org(organization).values_list("external_id", "name"))


# --- one bad row among good ones -------------------------------------------------------------


def test_a_nul_byte_rejects_its_row_and_the_good_rows_are_stored(manager_client, org_a, org_b, tmp_path):
    # when
    response = upload(manager_client, NUL_ROW)

    # then: the run page with the row report, like the command's
    run = last_run(org_a)
    assert response.status_code == 302
    assert response.url == reverse("crm-import-run", args=[run.pk])
    assert report(run) == (ImportStatus.PARTIAL, 3, 2, 1, [NUL_ERROR], "")
    assert contact_names(org_a) == {"c-1": "Amina", "c-3": "Chausiku"}
    page = manager_client.get(response.url).content.decode()
    assert 'data-testid="rows-stored">2<' in page
    assert 'data-testid="rows-rejected">1<' in page
    assert "<code>name</code>" in page
    assert "contains a NUL character" in page

    # and the command on the same file says the same
    message = command(org_b, NUL_ROW, tmp_path)
    assert message.startswith("1 row(s) rejected; the other rows were stored.")
    assert report(last_run(org_b)) == report(run)
    assert contact_names(org_b) == contact_names(org_a)


def test_importing_the_same_file_again_stores_nothing_new(manager_client, org_a):
    # given
    upload(manager_client, NUL_ROW)
    before = stored_rows()

    # when
    response = upload(manager_client, NUL_ROW)

    # then: the same report, and not one row added or changed
    assert response.status_code == 302
    assert report(last_run(org_a)) == (ImportStatus.PARTIAL, 3, 2, 1, [NUL_ERROR], "")
    assert stored_rows() == before
    assert Contact.objects.for_org(org_a).count() == 2


def test_a_nul_row_in_a_queued_upload_is_reported_by_the_worker(
    manager_client, org_a, monkeypatch, django_capture_on_commit_callbacks
):
    # given: every file counts as large, and the queue only records what it is given
    monkeypatch.setattr(uploads, "IN_REQUEST_MAX_BYTES", 0)
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_upload, "delay", queued.append)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(manager_client, NUL_ROW)
    tasks.process_upload(queued[0])

    # then
    run = last_run(org_a)
    assert response.status_code == 302
    assert queued == [run.pk]
    assert report(run) == (ImportStatus.PARTIAL, 3, 2, 1, [NUL_ERROR], "")


# --- the CSV cases of RELIABILITY G7: a per-row report, as the command gives ------------------

# 2,000 rows of about 37 bytes take the file past the first 64 KiB, which decide the encoding.
MANY = "".join(f"c-{n},Name {n},2026-01-05T09:00:00Z\n" for n in range(2000))
LATIN1_ROW = b"c-late,Jos\xe9,2026-01-05T09:00:00Z\n"

ROW_CASES = [
    pytest.param(b"\xef\xbb\xbf" + (HEADER + AMINA + BARAKA).encode(), 2, [], "", id="utf-8-bom"),
    pytest.param((HEADER + AMINA + BARAKA).replace(",", ";").encode(), 2, [], "", id="semicolon-separator"),
    pytest.param(
        b"external_id,name,created_at,colour\nc-1,Amina,2026-01-05T09:00:00Z,blue\n",
        1,
        [],
        "Unknown column(s) ignored: 'colour'.",
        id="extra-columns",
    ),
    pytest.param(HEADER.encode(), 0, [], "The file has a header but no data rows.", id="no-rows"),
    pytest.param(
        # row 3 blank, row 4 empty cells: skipped but counted, so the bad date is row 5
        (HEADER + AMINA + "\n,,\nc-2,Baraka,2026-02-30T09:00:00Z\n").encode(),
        1,
        [
            {
                "row": 5,
                "column": "created_at",
                "reason": "not a valid ISO 8601 timestamp: '2026-02-30T09:00:00Z' (day is out of range for month)",
            }
        ],
        "",
        id="blank-lines",
    ),
    pytest.param(
        # a quoted cell over two lines is one row: the bad date is row 3
        (HEADER + 'c-1,"Amina\nWanjiru",2026-01-05T09:00:00Z\nc-2,Baraka,yesterday\n').encode(),
        1,
        [{"row": 3, "column": "created_at", "reason": "not a valid ISO 8601 timestamp: 'yesterday'"}],
        "",
        id="quoted-newline",
    ),
    pytest.param(
        (HEADER + AMINA + BARAKA + "c-1,Amina again,2026-01-07T09:00:00Z\n").encode(),
        2,
        [{"row": 4, "column": "external_id", "reason": "duplicate external_id 'c-1' (first at row 2)"}],
        "",
        id="duplicate-ids",
    ),
    pytest.param(
        (HEADER + AMINA + "c-2,Baraka,Juma,2026-01-06T09:00:00Z\n").encode(),
        1,
        [
            {
                "row": 3,
                "column": None,
                "reason": "has 4 cells but the header has 3 (a stray delimiter or quote?)",
            }
        ],
        "",
        id="stray-delimiter",
    ),
    pytest.param(
        # 2,000 good rows (rows 2..2001), then a Latin-1 byte after the first 64 KiB (row 2002)
        (HEADER + MANY).encode() + LATIN1_ROW,
        2000,
        [
            {
                "row": 2002,
                "column": "name",
                "reason": "contains bytes or characters that are not valid UTF-8 text",
            }
        ],
        "",
        id="wrong-encoding-further-down",
    ),
]


@pytest.mark.parametrize(("content", "stored", "row_errors", "message"), ROW_CASES)
def test_csv_cases_get_the_commands_row_report(
    manager_client, org_a, org_b, tmp_path, content, stored, row_errors, message
):
    # when
    response = upload(manager_client, content)

    # then
    run = last_run(org_a)
    assert response.status_code == 302
    assert response.url == reverse("crm-import-run", args=[run.pk])
    expected_status = ImportStatus.PARTIAL if row_errors else ImportStatus.SUCCEEDED
    assert report(run) == (
        expected_status,
        stored + len(row_errors),
        stored,
        len(row_errors),
        row_errors,
        message,
    )
    assert Contact.objects.for_org(org_a).count() == stored
    # and the command on the same bytes reports the same and stores the same
    command(org_b, content, tmp_path)
    assert report(last_run(org_b)) == report(run)
    assert contact_names(org_b) == contact_names(org_a)


def test_rows_over_the_cap_are_reported_and_the_rows_before_it_stored(
    manager_client, org_a, org_b, tmp_path, monkeypatch
):
    # given: a cap of 2 data rows, and a file of 3
    monkeypatch.setattr(csv_reader, "MAX_CSV_ROWS", 2)
    content = (HEADER + AMINA + BARAKA + CHAUSIKU).encode()

    # when
    upload(manager_client, content)

    # then: rows 2 and 3 stored, row 4 is the first over the cap
    run = last_run(org_a)
    over = {
        "row": 4,
        "column": None,
        "reason": "over the limit of 2 data rows: this row and the rest of the file were not imported; split the file",
    }
    assert report(run) == (ImportStatus.PARTIAL, 3, 2, 1, [over], "")
    command(org_b, content, tmp_path)
    assert report(last_run(org_b)) == report(run)


# --- files that cannot be read at all: 400, nothing stored ------------------------------------

UNREADABLE = [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "This is a PNG image", id="png"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00[Content_Types].xml", "an Excel workbook", id="xlsx"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "This is a PDF document", id="pdf"),
    pytest.param(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "This is a gzip archive", id="gzip"),
    pytest.param((HEADER + AMINA).encode("utf-16"), "encoded as UTF-16", id="utf-16"),
    pytest.param((HEADER + AMINA).encode("utf-16-le"), "UTF-16 or binary data", id="utf-16-without-bom"),
    pytest.param(
        (HEADER + "c-1,José,2026-01-05T09:00:00Z\n").encode("latin-1"), "is not UTF-8 text", id="latin-1"
    ),
    pytest.param(b"", "The file is empty", id="empty"),
    pytest.param(b"\xef\xbb\xbf\r\n  \n", "The file is empty", id="only-blank-lines"),
    pytest.param(AMINA.encode(), "missing required column(s): external_id, created_at", id="no-header"),
    pytest.param(
        b"external_id,name\nc-1,Amina\n", "missing required column(s): created_at", id="missing-column"
    ),
    pytest.param(
        (HEADER.replace("name", "name,name") + "c-1,Amina,Amina,2026-01-05T09:00:00Z\n").encode(),
        "repeated column(s): name",
        id="duplicated-header",
    ),
    pytest.param(
        b'"' + b"x" * 200_000 + b'",name,created_at\n',
        "The header row cannot be read as CSV (field larger than field limit (131072))",
        id="header-not-csv",
    ),
]


@pytest.fixture
def existing_contact(org_a):
    """A stored contact the file's c-1 would overwrite, were anything written."""
    return ContactFactory(organization=org_a, external_id="c-1", name="Original")


@pytest.mark.parametrize(("content", "reason"), UNREADABLE)
def test_a_file_that_cannot_be_read_is_a_400_and_stores_nothing(
    manager_client, existing_contact, org_b, tmp_path, content, reason
):
    # given
    before = stored_rows()

    # when
    response = upload(manager_client, content)

    # then: the page again, saying why, and nothing kept: no row, no run, no file
    html = response.content.decode()
    assert response.status_code == 400
    assert reason in html.replace("&#x27;", "'")
    assert "<html" in html
    assert stored_rows() == before
    assert not ImportRun.objects.exists()
    assert not any((tmp_path / "uploads").glob("*"))
    # and the command refuses the same file with the same words
    message = command(org_b, content, tmp_path)
    assert message.startswith("contacts.csv was not imported: ")
    assert escape(message.removeprefix("contacts.csv was not imported: ")) in html


@pytest.mark.parametrize(
    ("content", "reason"), [case for case in UNREADABLE if case.id in ("png", "latin-1", "duplicated-header")]
)
def test_an_unreadable_large_file_is_refused_before_it_is_queued(
    manager_client,
    existing_contact,
    tmp_path,
    monkeypatch,
    django_capture_on_commit_callbacks,
    content,
    reason,
):
    # given: every file counts as large
    monkeypatch.setattr(uploads, "IN_REQUEST_MAX_BYTES", 0)
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_upload, "delay", queued.append)
    before = stored_rows()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(manager_client, content)

    # then
    assert response.status_code == 400
    assert reason in response.content.decode().replace("&#x27;", "'")
    assert queued == []
    assert stored_rows() == before
    assert not ImportRun.objects.exists()
    assert not any((tmp_path / "uploads").glob("*"))


# --- HTMX -------------------------------------------------------------------------------------


def test_an_htmx_upload_of_an_unreadable_file_gets_the_form_fragment_with_400(
    manager_client, existing_contact
):
    before = stored_rows()

    response = upload(manager_client, b"\x89PNG\r\n\x1a\n\x00\x00", htmx=True)

    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in html
    assert 'id="upload-form"' in html
    assert "This is a PNG image" in html
    assert stored_rows() == before


def test_an_htmx_upload_that_is_read_goes_to_the_run_page(manager_client, org_a):
    response = upload(manager_client, NUL_ROW, htmx=True)

    run = last_run(org_a)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("crm-import-run", args=[run.pk])
    assert (run.rows_stored, run.rows_rejected) == (2, 1)
