"""Selectors of the CRM pages and the trend arithmetic (DESIGN section 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404

from core.metrics import trend_percent
from crm import selectors
from crm.models import ContactSnapshot, ImportRun, ImportStatus
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadFactory,
    OrganizationFactory,
    SaleFactory,
)

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START = AS_OF - dt.timedelta(days=30)  # 2026-01-30 12:00
PREVIOUS_START = START - dt.timedelta(days=30)  # 2025-12-31 12:00
SECOND = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (3, 2, 50.0),  # (3 - 2) / 2 * 100
        (2, 3, -33.3),  # -33.33...
        (1, 3, -66.7),  # -66.66... rounds away from zero
        (0, 5, -100.0),
        (10, 10, 0.0),
        (2, 1, 100.0),
        (1, 8, -87.5),
        (401, 400, 0.3),  # exactly 0.25: half rounds up (a binary float would give 0.2)
        (399, 400, -0.3),  # exactly -0.25: half rounds away from zero
        (Decimal("1234.56"), Decimal("1000.00"), 23.5),  # 23.456
        (Decimal("750.50"), Decimal("300.00"), 150.2),  # 150.1666...
        (Decimal("10.04"), Decimal("10.00"), 0.4),  # computed on the unrounded values
        (5, 0, None),  # no base: no trend
        (0, 0, None),
        (5, None, None),
        (None, 5, None),
    ],
)
def test_trend_percent(current, previous, expected):
    assert trend_percent(current=current, previous=previous) == expected


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="north", name="North", currency="USD")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="south", name="South", currency="USD")


def _seed_windows(org):
    # Leads: 3 in [START, AS_OF), 2 in [PREVIOUS_START, START); boundaries on both sides.
    for when in (START, START + dt.timedelta(days=10), AS_OF - SECOND):
        LeadFactory(organization=org, created_at=when)
    for when in (PREVIOUS_START, START - SECOND):
        LeadFactory(organization=org, created_at=when)
    LeadFactory(organization=org, created_at=PREVIOUS_START - SECOND)  # too old
    LeadFactory(organization=org, created_at=AS_OF)  # the end is exclusive
    # Activities: 4 current, none before.
    for day in range(4):
        ActivityFactory(organization=org, occurred_at=START + dt.timedelta(days=day))
    # Sales: current 500.00 + 250.50 USD and 100 EUR (not in revenue); previous 300.00.
    SaleFactory(organization=org, amount=Decimal("500.00"), currency="USD", closed_at=AS_OF - SECOND)
    SaleFactory(organization=org, amount=Decimal("250.50"), currency="", closed_at=START)
    SaleFactory(organization=org, amount=Decimal("100.00"), currency="EUR", closed_at=START)
    # ingestion stores codes upper-case (crm.ingestion.cells.Currency): one rule, exact match
    SaleFactory(organization=org, amount=Decimal("300.00"), currency="USD", closed_at=START - SECOND)
    # Contacts: 2 before START, 1 in the window, 1 after AS_OF.
    for when in (dt.datetime(2025, 6, 1, tzinfo=UTC), START - SECOND, START, AS_OF):
        ContactFactory(organization=org, created_at=when)


def test_organization_overview_counts_both_windows(org, other_org, django_assert_num_queries):
    # given
    _seed_windows(org)
    _seed_windows(other_org)  # never counted for org
    # when
    with django_assert_num_queries(6):
        numbers = selectors.organization_overview(organization=org, as_of=AS_OF)
    # then
    assert numbers.start == START
    assert numbers.previous_start == PREVIOUS_START
    assert numbers.leads == selectors.Comparison(current=3, previous=2, trend=50.0)
    assert numbers.activities == selectors.Comparison(current=4, previous=0, trend=None)
    assert numbers.sales == selectors.Comparison(current=3, previous=1, trend=200.0)  # (3-1)/1
    # 500.00 + 250.50 = 750.50 against 300.00: (750.5 - 300) / 300 * 100 = 150.17
    assert numbers.revenue == selectors.Comparison(
        current=Decimal("750.50"), previous=Decimal("300.00"), trend=150.2
    )
    assert numbers.foreign_currency_sales == 1
    # contacts before AS_OF: 3; before START: 2 -> (3 - 2) / 2 = 50%
    assert numbers.contacts == selectors.Comparison(current=3, previous=2, trend=50.0)
    assert numbers.currency == "USD"
    assert numbers.has_data is True
    assert numbers.last_import is None
    assert numbers.latest_snapshot is None


def test_organization_overview_last_import_and_snapshot_are_scoped(org, other_org):
    ImportRun.objects.create(organization=org, entity="leads", door="csv", started_at=START)
    newest = ImportRun.objects.create(
        organization=org,
        entity="sales",
        door="upload",
        started_at=AS_OF - SECOND,
        status=ImportStatus.PARTIAL,
        rows_stored=5,
        rows_rejected=1,
    )
    ImportRun.objects.create(organization=other_org, entity="contacts", door="api", started_at=AS_OF)
    ContactSnapshot.objects.create(
        organization=org, day=dt.date(2026, 2, 27), total_contacts=4, new_contacts=1
    )
    latest = ContactSnapshot.objects.create(
        organization=org, day=dt.date(2026, 2, 28), total_contacts=9, new_contacts=5
    )
    ContactSnapshot.objects.create(
        organization=other_org, day=dt.date(2026, 3, 1), total_contacts=99, new_contacts=9
    )

    numbers = selectors.organization_overview(organization=org, as_of=AS_OF)

    assert numbers.last_import == newest
    assert numbers.latest_snapshot == latest
    assert numbers.has_data is True  # an import counts as data arriving


def test_organization_overview_of_a_new_organization_is_empty(org, django_assert_num_queries):
    with django_assert_num_queries(9):  # six, plus three exists() for an all-zero organization
        numbers = selectors.organization_overview(organization=org, as_of=AS_OF)

    assert numbers.has_data is False
    assert numbers.leads == selectors.Comparison(current=0, previous=0, trend=None)
    assert numbers.revenue == selectors.Comparison(
        current=Decimal("0.00"), previous=Decimal("0.00"), trend=None
    )


def test_organization_overview_with_only_old_data_is_not_empty(org):
    LeadFactory(organization=org, created_at=PREVIOUS_START - dt.timedelta(days=100))

    numbers = selectors.organization_overview(organization=org, as_of=AS_OF)

    assert numbers.has_data is True
    assert numbers.leads.current == 0


def test_import_runs_recent_newest_first_scoped_and_limited(org, other_org):
    runs = [
        ImportRun.objects.create(
            organization=org, entity="leads", door="upload", started_at=START + i * SECOND
        )
        for i in range(4)
    ]
    ImportRun.objects.create(organization=other_org, entity="leads", door="upload", started_at=AS_OF)

    recent = selectors.import_runs_recent(organization=org, limit=3)

    assert recent == [runs[3], runs[2], runs[1]]


def test_import_run_get_answers_404_for_another_organization(org, other_org):
    mine = ImportRun.objects.create(organization=org, entity="leads", door="upload")
    theirs = ImportRun.objects.create(organization=other_org, entity="leads", door="upload")

    assert selectors.import_run_get(organization=org, run_id=mine.pk) == mine
    with pytest.raises(Http404):
        selectors.import_run_get(organization=org, run_id=theirs.pk)
    with pytest.raises(Http404):
        selectors.import_run_get(organization=org, run_id=theirs.pk + 1000)


@pytest.mark.parametrize(
    ("page", "expected_rows"), [(None, [1, 25]), ("2", [26, 30]), ("x", [1, 25]), (99, [26, 30])]
)
def test_import_run_errors_page(page, expected_rows):
    run = ImportRun(errors=[{"row": n, "column": "score", "reason": "bad"} for n in range(1, 31)])

    errors = selectors.import_run_errors_page(run=run, page=page)

    assert [errors[0]["row"], errors[-1]["row"]] == expected_rows
    assert errors.paginator.num_pages == 2
