"""Shared data of the security tests: two organizations, the personas of tests/conftest.py,
the agent history of tests/agents/factories.py in organization A and marker values in
organization B (RELIABILITY.md G3-G5, G7).

The world is built once per package with committed rows (hundreds of generated cases would
otherwise spend their time hashing passwords) and deleted afterwards. It is read-only: every
test still runs in a rolled-back transaction (`pytest.mark.django_db`), so a POST in a test
leaves nothing behind. The clock is frozen at the history's reference time.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from agents.services import goals_set
from crm.models import ImportRun, ImportStatus, Member, Organization, Product, Role
from crm.services import api_key_create
from insights.bi.models import BusinessInsight, Opportunity
from insights.experiments.models import Experiment
from insights.experiments.services import VariantSpec, experiment_create
from insights.models import SavedView
from pricing.models import PricingSuggestion
from reports.models import Delivery, Export, Schedule
from tests.agents.factories import AS_OF, build_history
from tests.factories import (
    ActivityFactory,
    ChatMessageFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    OrganizationFactory,
    SaleFactory,
)

DAY = dt.timedelta(days=1)
MISSING_ID = 999999
MISSING_EMAIL = "nobody@nowhere.test"
MISSING_ENTITY = "no-such-entity"
VALID_ENTITY = "leads"
# Path values naming a kind of thing, not an object: (valid, does not exist).
NAMES = {
    "entity": (VALID_ENTITY, MISSING_ENTITY),
    "tab_name": ("overview", "no-such-tab"),
    "record_kind": ("leads", "contacts"),
    "export_tab": ("overview", "no-such-tab"),
    "export_table": ("comparison", "no-such-table"),
}


@dataclass(frozen=True)
class Persona:
    key: str
    role: str | None  # None: anonymous; "integration": an organization API key
    org: str | None  # "A", "B" or None

    @property
    def is_member(self) -> bool:
        return self.role in ("agent", "manager", "admin")


PERSONAS = (
    Persona("anonymous", None, None),
    Persona("agent_a", "agent", "A"),
    Persona("manager_a", "manager", "A"),
    Persona("admin_a", "admin", "A"),
    Persona("admin_b", "admin", "B"),  # the outsider of tests/conftest.py
    Persona("apikey_b", "integration", "B"),
)
PERSONA = {persona.key: persona for persona in PERSONAS}
MEMBERS_OF_A = tuple(p for p in PERSONAS if p.org == "A")

# Values that exist only in organization B: none may appear in anything A can see (G4).
MARKER_LEAD = "ZZ-MARKER-LEAD-B"
MARKER_CONTACT_EMAIL = "marker.contact@globex.test"
MARKER_CONTACT_NAME = "ZZ-MARKER-CONTACT-B"
MARKER_AGENT_NAME = "ZZ-MARKER-AGENT-B"
MARKER_AGENT_EMAIL = "marker.agent@globex.test"
MARKER_AMOUNT = Decimal("987654.32")
MARKER_FILENAME = "marker-b.csv"
MARKER_SOURCE = "ZZ-MARKER-SOURCE-B"
MARKER_ACTIVITY = "ZZ-MARKER-ACTIVITY-B"
MARKER_IMPORT_ERROR = "ZZ-MARKER-IMPORT-ERROR-B"
MARKER_MESSAGE = "ZZ-MARKER-CHAT-B"
MARKER_INSIGHT = "ZZ-MARKER-INSIGHT-B"
MARKER_OPPORTUNITY = "ZZ-MARKER-OPPORTUNITY-B"
MARKER_PRODUCT = "ZZ-MARKER-PRODUCT-B"
ORG_B_NAME = "Globex Corp"
OUTSIDER_NAME = "Olga Outsider"


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    admin_a: Member
    manager_a: Member
    agent_a: Member
    bea: Member  # the second agent of A (build_history)
    admin_b: Member
    agent_b: Member  # the marker agent of B
    api_key_b: str
    run_a: ImportRun
    run_b: ImportRun
    view_a: SavedView
    view_b: SavedView
    insight_a: BusinessInsight  # on agent_a's lead L1: every member of A may see and resolve it
    insight_b: BusinessInsight
    opportunity_a: Opportunity  # agent_a's, identified: every member of A may move it
    opportunity_b: Opportunity
    # proposed, requested by manager_a: admin_a may decide it; B's product is a marker
    pricing_suggestion_a: PricingSuggestion
    pricing_suggestion_b: PricingSuggestion
    # reports: A's export is agent_a's (agents see their own, managers all of A's), done but
    # its file gone; A's schedule is manager_a's; the delivery has no file left
    report_export_a: Export
    report_export_b: Export
    report_schedule_a: Schedule
    report_schedule_b: Schedule
    report_delivery_a: Delivery
    report_delivery_b: Delivery
    # draft price tests of the pricing suggestions' products; B's is named with a marker
    experiment_a: Experiment
    experiment_b: Experiment

    def member(self, persona: Persona) -> Member | None:
        return getattr(self, persona.key, None) if persona.is_member else None

    def organization(self, org: str) -> Organization:
        return self.org_a if org == "A" else self.org_b

    def object_value(self, kind: str, variant: str) -> object:
        """A path or query value naming an object of A, of B, or nothing ("missing")."""
        if kind in NAMES:
            valid, missing = NAMES[kind]
            return missing if variant == "missing" else valid
        if variant == "missing":
            return MISSING_EMAIL if kind == "agent_email" else MISSING_ID
        if kind == "import_run":
            return (self.run_a if variant == "A" else self.run_b).pk
        if kind == "saved_view":
            return (self.view_a if variant == "A" else self.view_b).pk
        if kind in (
            "insight",
            "opportunity",
            "pricing_suggestion",
            "report_export",
            "report_schedule",
            "report_delivery",
            "experiment",
        ):
            return getattr(self, f"{kind}_{'a' if variant == 'A' else 'b'}").pk
        agent = self.bea if variant == "A" else self.agent_b
        return agent.email if kind == "agent_email" else agent.pk

    def markers(self) -> list[str]:
        """Every marker string of B, in the forms it could be rendered in."""
        return [
            MARKER_LEAD,
            MARKER_CONTACT_EMAIL,
            MARKER_CONTACT_NAME,
            MARKER_AGENT_NAME,
            MARKER_AGENT_EMAIL,
            MARKER_FILENAME,
            MARKER_SOURCE,
            MARKER_ACTIVITY,
            MARKER_IMPORT_ERROR,
            MARKER_MESSAGE,
            MARKER_INSIGHT,
            MARKER_OPPORTUNITY,
            MARKER_PRODUCT,
            ORG_B_NAME,
            OUTSIDER_NAME,
            self.admin_b.email,
            "globex",  # B's slug, the domain of every B e-mail
            self.org_b.webhook_secret,
            self.api_key_b,
            "987654.32",
            "987,654.32",
            "987654.3",
            "987,654",
            "987654",
            "987.7K",
            "987.65K",
            "988K",
        ]


def _build_world() -> World:
    # The personas of tests/conftest.py, with the same names and e-mails.
    org_a = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
    org_b = OrganizationFactory(slug="globex", name=ORG_B_NAME, timezone="UTC", currency="USD")
    admin_a = MemberFactory(
        email="admin@acme.test", name="Ada Admin", organization=org_a, role=Role.ADMIN, is_staff=True
    )
    manager_a = MemberFactory(
        email="manager@acme.test", name="Mia Manager", organization=org_a, role=Role.MANAGER
    )
    agent_a = MemberFactory(email="agent@acme.test", name="Alan Agent", organization=org_a, role=Role.AGENT)
    admin_b = MemberFactory(
        email="boss@globex.test", name=OUTSIDER_NAME, organization=org_b, role=Role.ADMIN, is_staff=True
    )
    bea, leads, _sales = build_history(org_a, agent_a)
    ActivityFactory(
        organization=org_a, agent=agent_a, lead=leads["L1"], title="Call with L1", occurred_at=AS_OF - 2 * DAY
    )
    run_a = ImportRun.objects.create(
        organization=org_a,
        entity="leads",
        door="upload",
        filename="acme-leads.csv",
        started_by=manager_a,
        started_at=AS_OF - DAY,
        finished_at=AS_OF - DAY,
        status=ImportStatus.PARTIAL,
        rows_total=3,
        rows_stored=2,
        rows_rejected=1,
        errors=[{"row": 2, "column": "score", "reason": "must be 0-100"}],
    )

    # Organization B: one agent with a lead, a sale, an activity and a chat message, and an
    # import run, each carrying a marker.
    agent_b = MemberFactory(
        email=MARKER_AGENT_EMAIL, name=MARKER_AGENT_NAME, organization=org_b, role=Role.AGENT
    )
    contact_b = ContactFactory(
        organization=org_b, name=MARKER_CONTACT_NAME, email=MARKER_CONTACT_EMAIL, created_at=AS_OF - 5 * DAY
    )
    lead_b = LeadFactory(
        organization=org_b,
        name=MARKER_LEAD,
        contact=contact_b,
        assigned_agent=agent_b,
        source=MARKER_SOURCE,
        status="converted",
        created_at=AS_OF - 4 * DAY,
        assigned_at=AS_OF - 4 * DAY,
        contacted_at=AS_OF - 3 * DAY,
        converted_at=AS_OF - 2 * DAY,
        satisfaction_rating=5,
    )
    SaleFactory(
        organization=org_b,
        agent=agent_b,
        lead=lead_b,
        contact=contact_b,
        amount=MARKER_AMOUNT,
        currency="USD",
        closed_at=AS_OF - 2 * DAY,
    )
    ActivityFactory(
        organization=org_b, agent=agent_b, lead=lead_b, title=MARKER_ACTIVITY, occurred_at=AS_OF - DAY
    )
    ChatMessageFactory(
        organization=org_b, agent=agent_b, contact=contact_b, body=MARKER_MESSAGE, sent_at=AS_OF - DAY
    )
    run_b = ImportRun.objects.create(
        organization=org_b,
        entity="leads",
        door="upload",
        filename=MARKER_FILENAME,
        started_by=admin_b,
        started_at=AS_OF - DAY,
        finished_at=AS_OF - DAY,
        status=ImportStatus.PARTIAL,
        rows_total=2,
        rows_stored=1,
        rows_rejected=1,
        errors=[{"row": 2, "column": "name", "reason": MARKER_IMPORT_ERROR}],
        message=MARKER_IMPORT_ERROR,
    )
    _key, raw_key = api_key_create(organization=org_b, name="security tests", actor=admin_b)

    # Business insights and opportunities (insights/bi): agent_a's, Bea's (agent_a must not
    # see them, G5) and B's, with markers.
    insight_a = BusinessInsight.objects.create(
        organization=org_a,
        type="missed_opportunity",
        priority="high",
        subject_key="lead:L1",
        lead=leads["L1"],
        agent=agent_a,
        title="L1 has gone quiet",
        explanation="No activity for 9 days.",
        action_items=["Call L1"],
        evidence={"score": 80, "daysIdle": 9},
        condition_since=AS_OF - 2 * DAY,
        created_at=AS_OF - DAY,
    )
    BusinessInsight.objects.create(
        organization=org_a,
        type="upsell_potential",
        priority="medium",
        subject_key="lead:L8",
        lead=leads["L8"],
        agent=bea,
        title="L8 is ready for more",
        explanation="Engaged.",
        condition_since=AS_OF - 2 * DAY,
        created_at=AS_OF - DAY,
    )
    opportunity_a = Opportunity.objects.create(
        organization=org_a,
        type="upsell",
        subject_key="lead:L2",
        lead=leads["L2"],
        owner=agent_a,
        title="Upsell for L2",
        confidence=60,
        estimated_value=Decimal("800.00"),
        currency="KES",
    )
    Opportunity.objects.create(
        organization=org_a,
        type="renewal",
        status="in_progress",
        subject_key="lead:L8",
        lead=leads["L8"],
        owner=bea,
        title="Renewal for L8",
        confidence=40,
        estimated_value=Decimal("1200.00"),
        currency="KES",
    )
    insight_b = BusinessInsight.objects.create(
        organization=org_b,
        type="missed_opportunity",
        priority="high",
        subject_key="lead:B",
        lead=lead_b,
        agent=agent_b,
        title=MARKER_INSIGHT,
        explanation=MARKER_INSIGHT,
        action_items=[MARKER_INSIGHT],
        evidence={"lastSale": float(MARKER_AMOUNT)},
        condition_since=AS_OF - 2 * DAY,
        created_at=AS_OF - DAY,
    )
    opportunity_b = Opportunity.objects.create(
        organization=org_b,
        type="upsell",
        subject_key="lead:B",
        lead=lead_b,
        owner=agent_b,
        title=MARKER_OPPORTUNITY,
        confidence=50,
        estimated_value=MARKER_AMOUNT,
        currency="USD",
    )

    pricing_a, pricing_b = (
        _pricing_suggestion(org, requester, name)
        for org, requester, name in ((org_a, manager_a, "Starter"), (org_b, admin_b, MARKER_PRODUCT))
    )

    # A monthly revenue goal for everyone, so PUT /agent/goals has something to update.
    for member in (admin_a, manager_a, agent_a, bea, admin_b, agent_b):
        goals_set(
            agent=member, period="monthly", goals={"revenue": "1000"}, actor=member, as_of=AS_OF, create=True
        )
    return World(
        org_a=org_a,
        org_b=org_b,
        admin_a=admin_a,
        manager_a=manager_a,
        agent_a=agent_a,
        bea=bea,
        admin_b=admin_b,
        agent_b=agent_b,
        api_key_b=raw_key,
        run_a=run_a,
        run_b=run_b,
        view_a=SavedView.objects.create(organization=org_a, name="A view", tab="calls", query="range=7d"),
        view_b=SavedView.objects.create(
            organization=org_b, name=MARKER_SOURCE, tab="calls", query="range=7d"
        ),
        insight_a=insight_a,
        insight_b=insight_b,
        opportunity_a=opportunity_a,
        opportunity_b=opportunity_b,
        pricing_suggestion_a=pricing_a,
        pricing_suggestion_b=pricing_b,
        **_report_objects(org_a, agent_a, manager_a, "a"),
        **_report_objects(org_b, agent_b, admin_b, "b"),
        experiment_a=_experiment(org_a, manager_a, "Starter price test", pricing_a),
        experiment_b=_experiment(org_b, admin_b, MARKER_PRODUCT, pricing_b),
    )


def _experiment(org: Organization, manager: Member, name: str, suggestion: PricingSuggestion) -> Experiment:
    price = suggestion.current_price
    return experiment_create(
        organization=org,
        actor=manager,
        name=name,
        kind="pricing",
        product_id=suggestion.product.external_id,
        variants=[VariantSpec("current", 0.5, price), VariantSpec("higher", 0.5, price + 1)],
        metric="conversion_rate",
        baseline_rate=0.3,
        minimum_detectable_effect=0.1,
        method="sequential",
        now=AS_OF,
    )


def _report_objects(org: Organization, agent: Member, manager: Member, suffix: str) -> dict:
    spec = {"sections": ["overview"], "range": "7d", "filters": {}}
    export = Export.objects.create(
        organization=org,
        requested_by=agent,
        format="csv",
        spec=spec,
        state="done",
        progress=100,
        created_at=AS_OF,
    )
    schedule = Schedule.objects.create(
        organization=org,
        owner=manager,
        name=MARKER_SOURCE if suffix == "b" else "Daily numbers",
        spec=spec,
        formats=["csv"],
        cadence="daily",
        time=dt.time(7, 0),
        recipients=[manager.email],
    )
    delivery = Delivery.objects.create(
        organization=org, schedule=schedule, period="2026-11-20", recipient=manager.email, state="sent"
    )
    return {
        f"report_export_{suffix}": export,
        f"report_schedule_{suffix}": schedule,
        f"report_delivery_{suffix}": delivery,
    }


def _pricing_suggestion(org: Organization, requester: Member, name: str) -> PricingSuggestion:
    # B's prices are the marker amount; A's are plain (a marker on A's page would be a false leak)
    price = MARKER_AMOUNT if org.slug == "globex" else Decimal("1000.00")
    product = Product.objects.create(
        organization=org, external_id=f"P-{org.slug}", name=name, tier="basic", list_price=price
    )
    return PricingSuggestion.objects.create(
        organization=org,
        product=product,
        tier="basic",
        currency=org.currency,
        current_price=price,
        suggested_price=price + 1,
        change_pct=Decimal("0.0"),
        elasticity=-0.5,
        elasticity_low=-0.9,
        elasticity_high=-0.1,
        elasticity_n=120,
        elasticity_method="logit(win ~ log price)",
        revenue_change_pct=1.0,
        revenue_change_low=-1.0,
        revenue_change_high=3.0,
        churn_probability=0.1,
        churn_customers=3,
        confidence=0.5,
        rationale=f"{name}: raise the price a little.",
        requested_by=requester,
        created_at=AS_OF - DAY,
        expires_at=AS_OF + 29 * DAY,
    )


def _destroy_world() -> None:
    organizations = Organization.objects.filter(slug__in=["acme", "globex"])
    Member.objects.filter(organization__in=organizations).delete()
    organizations.delete()


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _destroy_world()  # left over by an interrupted run (--reuse-db)
        with time_machine.travel(AS_OF, tick=False), transaction.atomic():
            built = _build_world()
        cache.clear()
    yield built
    with django_db_blocker.unblock():
        _destroy_world()
        cache.clear()


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(AS_OF, tick=False):
        yield


def client_for(
    world: World, persona: Persona, kind: str, *, via: str | None = None, csrf: bool = False
) -> Client:
    """A client acting as `persona`. `via` is how a member signs in: "session" (the default
    for pages) or "jwt" (the default for the API). An API key is sent as its header, which
    pages ignore like a browser's would. `csrf=True` enforces CSRF tokens like a browser."""
    member = world.member(persona)
    via = via or ("jwt" if kind == "api" else "session")
    client = APIClient(enforce_csrf_checks=csrf) if kind == "api" else Client(enforce_csrf_checks=csrf)
    if persona.role == "integration":
        client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {world.api_key_b}"
    elif member is not None and via == "jwt":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {RefreshToken.for_user(member).access_token}"
    elif member is not None:
        client.force_login(member)
    # A server error must show up as the 500 a browser would get, not as an exception.
    client.raise_request_exception = False
    client.handler = _HANDLERS.setdefault((type(client.handler), csrf), client.handler)
    return client


# One request handler per client class for the whole run: a new handler loads the middleware
# again, and WhiteNoise then rescans every static file (70 ms a client). The handlers keep no
# state between requests (force_authenticate is never used here).
_HANDLERS: dict[tuple[type, bool], object] = {}


def send(client: Client, method: str, url: str, *, kind: str, body: object = None, **extra):
    """One request; `body` is JSON for the API and form fields for pages."""
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url, **extra)
    if kind == "api":
        data = json.dumps(body if body is not None else {})
        return call(url, data=data, content_type="application/json", **extra)
    if method == "POST":
        return call(url, data=body or {}, **extra)
    return call(url, **extra)
