"""The ingestion service (crm.ingestion): one service behind the three doors.

Row numbers in CSV reports are spreadsheet rows (header = row 1); in JSON reports they are
0-based list indexes. Expected numbers are counted by hand from the small inputs below.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from core.cache import org_data_version
from crm.ingestion import (
    ENTITIES,
    IngestResult,
    RowError,
    csv_reader,
    dedup,
    ingest_csv,
    ingest_records,
    report,
    service,
)
from crm.ingestion.schemas import SPECS
from crm.models import (
    Activity,
    Campaign,
    CampaignMessage,
    ChatMessage,
    Contact,
    ImportRun,
    ImportStatus,
    Lead,
    Sale,
    Touchpoint,
)
from tests.factories import CampaignFactory, ContactFactory, LeadFactory

UTC = dt.UTC


def load(org, entity: str, text: str | bytes, **kwargs) -> IngestResult:
    data = text.encode() if isinstance(text, str) else text
    return ingest_csv(
        organization=org, entity=entity, stream=io.BytesIO(data), filename=f"{entity}.csv", **kwargs
    )


def errors_of(result: IngestResult) -> list[tuple[int, str | None]]:
    return [(error.row, error.column) for error in result.errors]


# --- the schema -------------------------------------------------------------------------


def test_the_entities_are_those_of_the_design():
    assert ENTITIES == (
        "contacts",
        "leads",
        "activities",
        "sales",
        "campaigns",
        "campaign_messages",
        "touchpoints",
        "messages",
        # DESIGN section 9.1
        "products",
        "quotes",
        "competitor_prices",
        "price_history",
    )


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_model_field_is_filled_by_a_column(entity):
    spec = SPECS[entity]
    model_fields = {
        field.attname
        for field in spec.model._meta.concrete_fields
        if field.name not in ("id", "organization")
    }
    assert set(spec.fields) | set(spec.derived_fields) | set(spec.application_fields) == model_fields
    assert not set(spec.fields) & set(spec.derived_fields)
    assert not set(spec.fields) & set(spec.application_fields)


# --- contacts: phone numbers, tags, custom fields ------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164", "country"),
    [
        ("+254 712 345678", "+254712345678", "KE"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("+1 (650) 253-0000", "+16502530000", "US"),
        ("+1 416 555 0100", "+14165550100", "CA"),
        ("+91 98765 43210", "+919876543210", "IN"),
        ("+234 803 123 4567", "+2348031234567", "NG"),
        ("00254712345678", "+254712345678", "KE"),
    ],
)
def test_phone_numbers_are_stored_as_e164_with_their_country(org_a, phone, e164, country):
    # when
    result = load(org_a, "contacts", f"external_id,phone,created_at\nc-1,{phone},2026-01-05T09:00:00Z\n")
    # then
    assert (result.rows_stored, result.rows_rejected) == (1, 0)
    contact = Contact.objects.for_org(org_a).get(external_id="c-1")
    assert (contact.phone, contact.country) == (e164, country)


@pytest.mark.parametrize("phone", ["0712 345678", "call me", "+1 23"])
def test_an_unusable_phone_number_rejects_its_row(org_a, phone):
    result = load(org_a, "contacts", f"external_id,phone,created_at\nc-1,{phone},2026-01-05T09:00:00Z\n")
    assert errors_of(result) == [(2, "phone")]
    assert result.rows_stored == 0


def test_contact_tags_custom_fields_and_empty_cells(org_a):
    # given: tags with spaces, an empty tag and a repeat; a JSON object in a quoted cell
    text = (
        "external_id,name,phone,email,created_at,tags,custom_fields\n"
        'c-1,Wanjiru,,w@example.com,2026-01-05T09:00:00Z, vip ;;new;vip,"{""plan"": ""gold"", ""seats"": 3}"\n'
        "c-2,,,,2026-01-06T09:00:00Z,,\n"
    )
    # when
    result = load(org_a, "contacts", text)
    # then
    assert (result.rows_total, result.rows_stored, result.rows_rejected) == (2, 2, 0)
    first = Contact.objects.for_org(org_a).get(external_id="c-1")
    assert first.tags == ["vip", "new"]
    assert first.custom_fields == {"plan": "gold", "seats": 3}
    empty = Contact.objects.for_org(org_a).get(external_id="c-2")
    assert (empty.name, empty.phone, empty.country, empty.email, empty.tags, empty.custom_fields) == (
        "",
        "",
        "",
        "",
        [],
        {},
    )


@pytest.mark.parametrize(
    ("cell", "reason_start"),
    [
        ('"[1, 2]"', "expected a JSON object"),
        ('"{not json"', "not valid JSON"),
        ('"{""x"": NaN}"', "NaN is not allowed"),
        ('"{""x"": ""\\u0000""}"', "contains a NUL"),
    ],
)
def test_custom_fields_must_be_a_storable_json_object(org_a, cell, reason_start):
    result = load(
        org_a, "contacts", f"external_id,created_at,custom_fields\nc-1,2026-01-05T09:00:00Z,{cell}\n"
    )
    assert errors_of(result) == [(2, "custom_fields")]
    assert result.errors[0].reason.startswith(reason_start)


# --- idempotency ----------------------------------------------------------------------------

LEADS_CSV = (
    "external_id,contact_external_id,name,source,status,assigned_agent,score,estimated_value,created_at\n"
    "l-1,c-1,First,Referrals,new,agent@acme.test,40,1000.50,2026-01-05T09:00:00Z\n"
    "l-2,,Second,Ads,interested,,80,,2026-01-06T09:00:00\n"
)


def _lead_values(org):
    return list(
        Lead.objects.for_org(org)
        .order_by("external_id")
        .values_list(
            "id",
            "external_id",
            "contact_id",
            "name",
            "source",
            "status",
            "assigned_agent_id",
            "score",
            "estimated_value",
            "created_at",
        )
    )


def test_loading_the_same_file_twice_changes_nothing(org_a, agent_a):
    # given
    ContactFactory(organization=org_a, external_id="c-1")
    first = load(org_a, "leads", LEADS_CSV)
    before = _lead_values(org_a)
    # when
    second = load(org_a, "leads", LEADS_CSV)
    # then: 2 rows stored both times; the second time none is new and none changed
    assert (first.rows_stored, first.rows_created, first.rows_updated) == (2, 2, 0)
    assert (second.rows_stored, second.rows_created, second.rows_updated) == (2, 0, 0)
    assert _lead_values(org_a) == before
    assert Lead.objects.for_org(org_a).count() == 2


def test_loading_a_changed_row_updates_it_in_place(org_a, agent_a):
    ContactFactory(organization=org_a, external_id="c-1")
    load(org_a, "leads", LEADS_CSV)
    lead_id = Lead.objects.for_org(org_a).get(external_id="l-2").pk
    # when: l-2 moves to converted
    result = load(org_a, "leads", LEADS_CSV.replace("Ads,interested", "Ads,converted"))
    # then
    assert (result.rows_created, result.rows_updated) == (0, 1)
    lead = Lead.objects.for_org(org_a).get(external_id="l-2")
    assert (lead.pk, lead.status) == (lead_id, "converted")


def test_the_same_external_id_in_two_organizations_is_two_records(org_a, org_b):
    text = "external_id,created_at\nc-1,2026-01-05T09:00:00Z\n"
    load(org_a, "contacts", text)
    load(org_b, "contacts", text)
    assert Contact.objects.filter(external_id="c-1").count() == 2


def test_a_write_bumps_the_organization_cache_version_after_commit(org_a, django_capture_on_commit_callbacks):
    version = org_data_version(org_a.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load(org_a, "contacts", "external_id,created_at\nc-1,2026-01-05T09:00:00Z\n")
    # the cache version bump, and the live sockets' notice (insights.live), both after commit
    assert len(callbacks) == 2
    assert org_data_version(org_a.pk) == version + 1
    # An unchanged re-import has nothing to invalidate.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load(org_a, "contacts", "external_id,created_at\nc-1,2026-01-05T09:00:00Z\n")
    assert callbacks == []


# --- row-level errors -------------------------------------------------------------------


def test_bad_rows_are_reported_and_the_good_rows_stored(org_a, agent_a, outsider):
    # given: rows 2, 4 and 7 are good; 3, 5, 6 and 8 are not
    LeadFactory(organization=org_a, external_id="l-1")
    text = (
        "external_id,lead_external_id,agent,type,direction,occurred_at,duration_seconds,automated\n"
        "a-1,l-1,agent@acme.test,call,outbound,2026-01-05T10:00:00Z,60,false\n"
        "a-2,l-1,agent@acme.test,fax,outbound,2026-01-05T10:00:00Z,60,false\n"
        "a-3,,AGENT@acme.test,email,,2026-01-05T11:00:00Z,,TRUE\n"
        "a-4,l-1,boss@globex.test,call,inbound,2026-01-05T12:00:00Z,30,false\n"
        "a-5,l-404,agent@acme.test,call,inbound,2026-01-05T12:00:00Z,30,false\n"
        "a-6,l-1,,Meeting,Inbound,2026-01-05 13:00,3600,0\n"
        "a-7,l-1,agent@acme.test,call,outbound,2026-02-30T10:00:00Z,sixty,maybe\n"
    )
    # when
    result = load(org_a, "activities", text)
    # then
    assert (result.rows_total, result.rows_stored, result.rows_rejected) == (7, 3, 4)
    assert errors_of(result) == [
        (3, "type"),
        (5, "agent"),
        (6, "lead_external_id"),
        (8, "occurred_at"),
        (8, "duration_seconds"),
        (8, "automated"),
    ]
    reasons = {(error.row, error.column): error.reason for error in result.errors}
    assert reasons[(5, "agent")].startswith("unknown agent 'boss@globex.test'")
    assert reasons[(6, "lead_external_id")] == "unknown lead 'l-404'"
    assert reasons[(3, "type")].startswith("'fax' is not one of call, email")
    assert "day is out of range" in reasons[(8, "occurred_at")]
    stored = {a.external_id: a for a in Activity.objects.for_org(org_a)}
    assert sorted(stored) == ["a-1", "a-3", "a-6"]
    assert stored["a-3"].agent_id == agent_a.pk  # e-mails match without regard to case
    assert stored["a-3"].automated is True
    assert (stored["a-6"].type, stored["a-6"].direction, stored["a-6"].agent_id) == (
        "meeting",
        "inbound",
        None,
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-01-05T10:00:00", dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05 10:00", dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T10:00:00Z", dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T13:00:00+03:00", dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05", dt.datetime(2026, 1, 5, 0, 0, tzinfo=UTC)),
        ("2026-01-05T10:00:00.250-05:00", dt.datetime(2026, 1, 5, 15, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamps_without_an_offset_are_utc(org_a, cell, expected):
    result = load(org_a, "contacts", f"external_id,created_at\nc-1,{cell}\n")
    assert result.rows_stored == 1
    assert Contact.objects.for_org(org_a).get().created_at == expected


@pytest.mark.parametrize(
    "cell",
    [
        "2026-02-30",
        "2026-13-01",
        "0000-01-01",
        "9999-12-31T00:00:00",
        "1969-12-31T23:59:59",
        "2101-01-01",
        "1e20",
        "yesterday",
        "05/01/2026",
    ],
)
def test_impossible_or_extreme_timestamps_reject_the_row(org_a, cell):
    result = load(org_a, "contacts", f"external_id,created_at\nc-1,{cell}\n")
    assert errors_of(result) == [(2, "created_at")]
    assert not Contact.objects.for_org(org_a).exists()


def test_a_required_cell_left_empty_rejects_the_row(org_a):
    result = load(org_a, "contacts", "external_id,created_at\nc-1,\n,2026-01-05T09:00:00Z\n")
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "created_at", "is required"),
        (3, "external_id", "is required"),
    ]


@pytest.mark.parametrize(
    ("amount", "reason_start"),
    [
        ("abc", "not a number: 'abc'"),
        ('"12,50"', "not a number: '12,50' (use a dot"),
        ("12.345", "'12.345' has more than 2 decimal places"),
        ("1e13", "'1e13' is too large"),
        ("NaN", "not a finite number"),
        ("", "is required"),
    ],
)
def test_a_bad_amount_is_a_row_error_naming_the_column(org_a, amount, reason_start):
    result = load(org_a, "sales", f"external_id,amount,closed_at\ns-1,{amount},2026-01-05T09:00:00Z\n")
    assert errors_of(result) == [(2, "amount")]
    assert result.errors[0].reason.startswith(reason_start)


def test_sales_amounts_currency_and_kind(org_a):
    text = (
        "external_id,amount,currency,kind,closed_at\n"
        "s-1,1234.5,kes,renewal,2026-01-05T09:00:00Z\n"
        "s-2,-20,,,2026-01-05T09:00:00Z\n"
        "s-3,10,KESH,,2026-01-05T09:00:00Z\n"
        "s-4,10,,gift,2026-01-05T09:00:00Z\n"
    )
    result = load(org_a, "sales", text)
    assert errors_of(result) == [(4, "currency"), (5, "kind")]
    sales = {s.external_id: s for s in Sale.objects.for_org(org_a)}
    assert (sales["s-1"].amount, sales["s-1"].currency, sales["s-1"].kind) == (
        Decimal("1234.50"),
        "KES",
        "renewal",
    )
    assert (sales["s-2"].amount, sales["s-2"].currency, sales["s-2"].kind) == (Decimal("-20.00"), "", "new")


def test_lead_score_and_rating_ranges(org_a):
    text = (
        "external_id,score,satisfaction_rating,created_at\n"
        "l-1,100,5,2026-01-05T09:00:00Z\n"
        "l-2,101,0,2026-01-05T09:00:00Z\n"
        "l-3,4.5,,2026-01-05T09:00:00Z\n"
    )
    result = load(org_a, "leads", text)
    assert errors_of(result) == [(3, "score"), (3, "satisfaction_rating"), (4, "score")]


def test_references_to_another_organization_are_unknown(org_a, org_b):
    # given: c-1 exists only in organization B
    ContactFactory(organization=org_b, external_id="c-1")
    # when
    result = load(
        org_a, "leads", "external_id,contact_external_id,created_at\nl-1,c-1,2026-01-05T09:00:00Z\n"
    )
    # then
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "contact_external_id", "unknown contact 'c-1'")
    ]
    assert not Lead.objects.for_org(org_a).exists()


def test_duplicate_external_ids_in_one_file_reject_the_later_rows(org_a):
    text = (
        "external_id,name,created_at\n"
        "c-1,First,2026-01-05T09:00:00Z\n"
        "c-2,Other,2026-01-05T09:00:00Z\n"
        "c-1,Second,2026-01-05T09:00:00Z\n"
        "c-1,Third,2026-01-05T09:00:00Z\n"
    )
    result = load(org_a, "contacts", text)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (4, "external_id", "duplicate external_id 'c-1' (first at row 2)"),
        (5, "external_id", "duplicate external_id 'c-1' (first at row 2)"),
    ]
    assert Contact.objects.for_org(org_a).get(external_id="c-1").name == "First"


def test_duplicates_are_found_across_batches(org_a, monkeypatch):
    # given: batches of two rows, so rows 2-3, 4-5 and 6 are separate batches
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    text = "external_id,created_at\n" + "".join(f"c-{n},2026-01-05T09:00:00Z\n" for n in (1, 2, 3, 1, 2))
    # when
    result = load(org_a, "contacts", text)
    # then
    assert [(e.row, e.reason) for e in result.errors] == [
        (5, "duplicate external_id 'c-1' (first at row 2)"),
        (6, "duplicate external_id 'c-2' (first at row 3)"),
    ]
    assert (result.rows_total, result.rows_stored, result.rows_rejected) == (5, 3, 2)


def test_nul_characters_reject_their_row(org_a):
    text = (
        "external_id,name,created_at\nc-1,Bad\x00Name,2026-01-05T09:00:00Z\nc-2,Good,2026-01-05T09:00:00Z\n"
    )
    result = load(org_a, "contacts", text)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [(2, "name", "contains a NUL character")]
    assert list(Contact.objects.for_org(org_a).values_list("external_id", flat=True)) == ["c-2"]


def test_campaign_cannot_end_before_it_starts(org_a):
    text = "external_id,name,started_at,ended_at\ncmp-1,Spring,2026-03-01,2026-02-01\n"
    result = load(org_a, "campaigns", text)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [(2, "ended_at", "before started_at")]


def test_the_error_list_is_capped_but_the_counts_are_exact(org_a, monkeypatch):
    monkeypatch.setattr(report, "ERROR_SAMPLE_LIMIT", 3)
    text = "external_id,created_at\n" + "".join(f"c-{n},not-a-date\n" for n in range(10))
    result = load(org_a, "contacts", text)
    assert (result.rows_total, result.rows_rejected, len(result.errors)) == (10, 10, 3)
    assert "Only the first 3 errors are listed; 10 rows were rejected in all." in result.warnings
    run = ImportRun.objects.get(pk=result.import_run_id)
    assert (run.rows_rejected, len(run.errors)) == (10, 3)


# --- the CSV file as a whole ----------------------------------------------------------------


def test_a_bom_and_a_semicolon_separator_are_understood(org_a):
    data = "\ufeffexternal_id;name;created_at\nc-1;Amina;2026-01-05T09:00:00Z\n".encode()
    result = load(org_a, "contacts", data)
    assert (result.rows_stored, result.errors) == (1, ())
    assert Contact.objects.for_org(org_a).get().name == "Amina"


def test_an_explicit_delimiter_wins(org_a):
    result = load(org_a, "contacts", "external_id|created_at\nc-1|2026-01-05T09:00:00Z\n", delimiter="|")
    assert result.rows_stored == 1


def test_header_names_ignore_case_and_spaces(org_a):
    result = load(org_a, "contacts", " External_ID , Created_At \nc-1,2026-01-05T09:00:00Z\n")
    assert result.rows_stored == 1


def test_blank_lines_are_skipped_but_keep_their_row_number(org_a):
    # Row 3 is blank, row 5 is a row of empty cells; the bad date is on row 6.
    text = "external_id,created_at\nc-1,2026-01-05T09:00:00Z\n\nc-2,2026-01-05T09:00:00Z\n,\nc-3,bad\n\n"
    result = load(org_a, "contacts", text)
    assert (result.rows_total, result.rows_stored) == (3, 2)
    assert errors_of(result) == [(6, "created_at")]


def test_quoted_newlines_stay_in_their_cell_and_count_as_one_row(org_a):
    text = (
        "external_id,type,occurred_at,description\n"
        'a-1,note,2026-01-05T09:00:00Z,"line one\nline two, with a comma"\n'
        "a-2,note,bad-date,\n"
    )
    result = load(org_a, "activities", text)
    assert Activity.objects.for_org(org_a).get().description == "line one\nline two, with a comma"
    assert errors_of(result) == [(3, "occurred_at")]


def test_a_row_with_the_wrong_number_of_cells_is_rejected(org_a):
    text = "external_id,name,created_at\nc-1,Smith, John,2026-01-05T09:00:00Z\nc-2,Ann,2026-01-05T09:00:00Z\n"
    result = load(org_a, "contacts", text)
    assert [(e.row, e.column) for e in result.errors] == [(2, None)]
    assert result.errors[0].reason.startswith("has 4 cells but the header has 3")
    assert result.rows_stored == 1


def test_unknown_columns_are_ignored_with_a_warning(org_a):
    text = "external_id,created_at,organization,favourite_colour\nc-1,2026-01-05T09:00:00Z,globex,blue\n"
    result = load(org_a, "contacts", text)
    assert result.rows_stored == 1
    assert result.warnings == ("Unknown column(s) ignored: 'organization', 'favourite_colour'.",)
    assert Contact.objects.for_org(org_a).count() == 1


@pytest.mark.parametrize(
    ("header", "errors", "message_part"),
    [
        ("external_id,name", [(1, "created_at")], "missing required column(s): created_at"),
        ("name,created_at", [(1, "external_id")], "missing required column(s): external_id"),
        ("external_id,created_at,name,Name", [(1, "name")], "repeated column(s): name"),
    ],
)
def test_a_bad_header_refuses_the_whole_file(org_a, header, errors, message_part):
    # given: a data row that would otherwise be valid
    result = load(org_a, "contacts", f"{header}\nc-1,2026-01-05T09:00:00Z,x,y\n")
    # then
    assert message_part in result.file_error
    assert errors_of(result) == errors
    assert (result.rows_total, result.rows_stored) == (0, 0)
    assert not Contact.objects.for_org(org_a).exists()
    assert ImportRun.objects.get(pk=result.import_run_id).status == ImportStatus.FAILED


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        ("external_id,created_at\nc-1,2026-01-05\n".encode("utf-16"), "UTF-16"),
        ("external_id,name,created_at\nc-1,José,2026-01-05\n".encode("latin-1"), "byte 0xE9 at offset 35"),
        (b"", "The file is empty"),
        (b"\xef\xbb\xbf\n\n", "The file is empty"),
        (b"PK\x03\x04rest-of-a-zip", "not a CSV file"),
    ],
)
def test_a_wrong_encoding_or_an_empty_file_is_refused(org_a, data, message_part):
    result = load(org_a, "contacts", data)
    assert message_part in result.file_error
    assert result.rows_stored == 0
    run = ImportRun.objects.get(pk=result.import_run_id)
    assert (run.status, run.message) == (ImportStatus.FAILED, result.file_error)


def test_bad_bytes_after_the_first_64_kib_only_reject_their_rows(org_a):
    # given: ~70 KB of good rows, then a Latin-1 row, then a good row
    good = "".join(f"c-{n:05d},2026-01-05T09:00:00Z\n" for n in range(2500))
    data = (
        b"external_id,name,created_at\n"
        + good.replace(",2026", ",,2026").encode()
        + "c-late,José,2026-01-05T09:00:00Z\nc-last,Jose,2026-01-05T09:00:00Z\n".encode("latin-1")
    )
    assert len(data) > csv_reader.ENCODING_SNIFF_BYTES
    # when
    result = load(org_a, "contacts", data)
    # then: the header is row 1, the 2,500 good rows are 2..2501
    assert [(e.row, e.column) for e in result.errors] == [(2502, "name")]
    assert result.errors[0].reason == "contains bytes or characters that are not valid UTF-8 text"
    assert (result.rows_total, result.rows_stored) == (2502, 2501)


def test_a_header_without_rows_is_an_empty_import(org_a):
    result = load(org_a, "contacts", "external_id,created_at\n")
    assert (result.rows_total, result.rows_stored, result.file_error) == (0, 0, "")
    assert result.warnings == ("The file has a header but no data rows.",)
    assert ImportRun.objects.get(pk=result.import_run_id).status == ImportStatus.SUCCEEDED


def test_rows_over_the_cap_are_not_read(org_a, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_CSV_ROWS", 3)
    text = "external_id,created_at\n" + "".join(f"c-{n},2026-01-05T09:00:00Z\n" for n in range(6))
    result = load(org_a, "contacts", text)
    # Rows 2-4 are stored; row 5 is the first over the cap and the rest is not read.
    assert (result.rows_total, result.rows_stored, result.rows_rejected) == (4, 3, 1)
    assert errors_of(result) == [(5, None)]
    assert result.errors[0].reason.startswith("over the limit of 3 data rows")
    assert ImportRun.objects.get(pk=result.import_run_id).status == ImportStatus.PARTIAL


def test_unknown_entity_is_a_value_error(org_a):
    with pytest.raises(ValueError, match="Unknown entity 'deals'"):
        load(org_a, "deals", "external_id\n1\n")


# --- the ImportRun and progress -----------------------------------------------------------


def test_the_import_run_records_the_outcome(org_a, admin_a):
    text = "external_id,created_at\nc-1,2026-01-05T09:00:00Z\nc-2,nope\n"
    result = load(org_a, "contacts", text, started_by=admin_a)
    run = ImportRun.objects.get(pk=result.import_run_id)
    assert (run.door, run.entity, run.filename, run.started_by) == (
        "csv",
        "contacts",
        "contacts.csv",
        admin_a,
    )
    assert (run.status, run.rows_total, run.rows_stored, run.rows_rejected) == (ImportStatus.PARTIAL, 2, 1, 1)
    assert run.bytes_read == run.bytes_total == len(text)
    assert run.errors == [{"row": 3, "column": "created_at", "reason": run.errors[0]["reason"]}]
    assert run.finished_at is not None


def test_a_given_import_run_is_continued_not_duplicated(org_a):
    run = ImportRun.objects.create(organization=org_a, entity="contacts", door="upload", bytes_total=46)
    result = load(
        org_a, "contacts", "external_id,created_at\nc-1,2026-01-05T09:00:00Z\n", door="upload", import_run=run
    )
    assert result.import_run_id == run.pk
    assert ImportRun.objects.count() == 1
    run.refresh_from_db()
    assert (run.status, run.rows_stored) == (ImportStatus.SUCCEEDED, 1)


def test_progress_is_reported_after_each_batch(org_a, monkeypatch):
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    text = "external_id,created_at\n" + "".join(f"c-{n},2026-01-05T09:00:00Z\n" for n in range(5))
    calls = []
    load(org_a, "contacts", text, progress=lambda rows, read: calls.append((rows, read)))
    # Batches of 2, 2 and 1 rows, then the final call; the file is read whole by then.
    assert [rows for rows, _ in calls] == [2, 4, 5, 5]
    assert calls[-1][1] == len(text)


# --- JSON records ----------------------------------------------------------------------------


def test_records_take_json_types_and_are_numbered_by_index(org_a, agent_a):
    # given
    LeadFactory(organization=org_a, external_id="l-1")
    records = [
        {
            "external_id": "a-1",
            "lead_external_id": "l-1",
            "agent": "agent@acme.test",
            "type": "call",
            "occurred_at": "2026-01-05T10:00:00Z",
            "duration_seconds": 90,
            "automated": True,
            "metadata": {"source": "dialer"},
            "organization": "globex",
        },
        ["not", "an", "object"],
        {
            "external_id": "a-3",
            "type": "call",
            "occurred_at": "2026-01-05T10:00:00Z",
            "duration_seconds": 1.5,
        },
        {"external_id": 4, "type": "note", "occurred_at": "2026-01-05T10:00:00Z", "automated": None},
    ]
    # when
    result = ingest_records(organization=org_a, entity="activities", records=records, first_row=0)
    # then
    assert [(e.row, e.column) for e in result.errors] == [(1, None), (2, "duration_seconds")]
    assert result.warnings == ("Unknown field(s) ignored: 'organization'.",)
    stored = {a.external_id: a for a in Activity.objects.for_org(org_a)}
    assert sorted(stored) == ["4", "a-1"]
    assert (stored["a-1"].duration_seconds, stored["a-1"].automated, stored["a-1"].metadata) == (
        90,
        True,
        {"source": "dialer"},
    )
    assert stored["4"].automated is False


def test_records_with_nul_or_lone_surrogates_are_rejected(org_a):
    records = [
        {"external_id": "m-1", "conversation_id": "c", "sent_at": "2026-01-05T10:00:00Z", "body": "a\x00b"},
        {"external_id": "m-2", "conversation_id": "c", "sent_at": "2026-01-05T10:00:00Z", "body": "\ud800"},
        {
            "external_id": "m-3",
            "conversation_id": "c",
            "sent_at": "2026-01-05T10:00:00Z",
            "body": " keep  spaces ",
        },
    ]
    result = ingest_records(organization=org_a, entity="messages", records=records, first_row=0)
    assert [(e.row, e.column) for e in result.errors] == [(0, "body"), (1, "body")]
    assert ChatMessage.objects.for_org(org_a).get().body == " keep  spaces "


def test_one_record_of_every_entity(org_a, agent_a):
    # given: loaded in dependency order, each referring to the ones before
    batches = [
        (
            "contacts",
            {
                "external_id": "c-1",
                "name": "Amina",
                "phone": "+254712345678",
                "created_at": "2026-01-05T09:00:00Z",
                "tags": ["vip"],
                "custom_fields": {"plan": "gold"},
            },
        ),
        (
            "campaigns",
            {
                "external_id": "cmp-1",
                "name": "Spring",
                "channel": "whatsapp",
                "started_at": "2026-01-01",
                "ended_at": "2026-01-31",
                "spend": "250.00",
                "status": "done",
            },
        ),
        (
            "leads",
            {
                "external_id": "l-1",
                "contact_external_id": "c-1",
                "assigned_agent": "agent@acme.test",
                "status": "converted",
                "created_at": "2026-01-05T09:00:00Z",
                "converted_at": "2026-01-09T09:00:00Z",
                "estimated_value": 1200,
                "satisfaction_rating": 5,
            },
        ),
        (
            "activities",
            {
                "external_id": "a-1",
                "lead_external_id": "l-1",
                "agent": "agent@acme.test",
                "type": "call",
                "direction": "outbound",
                "occurred_at": "2026-01-06T09:00:00Z",
            },
        ),
        (
            "sales",
            {
                "external_id": "s-1",
                "lead_external_id": "l-1",
                "contact_external_id": "c-1",
                "agent": "agent@acme.test",
                "amount": "999.99",
                "currency": "KES",
                "kind": "new",
                "closed_at": "2026-01-09T09:00:00Z",
                "product_line": "Pro",
            },
        ),
        (
            "campaign_messages",
            {
                "external_id": "cm-1",
                "campaign_external_id": "cmp-1",
                "contact_external_id": "c-1",
                "variant": "A",
                "sent_at": "2026-01-02T09:00:00Z",
                "read_at": "2026-01-02T10:00:00Z",
            },
        ),
        (
            "touchpoints",
            {
                "external_id": "t-1",
                "contact_external_id": "c-1",
                "lead_external_id": "l-1",
                "channel": "whatsapp",
                "campaign_external_id": "cmp-1",
                "occurred_at": "2026-01-03T09:00:00Z",
            },
        ),
        (
            "messages",
            {
                "external_id": "m-1",
                "conversation_id": "conv-1",
                "contact_external_id": "c-1",
                "agent": "agent@acme.test",
                "direction": "inbound",
                "body": "Hello",
                "sent_at": "2026-01-05T19:00:00Z",
            },
        ),
    ]
    # when
    results = [
        ingest_records(organization=org_a, entity=entity, records=[record]) for entity, record in batches
    ]
    # then
    assert [(r.rows_stored, r.errors) for r in results] == [(1, ())] * 8
    contact = Contact.objects.for_org(org_a).get()
    campaign = Campaign.objects.for_org(org_a).get()
    lead = Lead.objects.for_org(org_a).get()
    assert (contact.country, lead.contact_id, lead.assigned_agent_id) == ("KE", contact.pk, agent_a.pk)
    assert lead.estimated_value == Decimal("1200.00")
    assert campaign.spend == Decimal("250.00")
    assert Activity.objects.for_org(org_a).get().lead_id == lead.pk
    sale = Sale.objects.for_org(org_a).get()
    assert (sale.lead_id, sale.contact_id, sale.agent_id, sale.amount) == (
        lead.pk,
        contact.pk,
        agent_a.pk,
        Decimal("999.99"),
    )
    message = CampaignMessage.objects.for_org(org_a).get()
    assert (message.campaign_id, message.read_at) == (campaign.pk, dt.datetime(2026, 1, 2, 10, tzinfo=UTC))
    assert Touchpoint.objects.for_org(org_a).get().campaign_id == campaign.pk
    assert ChatMessage.objects.for_org(org_a).get().agent_id == agent_a.pk


def test_a_campaign_message_needs_its_campaign(org_a):
    CampaignFactory(organization=org_a, external_id="cmp-1")
    records = [{"external_id": "cm-1"}, {"external_id": "cm-2", "campaign_external_id": "cmp-2"}]
    result = ingest_records(organization=org_a, entity="campaign_messages", records=records, first_row=0)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (0, "campaign_external_id", "is required"),
        (1, "campaign_external_id", "unknown campaign 'cmp-2'"),
    ]


def test_row_error_is_a_plain_value():
    assert RowError(2, "amount", "not a number").as_dict() == {
        "row": 2,
        "column": "amount",
        "reason": "not a number",
    }


def test_seen_keys_remember_first_rows_across_merged_and_capped_runs(monkeypatch):
    # given: runs stop merging at 4 keys, so 10 batches of 2 leave several runs
    monkeypatch.setattr(dedup, "MAX_RUN_KEYS", 4)
    seen = dedup.SeenKeys()
    for batch in range(10):
        seen.add([f"k{2 * batch}", f"k{2 * batch + 1}"], [100 + 2 * batch, 101 + 2 * batch])
    # then: every key is found with its row, unknown keys are not
    assert len(seen) == 20
    assert seen.first_rows(["k0", "k7", "k19", "k20", "nope"]) == [100, 107, 119, None, None]
