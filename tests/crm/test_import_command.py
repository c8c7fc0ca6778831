"""manage.py import_crm <org-slug> <entity> <file.csv>: the command-line door."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import Contact, ImportRun, ImportStatus

GOOD = "external_id,name,created_at\nc-1,Amina,2026-01-05T09:00:00Z\nc-2,Baraka,2026-01-06T09:00:00Z\n"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_crm", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path: Path):
    def write(content: str | bytes, name: str = "contacts.csv") -> str:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return write


def test_a_clean_file_is_imported_with_a_summary_and_progress(org_a, csv_file):
    # when
    out, err = run("acme", "contacts", csv_file(GOOD))
    # then
    assert (
        "contacts from contacts.csv into acme: 2 rows read, 2 stored (2 new, 0 changed, 0 unchanged), 0 rejected"
        in out
    )
    assert "2 rows, 100% of 0.0 MB" in err
    assert Contact.objects.for_org(org_a).count() == 2
    run_row = ImportRun.objects.get()
    assert (run_row.door, run_row.status, run_row.filename) == ("csv", ImportStatus.SUCCEEDED, "contacts.csv")


def test_importing_again_stores_nothing_new(org_a, csv_file):
    path = csv_file(GOOD)
    run("acme", "contacts", path)
    out, _ = run("acme", "contacts", path)
    assert "2 stored (0 new, 0 changed, 2 unchanged)" in out
    assert Contact.objects.for_org(org_a).count() == 2


def test_rejected_rows_are_listed_and_the_command_fails(org_a, csv_file):
    # given: row 3 has an impossible date, row 4 repeats c-1
    path = csv_file(GOOD.replace("2026-01-06T09", "2026-02-30T09") + "c-1,Again,2026-01-07T09:00:00Z\n")
    out = io.StringIO()
    # when
    with pytest.raises(CommandError, match="2 row\\(s\\) rejected; the other rows were stored"):
        call_command("import_crm", "acme", "contacts", path, stdout=out, stderr=io.StringIO())
    # then
    text = out.getvalue()
    assert "3 rows read, 1 stored" in text
    assert "  row 3, column created_at: not a valid ISO 8601 timestamp: '2026-02-30T09:00:00Z'" in text
    assert "  row 4, column external_id: duplicate external_id 'c-1' (first at row 2)" in text
    assert Contact.objects.for_org(org_a).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "contacts", "{file}"), "No organization with slug 'nope'."),
        (("acme", "deals", "{file}"), "Unknown entity 'deals'; use one of: contacts, leads"),
        (("acme", "contacts", "/does/not/exist.csv"), "File not found: /does/not/exist.csv"),
    ],
)
def test_bad_arguments_get_a_clear_message(org_a, csv_file, args, message):
    path = csv_file(GOOD)
    with pytest.raises(CommandError, match=message):
        run(*(arg.format(file=path) for arg in args))
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD.encode("utf-16"), "was not imported: The file is encoded as UTF-16"),
        (
            "external_id,name,created_at\nc-1,José,2026-01-05\n".encode("cp1252"),
            "was not imported: The file is not UTF-8",
        ),
        ("external_id,name\nc-1,Amina\n", "missing required column\\(s\\): created_at"),
    ],
)
def test_a_refused_file_fails_without_a_traceback(org_a, csv_file, content, message):
    with pytest.raises(CommandError, match=message):
        run("acme", "contacts", csv_file(content))
    assert ImportRun.objects.get().status == ImportStatus.FAILED
    assert not Contact.objects.exists()


def test_the_delimiter_can_be_named(org_a, csv_file):
    out, _ = run("acme", "contacts", csv_file(GOOD.replace(",", "\t")), "--delimiter", "tab", "--no-progress")
    assert "2 stored" in out


def test_the_command_exits_with_status_1_on_rejected_rows(org_a, csv_file):
    # What a shell sees: Django turns CommandError into "CommandError: ..." and exit code 1.
    from django.core.management import ManagementUtility

    path = csv_file("external_id,created_at\nc-1,never\n")
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_crm", "acme", "contacts", path, "--no-progress"]).execute()
    assert exit_info.value.code == 1
