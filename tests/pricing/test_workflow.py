"""Pricing suggestions end to end through the API (DESIGN section 9.5) and the jobs:
generate, the governance matrix, approve -> apply -> roll back, reject, expire, audit,
notices, and bad input."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from crm.models import AuditLog, Contact, PriceHistory, Product, Sale
from pricing import notices, services
from pricing.models import PriceNotice, PricingSuggestion
from tests.factories import MemberFactory
from tests.pricing.conftest import NOW, add_quotes, make_product

pytestmark = pytest.mark.django_db

GENERATE = "/api/v1/bi/pricing-optimization"
DECIDE = "/api/v1/bi/approve-pricing"


def client_for(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


def propose(org, member, *products) -> list[PricingSuggestion]:
    ids = [p.external_id for p in products] or None
    return services.suggestions_generate(
        organization=org, requested_by=member, product_ids=ids, now=NOW
    ).suggestions


def audit_actions(suggestion) -> list[str]:
    return list(
        AuditLog.objects.filter(object_type="pricing_suggestion", object_id=str(suggestion.pk))
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


# --- generate ---------------------------------------------------------------------------


def test_a_manager_generates_suggestions_with_the_contract_fields(org_a, manager_a, inelastic, elastic):
    thin = make_product(org_a, "P-THIN")
    add_quotes(org_a, thin, n=12, slope=-1.0, win_at_list=0.5)
    response = client_for(manager_a).post(GENERATE, {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    by_product = {s["product"]: s for s in body["suggestions"]}
    assert set(by_product) == {"P-IN", "P-EL"}
    raise_ = by_product["P-IN"]
    assert set(raise_) >= {
        "id",
        "product",
        "tier",
        "currentPrice",
        "suggestedPrice",
        "changePct",
        "elasticity",
        "expectedRevenueChangePct",
        "churnRisk",
        "competitorPosition",
        "confidence",
        "rationale",
        "status",
        "requestedBy",
    }
    assert set(raise_["elasticity"]) >= {"estimate", "low", "high", "n", "method"}
    assert raise_["elasticity"]["low"] <= raise_["elasticity"]["estimate"] <= raise_["elasticity"]["high"]
    assert raise_["elasticity"]["n"] == 240
    assert set(raise_["expectedRevenueChangePct"]) >= {"estimate", "low", "high"}
    assert set(raise_["churnRisk"]) >= {"probability", "customersAffected"}
    assert set(raise_["competitorPosition"]) >= {"median", "percentile"}
    assert 0 <= raise_["confidence"] <= 1
    assert raise_["status"] == "proposed"
    assert raise_["requestedBy"] == {"id": manager_a.pk, "name": manager_a.display_name}
    # the direction: inelastic -> up (bounded by the 15% guardrail), elastic -> down
    assert raise_["suggestedPrice"] > raise_["currentPrice"]
    assert raise_["changePct"] == pytest.approx(
        round((raise_["suggestedPrice"] - raise_["currentPrice"]) / raise_["currentPrice"] * 100, 1)
    )
    assert raise_["changePct"] <= 15.0
    assert by_product["P-EL"]["suggestedPrice"] < by_product["P-EL"]["currentPrice"]
    assert by_product["P-EL"]["changePct"] >= -15.0
    # too few decided quotes: listed as skipped with the reason
    [skipped] = body["skipped"]
    assert (skipped["product"], skipped["code"]) == ("P-THIN", "too_few_quotes")
    assert "12" in skipped["reason"]


def test_the_guardrail_is_configurable_per_organization(org_a, manager_a, inelastic):
    from pricing.models import PricingSettings

    PricingSettings.objects.create(organization=org_a, max_change_pct=Decimal("5.00"))
    [suggestion] = propose(org_a, manager_a, inelastic)
    assert suggestion.change_pct == Decimal("5.0")
    assert suggestion.suggested_price == Decimal("1050.00")


def test_an_unknown_product_is_a_400_naming_it(org_a, org_b, manager_a, inelastic):
    foreign = make_product(org_b, "P-FOREIGN")
    response = client_for(manager_a).post(
        GENERATE, {"productIds": ["P-IN", "P-NOPE", foreign.external_id]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "P-NOPE" in error["message"]
    assert "P-FOREIGN" in error["message"]  # another organization's product is unknown here
    assert error["details"]["unknown"] == ["P-FOREIGN", "P-NOPE"]
    assert not PricingSuggestion.objects.exists()


def test_agents_cannot_generate(org_a, agent_a, inelastic):
    assert client_for(agent_a).post(GENERATE, {}, format="json").status_code == 403


def test_a_new_suggestion_replaces_a_proposed_one_which_expires(org_a, manager_a, inelastic):
    [first] = propose(org_a, manager_a, inelastic)
    [second] = propose(org_a, manager_a, inelastic)
    first.refresh_from_db()
    assert (first.status, second.status) == ("expired", "proposed")
    assert audit_actions(first) == ["pricing.proposed", "pricing.expired"]


# --- the governance matrix --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("agent", 403, "permission_denied"),
        ("manager", 403, "permission_denied"),
        ("requester", 403, "four_eyes"),
        ("outsider_admin", 404, "not_found"),
        ("other_admin", 200, None),
    ],
)
def test_who_may_decide(org_a, admins, agent_a, manager_a, other_admin, inelastic, who, status, code):
    requester, second = admins
    [suggestion] = propose(org_a, requester, inelastic)
    member = {
        "agent": agent_a,
        "manager": manager_a,
        "requester": requester,
        "outsider_admin": other_admin,
        "other_admin": second,
    }[who]
    response = client_for(member).post(
        DECIDE,
        {"suggestionId": suggestion.pk, "decision": "approve", "notes": "margin review"},
        format="json",
    )
    assert response.status_code == status, response.content
    suggestion.refresh_from_db()
    if code:
        assert response.json()["error"]["code"] == code
        assert suggestion.status == "proposed"
        assert audit_actions(suggestion) == ["pricing.proposed"]
    else:
        assert suggestion.status == "approved"


def test_approve_sets_the_effective_date_30_days_later_and_queues_notices(
    org_a, admins, inelastic, django_capture_on_commit_callbacks
):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    with (
        mock.patch("pricing.tasks.send_price_notices.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(decider).post(
            DECIDE,
            {"suggestionId": suggestion.pk, "decision": "approve", "notes": "fits the Q1 plan"},
            format="json",
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    decided = dt.datetime.fromisoformat(body["decidedAt"])
    assert dt.datetime.fromisoformat(body["effectiveAt"]) - decided == dt.timedelta(days=30)
    assert body["decisionNotes"] == "fits the Q1 plan"
    queued.assert_called_once_with(suggestion.pk)
    assert audit_actions(suggestion) == ["pricing.proposed", "pricing.approved"]


@pytest.mark.parametrize("body", [{"notes": ""}, {"notes": "   "}, {}])
def test_a_decision_without_notes_is_a_400(org_a, admins, inelastic, body):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    response = client_for(decider).post(
        DECIDE, {"suggestionId": suggestion.pk, "decision": "reject", **body}, format="json"
    )
    assert response.status_code == 400
    assert "notes" in response.json()["error"]["details"]
    suggestion.refresh_from_db()
    assert suggestion.status == "proposed"


def test_deciding_twice_is_a_409(org_a, admins, inelastic):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    client = client_for(decider)
    first = client.post(
        DECIDE, {"suggestionId": suggestion.pk, "decision": "reject", "notes": "no"}, format="json"
    )
    again = client.post(
        DECIDE, {"suggestionId": suggestion.pk, "decision": "approve", "notes": "yes"}, format="json"
    )
    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["error"]["code"] == "conflict"
    suggestion.refresh_from_db()
    assert suggestion.status == "rejected"
    assert audit_actions(suggestion) == ["pricing.proposed", "pricing.rejected"]


def test_bad_decisions_are_400s(org_a, admins, inelastic):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    client = client_for(decider)
    wrong = client.post(
        DECIDE, {"suggestionId": suggestion.pk, "decision": "maybe", "notes": "x"}, format="json"
    )
    missing = client.post(DECIDE, {"decision": "approve", "notes": "x"}, format="json")
    absent = client.post(DECIDE, {"suggestionId": 999999, "decision": "approve", "notes": "x"}, format="json")
    assert (wrong.status_code, missing.status_code, absent.status_code) == (400, 400, 404)


# --- apply, roll back, expire (the jobs with --now) ----------------------------------------


def run_jobs(now: dt.datetime) -> str:
    out = io.StringIO()
    call_command("pricing_jobs", now=now.isoformat(), stdout=out)
    return out.getvalue()


def test_the_job_applies_on_the_effective_date_and_an_admin_rolls_back(org_a, admins, inelastic):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    services.suggestion_decide(
        organization=org_a,
        actor=decider,
        suggestion_id=suggestion.pk,
        decision="approve",
        notes="ok",
        now=NOW,
    )
    # a day early: nothing happens
    assert "0 applied" in run_jobs(NOW + dt.timedelta(days=29))
    assert Product.objects.get(pk=inelastic.pk).list_price == Decimal("1000.00")
    # on the effective date: the list price changes and the history records it
    assert "1 applied" in run_jobs(NOW + dt.timedelta(days=30))
    product = Product.objects.get(pk=inelastic.pk)
    suggestion.refresh_from_db()
    assert product.list_price == suggestion.suggested_price
    assert (suggestion.status, suggestion.previous_price) == ("applied", Decimal("1000.00"))
    applied = PriceHistory.objects.get(product=product, source="suggestion")
    assert (applied.price, applied.suggestion_id) == (suggestion.suggested_price, suggestion.pk)
    assert applied.effective_at == NOW + dt.timedelta(days=30)
    # running again changes nothing
    assert "0 applied" in run_jobs(NOW + dt.timedelta(days=31))
    # the rollback restores the previous price, through the API, admins only
    url = f"/api/v1/bi/pricing-suggestions/{suggestion.pk}/rollback"
    assert client_for(decider).post(url, {"notes": ""}, format="json").status_code == 400
    response = client_for(requester).post(url, {"notes": "churn went up"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rolled_back"
    assert Product.objects.get(pk=inelastic.pk).list_price == Decimal("1000.00")
    assert PriceHistory.objects.get(product=product, source="rollback").price == Decimal("1000.00")
    assert client_for(requester).post(url, {"notes": "again"}, format="json").status_code == 409
    assert audit_actions(suggestion) == [
        "pricing.proposed",
        "pricing.approved",
        "pricing.applied",
        "pricing.rolled_back",
    ]


def test_undecided_suggestions_expire(org_a, manager_a, inelastic):
    [suggestion] = propose(org_a, manager_a, inelastic)
    assert "0 expired" in run_jobs(NOW + dt.timedelta(days=29))
    assert "1 expired" in run_jobs(NOW + dt.timedelta(days=30))
    suggestion.refresh_from_db()
    assert suggestion.status == "expired"
    assert audit_actions(suggestion) == ["pricing.proposed", "pricing.expired"]


def test_an_approved_change_keeps_the_product_out_of_the_next_run(org_a, admins, inelastic):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    services.suggestion_decide(
        organization=org_a,
        actor=decider,
        suggestion_id=suggestion.pk,
        decision="approve",
        notes="ok",
        now=NOW,
    )
    again = services.suggestions_generate(
        organization=org_a, requested_by=requester, product_ids=None, now=NOW
    )
    assert again.suggestions == []
    assert [s["code"] for s in again.skipped] == ["change_pending"]


# --- notices and the list / detail reads -----------------------------------------------


def test_notices_go_once_to_the_customers_of_the_product(org_a, admins, inelastic, mailoutbox):
    requester, decider = admins
    payer = Contact.objects.create(
        organization=org_a, external_id="C-1", name="Pat Payer", email="pat@x.test", created_at=NOW
    )
    silent = Contact.objects.create(organization=org_a, external_id="C-2", name="No Mail", created_at=NOW)
    old = Contact.objects.create(
        organization=org_a, external_id="C-3", name="Gone", email="gone@x.test", created_at=NOW
    )
    for ext, contact, days in (("S-1", payer, 10), ("S-2", silent, 10), ("S-3", old, 200)):
        Sale.objects.create(
            organization=org_a,
            external_id=ext,
            contact=contact,
            product=inelastic,
            kind="recurring",
            amount=Decimal("1000"),
            closed_at=NOW - dt.timedelta(days=days),
        )
    [suggestion] = propose(org_a, requester, inelastic)
    services.suggestion_decide(
        organization=org_a,
        actor=decider,
        suggestion_id=suggestion.pk,
        decision="approve",
        notes="ok",
        now=NOW,
    )
    assert notices.price_notices_send(suggestion_id=suggestion.pk) == 1
    assert (
        notices.price_notices_send(suggestion_id=suggestion.pk) == 0
    )  # a retried task writes to nobody twice
    [message] = mailoutbox
    assert message.to == ["pat@x.test"]
    suggestion.refresh_from_db()
    assert "20 December 2026" in message.body  # 20 Nov 09:00 UTC + 30 days, in Nairobi
    assert "KES 1,000.00" in message.body
    assert f"KES {suggestion.suggested_price:,.2f}" in message.body
    assert PriceNotice.objects.filter(suggestion=suggestion).count() == 1


def test_list_and_detail_are_scoped_and_paged(org_a, manager_a, other_admin, inelastic, elastic, caplog):
    propose(org_a, manager_a, inelastic)
    propose(org_a, manager_a, elastic)
    client = client_for(manager_a)
    first = client.get("/api/v1/bi/pricing-suggestions", {"limit": 1}).json()
    assert len(first["results"]) == 1
    assert first["nextCursor"]
    second = client.get("/api/v1/bi/pricing-suggestions", {"limit": 1, "cursor": first["nextCursor"]}).json()
    assert second["nextCursor"] is None
    assert {first["results"][0]["product"], second["results"][0]["product"]} == {"P-IN", "P-EL"}
    proposed = client.get("/api/v1/bi/pricing-suggestions", {"status": "proposed", "product": "P-EL"}).json()
    assert [r["product"] for r in proposed["results"]] == ["P-EL"]
    suggestion_id = proposed["results"][0]["id"]
    detail = client.get(f"/api/v1/bi/pricing-suggestions/{suggestion_id}").json()
    assert len(detail["analysis"]["curve"]) >= 10
    assert [entry["action"] for entry in detail["audit"]] == ["proposed"]
    # another organization's suggestion: 404, like a missing one, and a security event (G15)
    with caplog.at_level("WARNING", logger="crm.security"):
        assert (
            client_for(other_admin).get(f"/api/v1/bi/pricing-suggestions/{suggestion_id}").status_code == 404
        )
    assert f"refused 404 user={other_admin.pk}" in caplog.text
    assert "reason=another organization's object" in caplog.text
    assert client.get("/api/v1/bi/pricing-suggestions", {"cursor": "nonsense"}).status_code == 400


def test_a_product_load_that_changes_the_list_price_writes_history(org_a):
    from crm.ingestion import ingest_records

    ingest_records(
        organization=org_a,
        entity="products",
        records=[{"external_id": "P-1", "name": "A", "list_price": "10"}],
    )
    ingest_records(
        organization=org_a,
        entity="products",
        records=[{"external_id": "P-1", "name": "A", "list_price": "10"}],
    )
    ingest_records(
        organization=org_a,
        entity="products",
        records=[{"external_id": "P-1", "name": "A", "list_price": "12"}],
    )
    assert list(
        PriceHistory.objects.filter(product__external_id="P-1")
        .order_by("effective_at")
        .values_list("price", "source")
    ) == [(Decimal("10.00"), "import"), (Decimal("12.00"), "import")]


def test_no_member_can_be_both_requester_and_decider_even_as_the_only_admin(org_a, inelastic):
    only = MemberFactory(organization=org_a, email="solo@acme.test", role="admin", is_staff=True)
    [suggestion] = propose(org_a, only, inelastic)
    with pytest.raises(services.NotAllowed) as raised:
        services.suggestion_decide(
            organization=org_a, actor=only, suggestion_id=suggestion.pk, decision="reject", notes="x", now=NOW
        )
    assert raised.value.code == "four_eyes"


def test_the_rollback_command_restores_the_price_as_of_now(org_a, admins, inelastic):
    requester, decider = admins
    [suggestion] = propose(org_a, requester, inelastic)
    services.suggestion_decide(
        organization=org_a,
        actor=decider,
        suggestion_id=suggestion.pk,
        decision="approve",
        notes="ok",
        now=NOW,
    )
    run_jobs(NOW + dt.timedelta(days=30))
    out = io.StringIO()
    later = NOW + dt.timedelta(days=40)
    call_command(
        "pricing_rollback",
        str(suggestion.pk),
        by=decider.email,
        notes="support calls doubled",
        now=later.isoformat(),
        stdout=out,
    )
    assert "is at 1000.00 KES again" in out.getvalue()
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.rolled_back_at) == ("rolled_back", later)
    assert Product.objects.get(pk=inelastic.pk).list_price == Decimal("1000.00")
    # not an admin, or nothing to roll back: a clear error, nothing changes
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no longer|not applied|Rolled back|rolled back"):
        call_command("pricing_rollback", str(suggestion.pk), by=decider.email, notes="again")
    with pytest.raises(CommandError, match="No member"):
        call_command("pricing_rollback", str(suggestion.pk), by="nobody@x.test", notes="x")
