"""The stored last-touch campaign of a sale (crm.last_touch) is kept in step by ingestion.

Hand-built history (organization A, UTC), all through the ingestion service the three doors
share:

    contact C1 -- lead L1 -- sale S1, closed 10 Mar 12:00
    contact C2 -- lead L2 -- sale S2, closed 10 Mar 12:00
    contact C3 -- lead L3 (no touchpoint) -- sale S3, closed 10 Mar 12:00
    campaigns K1, K2, K3

T1: L1, K1 at 9 Mar 09:00 -> S1's last touch is K1.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection

from core.models import FillState
from crm.ingestion import ingest_csv, ingest_records
from crm.last_touch import sales_last_touch_fill, sales_last_touch_refresh
from crm.models import Campaign, Sale, Touchpoint
from tests.factories import CampaignFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> str:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC).isoformat()


def campaign_of(org, sale: str) -> str | None:
    sale = Sale.objects.for_org(org).select_related("last_touch_campaign").get(external_id=sale)
    return sale.last_touch_campaign.external_id if sale.last_touch_campaign else None


def ingest(org, entity: str, *records: dict) -> None:
    result = ingest_records(organization=org, entity=entity, records=list(records))
    assert result.rows_rejected == 0, result.errors


def touch(
    external_id: str, *, campaign: str | None, when: str, lead: str | None = None, contact=None
) -> dict:
    return {
        "external_id": external_id,
        "lead_external_id": lead,
        "contact_external_id": contact,
        "campaign_external_id": campaign,
        "occurred_at": when,
    }


@pytest.fixture
def world(org_a):
    for n in (1, 2, 3):
        contact = ContactFactory(organization=org_a, external_id=f"C{n}")
        LeadFactory(organization=org_a, external_id=f"L{n}", contact=contact)
    for key in ("K1", "K2", "K3"):
        CampaignFactory(organization=org_a, external_id=key)
    ingest(org_a, "touchpoints", touch("T1", lead="L1", campaign="K1", when=at(9)))
    ingest(
        org_a,
        "sales",
        *(
            {"external_id": f"S{n}", "lead_external_id": f"L{n}", "amount": "100", "closed_at": at(10, 12)}
            for n in (1, 2, 3)
        ),
    )
    return org_a


def test_a_sale_gets_its_last_touch_when_it_arrives(world):
    assert campaign_of(world, "S1") == "K1"


def test_a_lead_with_no_touchpoints_has_no_campaign(world):
    assert campaign_of(world, "S3") is None


def test_a_later_touch_before_the_sale_changes_it_a_touch_after_does_not(world):
    # a touch after the sale's time: the sale keeps K1
    ingest(world, "touchpoints", touch("T2", lead="L1", campaign="K2", when=at(10, 12, 1)))
    assert campaign_of(world, "S1") == "K1"
    # a touch exactly at the sale's time is not before it
    ingest(world, "touchpoints", touch("T3", lead="L1", campaign="K2", when=at(10, 12)))
    assert campaign_of(world, "S1") == "K1"
    # a touch arriving now, dated between T1 and the sale, becomes the last touch
    ingest(world, "touchpoints", touch("T4", lead="L1", campaign="K3", when=at(10, 11, 59)))
    assert campaign_of(world, "S1") == "K3"


def test_a_touch_of_the_sale_contact_counts_like_one_of_its_lead(world):
    ingest(world, "touchpoints", touch("T2", contact="C1", campaign="K2", when=at(9, 10)))
    assert campaign_of(world, "S1") == "K2"


def test_a_later_last_touch_without_campaign_unattributes_the_sale(world):
    ingest(world, "touchpoints", touch("T2", lead="L1", campaign=None, when=at(9, 10)))
    assert campaign_of(world, "S1") is None


def test_a_touchpoint_of_another_lead_changes_only_that_leads_sales(world):
    ingest(world, "touchpoints", touch("T2", lead="L2", campaign="K2", when=at(9, 10)))
    assert (campaign_of(world, "S1"), campaign_of(world, "S2"), campaign_of(world, "S3")) == (
        "K1",
        "K2",
        None,
    )


def test_a_touchpoint_of_another_organization_changes_nothing(world, org_b):
    # org B has the same external ids for everything, and a later touch of its L1
    contact = ContactFactory(organization=org_b, external_id="C1")
    LeadFactory(organization=org_b, external_id="L1", contact=contact)
    CampaignFactory(organization=org_b, external_id="K2")
    ingest(org_b, "touchpoints", touch("T2", lead="L1", campaign="K2", when=at(10, 11)))
    assert campaign_of(world, "S1") == "K1"
    assert Sale.objects.for_org(world).get(external_id="S1").last_touch_campaign.organization_id == world.pk


def test_reingesting_the_same_touchpoint_changes_nothing(world, django_capture_on_commit_callbacks):
    sale = Sale.objects.for_org(world).get(external_id="S1")
    FillState.objects.create(organization=world, family="insights", filled_through=dt.date(2026, 3, 31))
    # when T1 arrives again, unchanged
    result = ingest_records(
        organization=world,
        entity="touchpoints",
        records=[touch("T1", lead="L1", campaign="K1", when=at(9))],
    )
    # then no row is written, the stored campaign is the same and no rollup day turns stale
    assert (result.rows_created, result.rows_updated) == (0, 0)
    assert Sale.objects.for_org(world).get(pk=sale.pk).last_touch_campaign_id == sale.last_touch_campaign_id
    assert FillState.objects.get(organization=world, family="insights").dirty_from is None


def test_a_touchpoint_moved_to_another_lead_recomputes_both_leads_sales(world):
    # T1 now belongs to L2: S1 loses its only touch, S2 gains it
    ingest(world, "touchpoints", touch("T1", lead="L2", campaign="K1", when=at(9)))
    assert (campaign_of(world, "S1"), campaign_of(world, "S2")) == (None, "K1")


def test_a_moved_touchpoint_marks_the_sales_closing_day_stale(world):
    FillState.objects.create(organization=world, family="insights", filled_through=dt.date(2026, 3, 31))
    # T1 moves to June: its own new day is later than S1's, whose attribution it changes
    ingest(world, "touchpoints", touch("T1", lead="L1", campaign="K1", when=at(9, month=6)))
    assert campaign_of(world, "S1") is None
    assert FillState.objects.get(organization=world, family="insights").dirty_from == dt.date(2026, 3, 10)


def test_a_sale_without_contact_follows_its_leads_contact(world):
    ingest(world, "touchpoints", touch("T2", contact="C3", campaign="K2", when=at(9, 10)))
    assert campaign_of(world, "S3") == "K2"
    # when L3's contact becomes C2 (no touchpoint), S3 has no contact of its own: no touch
    ingest(world, "leads", {"external_id": "L3", "contact_external_id": "C2", "created_at": at(1)})
    assert campaign_of(world, "S3") is None


def test_a_sale_moved_in_time_is_recomputed(world):
    ingest(
        world,
        "sales",
        {"external_id": "S1", "lead_external_id": "L1", "amount": "100", "closed_at": at(9, 8)},
    )
    assert campaign_of(world, "S1") is None


def test_the_csv_door_keeps_it_too(world):
    body = "external_id,lead_external_id,campaign_external_id,occurred_at\nT2,L1,K3,2026-03-10T11:00:00Z\n"
    result = ingest_csv(organization=world, entity="touchpoints", stream=io.BytesIO(body.encode()))
    assert result.rows_stored == 1
    assert campaign_of(world, "S1") == "K3"


def test_a_deleted_campaign_leaves_its_sales_unattributed_like_its_touchpoints(world):
    Campaign.objects.for_org(world).filter(external_id="K1").delete()
    assert Touchpoint.objects.for_org(world).get(external_id="T1").campaign_id is None
    assert campaign_of(world, "S1") is None


def test_the_fill_and_the_refresh_give_what_ingestion_stored(world, org_b):
    ingest(world, "touchpoints", touch("T2", contact="C2", campaign="K3", when=at(9, 10)))
    stored = dict(Sale.objects.for_org(world).values_list("external_id", "last_touch_campaign_id"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_sale SET last_touch_campaign_id = NULL")
    # the data migration's fill, then again (idempotent)
    assert sales_last_touch_fill(batch=2) == 2
    assert sales_last_touch_fill(batch=2) == 0
    assert dict(Sale.objects.for_org(world).values_list("external_id", "last_touch_campaign_id")) == stored
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_sale SET last_touch_campaign_id = NULL")
    assert sales_last_touch_refresh(organization_id=org_b.pk).rows == 0
    assert sales_last_touch_refresh(organization_id=world.pk).rows == 2
    assert dict(Sale.objects.for_org(world).values_list("external_id", "last_touch_campaign_id")) == stored


# --- writes through the Django admin have ingestion's effects (crm.admin.IngestedDataAdmin) ---


def _admin_post(client, url: str, data: dict) -> None:
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def _touchpoint_form(tp: Touchpoint, **changes) -> dict:
    occurred = changes.pop("occurred_at", tp.occurred_at)
    data = {
        "external_id": tp.external_id,
        "lead": tp.lead_id or "",
        "contact": tp.contact_id or "",
        "campaign": tp.campaign_id or "",
        "channel": tp.channel,
        "occurred_at_0": occurred.strftime("%Y-%m-%d"),
        "occurred_at_1": occurred.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return data


def test_an_admin_edit_of_a_touchpoint_recomputes_the_sales_and_marks_their_day_stale(world, admin_a, client):
    # K2 touches L1 on 8 Mar (before T1): S1 stays K1. An admin then moves it to 10 Mar 11:00,
    # after T1 and before S1 closes (12:00 UTC): S1's last touch becomes K2.
    ingest(world, "touchpoints", touch("T2", lead="L1", campaign="K2", when=at(8)))
    assert campaign_of(world, "S1") == "K1"
    FillState.objects.filter(organization=world).delete()
    FillState.objects.create(organization=world, family="insights", filled_through=dt.date(2026, 3, 20))
    client.force_login(admin_a)
    tp = Touchpoint.objects.for_org(world).get(external_id="T2")
    # the form's times are in the admin's zone (settings.TIME_ZONE, UTC in tests)
    moved = dt.datetime(2026, 3, 10, 11, tzinfo=dt.UTC)
    _admin_post(client, f"/admin/crm/touchpoint/{tp.pk}/change/", _touchpoint_form(tp, occurred_at=moved))
    assert campaign_of(world, "S1") == "K2"
    # stale from the earliest business time of both versions: 8 Mar in Nairobi (org_a)
    assert FillState.objects.for_org(world).get(family="insights").dirty_from == dt.date(2026, 3, 8)


def test_an_admin_delete_of_a_touchpoint_recomputes_the_sales(world, admin_a, client):
    client.force_login(admin_a)
    tp = Touchpoint.objects.for_org(world).get(external_id="T1")
    _admin_post(client, f"/admin/crm/touchpoint/{tp.pk}/delete/", {"post": "yes"})
    assert campaign_of(world, "S1") is None
    assert campaign_of(world, "S2") is None
