"""reports.cells.safe_cell: OWASP's rule against CSV injection, and the records export that
used to write `=HYPERLINK(...)` live (docs/reports.md, "Formats")."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import models

from reports.cells import safe_cell, safe_rows
from reports.render import csv_rows_stream
from tests.factories import LeadFactory
from tests.insights.factories import AS_OF, at


class Status(models.TextChoices):
    FORMULA = "=1+1", "Formula"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # a str subclass (choices, safe strings) is text too
        (Status.FORMULA, "'=1+1"),
        # text that does not start with a trigger is left alone
        ("Lead 7", "Lead 7"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'=1", "'=1"),
        ("", ""),
        ("—", "—"),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        -2,
        -1.5,
        0,
        Decimal("-3.10"),
        True,
        None,
        dt.date(2026, 3, 1),
        dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC),
    ],
)
def test_numbers_dates_and_none_pass_untouched(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # numbers and None only: nothing to do
        ([(1, -2.5, None), (3, Decimal("-4"), True)], [[1, -2.5, None], [3, Decimal("-4"), True]]),
        # plain text, some None and "": nothing to do
        ([("Lead 1", None), ("", "web")], [["Lead 1", None], ["", "web"]]),
        # one trigger in a text column: that column is escaped, the others kept
        ([("Lead 1", "-2", -2), ("=1+1", "x", 3)], [["Lead 1", "'-2", -2], ["'=1+1", "x", 3]]),
        # text and numbers in one column
        ([("+1",), (5,), ("a",)], [["'+1"], [5], ["a"]]),
        # a str subclass is text
        ([(Status.FORMULA, 1)], [["'=1+1", 1]]),
        # ragged rows
        ([("@x",), ("a", "-1")], [["'@x"], ["a", "'-1"]]),
        ([], []),
    ],
)
def test_safe_rows_is_safe_cell_on_every_cell(rows, expected):
    assert [list(row) for row in safe_rows(rows)] == expected
    assert expected == [[safe_cell(cell) for cell in row] for row in rows]


def test_the_dashboards_csv_stream_escapes_text_and_keeps_numbers():
    # when: the stream the dashboard's CSV downloads use (no byte order mark)
    body = b"".join(csv_rows_stream(["Lead", "Score"], [["=cmd|' /C calc'!A0", -5], ["-2", None]], bom=False))
    body = body.decode()

    # then
    assert list(csv.reader(io.StringIO(body))) == [
        ["Lead", "Score"],
        ["'=cmd|' /C calc'!A0", "-5"],
        ["'-2", ""],
    ]


@pytest.mark.django_db
def test_the_leads_records_export_writes_a_formula_name_as_text(org_a, manager_a, client):
    # given: a lead created inside the last 7 days whose name is a live link in Excel
    LeadFactory(organization=org_a, name='=HYPERLINK("http://x","y")', created_at=at(14, 9))
    client.force_login(manager_a)

    # when
    with time_machine.travel(AS_OF, tick=False):
        response = client.get("/dashboard/analytics/records/leads", {"range": "7d", "export": "csv"})

    # then
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Lead"
    assert [row[0] for row in rows[1:]] == ['\'=HYPERLINK("http://x","y")']
