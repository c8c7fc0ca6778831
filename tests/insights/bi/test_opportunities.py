"""Opportunities on the database: the signals on hand-built histories, no leakage, the deal-size
medians, the refresh (dedupe, closed ones, fallback, tenancy, query count), and the calibration
of the confidence on a generated history (docs/metrics.md, "Opportunities").

Organization A is in Africa/Nairobi; AS_OF = 2 Mar 2026 09:00 UTC. Ages are whole days
before AS_OF (all instants are at 09:00 UTC), so "n days ago" below is exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.demo.loader import demo_load
from crm.models import Activity, AuditLog, CampaignMessage, ChatMessage, Contact, Lead, Role, Sale
from insights.bi.models import InsightSettings, Opportunity, OpportunityStatus, OpportunityStatusChange
from insights.bi.opportunities import model, signals
from insights.bi.opportunities.services import MIN_CONFIDENCE_PERCENT, opportunities_refresh
from insights.bi.opportunities.training import Replay, confidence_model_train, snapshot_replay
from insights.bi.opportunities.value import KIND, KIND_LINE, KIND_LINE_REGION
from tests.factories import CampaignFactory, MemberFactory, OrganizationFactory

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTICE, QUIET = 30, 90


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


class History:
    """A small CRM history written row by row (external ids are unique per builder)."""

    def __init__(self, org, agent, prefix: str = "") -> None:
        self.org, self.agent, self.prefix = org, agent, prefix
        self.ids = itertools.count(1)
        self.campaign = CampaignFactory(organization=org, external_id=f"{prefix}cmp")

    def _id(self, kind: str) -> str:
        return f"{self.prefix}{kind}{next(self.ids)}"

    def contact(self, name: str) -> Contact:
        return Contact.objects.create(
            organization=self.org, external_id=self._id("c"), name=name, created_at=ago(800)
        )

    def lead(
        self, contact, *, line="Pro", region="Nairobi", created=700, converted=None, lost=None, agent=None
    ):
        return Lead.objects.create(
            organization=self.org,
            external_id=self._id("l"),
            contact=contact,
            product_line=line,
            region=region,
            assigned_agent=agent or self.agent,
            created_at=ago(created),
            converted_at=None if converted is None else ago(converted),
            lost_at=None if lost is None else ago(lost),
        )

    def sale(self, contact, lead, kind: str, days: float, amount: float, line: str | None = None) -> Sale:
        return Sale.objects.create(
            organization=self.org,
            external_id=self._id("s"),
            contact=contact,
            lead=lead,
            kind=kind,
            closed_at=ago(days),
            amount=Decimal(str(amount)),
            product_line=line if line is not None else lead.product_line,
        )

    def monthly(self, contact, lead, *, first: int, last: int, amount: float) -> None:
        """A new sale `first` days ago, then a recurring payment every 30 days until `last`."""
        self.sale(contact, lead, "new", first, amount)
        for days in range(first - 30, last - 1, -30):
            self.sale(contact, lead, "recurring", days, amount)

    def activity(self, lead, days: float, *, kind="call", direction="outbound", automated=False) -> None:
        Activity.objects.create(
            organization=self.org,
            external_id=self._id("a"),
            lead=lead,
            agent=self.agent,
            type=kind,
            direction=direction,
            occurred_at=ago(days),
            automated=automated,
        )

    def chat(self, contact, days: float, direction="inbound") -> None:
        ChatMessage.objects.create(
            organization=self.org,
            external_id=self._id("m"),
            conversation_id=self._id("cv"),
            contact=contact,
            direction=direction,
            body="Hello",
            sent_at=ago(days),
        )

    def reply(self, contact, days: float) -> None:
        CampaignMessage.objects.create(
            organization=self.org,
            external_id=self._id("cm"),
            campaign=self.campaign,
            contact=contact,
            sent_at=ago(days + 1),
            delivered_at=ago(days + 1),
            read_at=ago(days + 0.5),
            replied_at=ago(days),
        )


def build_personas(h: History) -> dict[str, Contact]:
    """One contact per case of the signal definitions (the comments give the expected result)."""
    p = {}
    # upsell +: a monthly Pro customer for 200 days, paid 20 days ago, a call 5 days ago.
    p["upsell"] = c = h.contact("Una Upsell")
    lead = h.lead(c, converted=200)
    h.monthly(c, lead, first=200, last=20, amount=100)
    h.activity(lead, 5)
    # upsell -: the same but no engagement in the last 30 days (a call 40 days ago).
    p["quiet"] = c = h.contact("Quentin Quiet")
    lead = h.lead(c, converted=200)
    h.monthly(c, lead, first=200, last=20, amount=100)
    h.activity(lead, 40)
    # upsell -: engaged, but upsold 40 days ago (< the 90 quiet days).
    p["upsold"] = c = h.contact("Ursula Upsold")
    lead = h.lead(c, converted=200)
    h.monthly(c, lead, first=200, last=20, amount=100)
    h.sale(c, lead, "upsell", 40, 30)
    h.activity(lead, 3, kind="email", direction="inbound")
    # upsell -: engaged, but a customer for 20 days only (< 30).
    p["newbie"] = c = h.contact("Nina New")
    lead = h.lead(c, converted=20)
    h.sale(c, lead, "new", 20, 100)
    h.activity(lead, 2)
    # renewal +: an annual contract (new, 10 months paid) 350 days ago: due in 365 - 350 = 15 days.
    p["renewal"] = c = h.contact("Rita Renewal")
    lead = h.lead(c, line="Enterprise", converted=350)
    h.sale(c, lead, "new", 350, 12000)
    # renewal +: renewed 740 and 375 days ago: cadence 365, due 375 - 365 = 10 days ago (< 15 grace).
    p["overdue"] = c = h.contact("Otto Overdue")
    lead = h.lead(c, line="Enterprise", converted=760)
    h.sale(c, lead, "renewal", 740, 9000)
    h.sale(c, lead, "renewal", 375, 11000)
    # renewal -: a contract 300 days ago is due in 65 days (> 30 days notice).
    p["early"] = c = h.contact("Eli Early")
    lead = h.lead(c, line="Enterprise", converted=300)
    h.sale(c, lead, "new", 300, 12000)
    # renewal -: a contract 385 days ago is 20 days overdue (> 15 days grace).
    p["late"] = c = h.contact("Lara Late")
    lead = h.lead(c, line="Enterprise", converted=385)
    h.sale(c, lead, "new", 385, 12000)
    # cross-sell: four Pro customers also own Add-ons, one owns Analytics (too few co-owners).
    for number in range(4):
        c = h.contact(f"Addy {number}")
        lead = h.lead(c, converted=300)
        h.sale(c, lead, "new", 300, 100)
        h.sale(c, lead, "one_time", 200, 50, line="Add-ons")
        p[f"addons{number}"] = c
    c = h.contact("Ana Analytics")
    lead = h.lead(c, converted=300)
    h.sale(c, lead, "new", 300, 100)
    h.sale(c, lead, "cross_sell", 200, 70, line="Analytics")
    # cross-sell +: a Pro customer without Add-ons who replied to a campaign 4 days ago; the
    # upsell, upsold, quiet and newbie customers own Pro only as well. Add-ons owners also
    # replied (engaged), but own every line worth recommending: no cross-sell for them.
    p["cross"] = c = h.contact("Carl Cross")
    lead = h.lead(c, converted=250)
    h.sale(c, lead, "new", 250, 100)
    h.reply(c, 4)
    h.reply(p["addons0"], 4)
    # expansion +: an engaged Enterprise customer for 120 days; another Enterprise customer
    # bought an expansion, so the organization sells expansions on Enterprise.
    p["expand"] = c = h.contact("Xavier Expand")
    lead = h.lead(c, line="Enterprise", converted=120)
    h.sale(c, lead, "new", 120, 12000)
    h.chat(c, 6)
    c = h.contact("Yara Expanded")
    lead = h.lead(c, line="Enterprise", converted=500)
    h.sale(c, lead, "new", 500, 12000)
    h.sale(c, lead, "expansion", 300, 5000)
    # win-back +: monthly payments until 90 days ago (churned: 90 > 1.5 x 30), wrote 5 days ago.
    p["churned"] = c = h.contact("Carla Churned")
    lead = h.lead(c, converted=300)
    h.monthly(c, lead, first=300, last=90, amount=100)
    h.chat(c, 5)
    # win-back -: churned the same way, but only the agent called (not the customer).
    p["ghost"] = c = h.contact("Gus Ghost")
    lead = h.lead(c, converted=300)
    h.monthly(c, lead, first=300, last=90, amount=100)
    h.activity(lead, 5)
    # win-back +: a lead lost 100 days ago who replied to a campaign 3 days ago.
    p["lost"] = c = h.contact("Lou Lost")
    h.lead(c, line="Starter", created=130, lost=100)
    h.reply(c, 3)
    # win-back -: wrote 3 days ago, but the lead was lost 2 days ago (the chat came before).
    p["just_lost"] = c = h.contact("Jo Just-lost")
    h.lead(c, line="Starter", created=30, lost=2)
    h.chat(c, 3)
    return p


@pytest.fixture
def agent(org_a):
    return MemberFactory(email="owner@acme.test", organization=org_a, role=Role.AGENT)


@pytest.fixture
def personas(org_a, agent):
    return build_personas(History(org_a, agent))


def signals_now(org, as_of=AS_OF, notice=NOTICE) -> pd.DataFrame:
    return signals.signals_at(organization=org, as_of=as_of, renewal_notice_days=notice, quiet_days=QUIET)


def of_type(frame: pd.DataFrame, kind: str) -> dict[int, dict]:
    return {int(r["contact_id"]): r for r in frame[frame["type"] == kind].to_dict("records")}


# --- the signals --------------------------------------------------------------------------------


def test_upsell_signal(org_a, personas):
    upsells = of_type(signals_now(org_a), "upsell")

    assert personas["upsell"].pk in upsells
    for negative in ("quiet", "upsold", "newbie", "churned", "lost"):
        assert personas[negative].pk not in upsells, negative
    row = upsells[personas["upsell"].pk]
    # new 200 days ago + 6 recurring (170 ... 20 days ago): 7 purchases of 100
    assert (row["n_purchases"], row["total_spend"], row["first_age"], row["last_age"]) == (7, 700, 200, 20)
    assert (row["n_interactions"], row["current_line"], row["region"]) == (1, "Pro", "Nairobi")


def test_renewal_signal(org_a, personas):
    renewals = of_type(signals_now(org_a), "renewal")

    assert set(renewals) & {p.pk for p in personas.values()} == {
        personas["renewal"].pk,
        personas["overdue"].pk,
    }
    # a contract with one payment renews after CONTRACT_TERM_DAYS: 365 - 350 = 15 days
    assert renewals[personas["renewal"].pk]["due_in_days"] == pytest.approx(15)
    # renewals 740 and 375 days ago: cadence (740 - 375) / 1 = 365, due 365 - 375 = -10
    overdue = renewals[personas["overdue"].pk]
    assert (overdue["cadence_days"], overdue["due_in_days"]) == (pytest.approx(365), pytest.approx(-10))
    assert overdue["mean_payment"] == pytest.approx(10000)  # (9000 + 11000) / 2 renewals
    # monthly payments (cadence 30 < 80) are never renewal opportunities
    assert personas["upsell"].pk not in renewals


def test_renewal_window_follows_the_setting(org_a, personas):
    # the contract due in 65 days is inside a 70-day notice
    assert personas["early"].pk in of_type(signals_now(org_a, notice=70), "renewal")


def test_cross_sell_signal(org_a, personas):
    crosses = of_type(signals_now(org_a), "cross_sell")

    row = crosses[personas["cross"].pk]
    # Pro owners: upsell, quiet, upsold, newbie, churned, ghost, 4 Add-ons owners, Analytics
    # owner, cross = 12; 4 of them own Add-ons: share 4 / 12; Analytics has 1 co-owner (< 3)
    assert (row["recommended_line"], row["based_on_line"]) == ("Add-ons", "Pro")
    assert row["cross_share"] == pytest.approx(4 / 12)
    assert row["co_owners"] == 4
    # an Add-ons owner has nothing left to recommend; unengaged customers get no signal
    assert personas["addons0"].pk not in crosses
    assert personas["quiet"].pk not in crosses
    # the upsell customer is engaged and lacks Add-ons: a cross-sell too
    assert crosses[personas["upsell"].pk]["recommended_line"] == "Add-ons"


def test_expansion_signal(org_a, personas):
    expansions = of_type(signals_now(org_a), "expansion")

    assert personas["expand"].pk in expansions
    # engaged Pro customers: nobody ever bought an expansion on Pro
    assert personas["upsell"].pk not in expansions


def test_win_back_signal(org_a, personas):
    wins = of_type(signals_now(org_a), "win_back")

    churned, lost = wins[personas["churned"].pk], wins[personas["lost"].pk]
    # last payment 90 days ago, cadence 30: the missed payment was 90 - 30 = 60 days ago
    assert (churned["lapse_reason"], churned["lapse_age"], churned["engaged_age"]) == ("churned", 60, 5)
    assert (lost["lapse_reason"], lost["lapse_age"], lost["engaged_age"]) == ("lost_lead", 100, 3)
    for negative in ("ghost", "just_lost", "upsell", "renewal"):
        assert personas[negative].pk not in wins, negative


def test_features_as_of_a_past_time_ignore_later_rows(org_a, agent, personas):
    # given the signals as of 40 days ago
    past = ago(40)
    before = signals_now(org_a, as_of=past)
    assert len(before) > 0

    # when rows dated after that moment are added (sales, engagement, a new lead, a loss)
    h = History(org_a, agent, prefix="late-")
    for key in ("upsell", "churned", "cross", "renewal"):
        contact = personas[key]
        lead = Lead.objects.filter(contact=contact).first() or h.lead(contact)
        h.sale(contact, lead, "upsell", 39, 999, line="Add-ons")
        h.activity(lead, 39, kind="meeting")
        h.chat(contact, 20)
        h.reply(contact, 10)
        h.lead(contact, created=30)
    Lead.objects.filter(contact=personas["renewal"]).update(lost_at=ago(35))

    # then the signals as of 40 days ago are exactly the same
    pd.testing.assert_frame_equal(signals_now(org_a, as_of=past), before)


def test_another_organizations_rows_are_never_read(org_a, org_b, agent, personas):
    before = signals_now(org_a)
    # org B has customers owning Add-ons and Analytics everywhere, engagement and expansions
    h = History(org_b, MemberFactory(email="b-agent@globex.test", organization=org_b), prefix="b-")
    for number in range(6):
        c = h.contact(f"B {number}")
        lead = h.lead(c, converted=300)
        h.sale(c, lead, "new", 300, 100)
        h.sale(c, lead, "cross_sell", 200, 70, line="Analytics")
        h.sale(c, lead, "expansion", 100, 70)
        h.chat(c, 2)

    pd.testing.assert_frame_equal(signals_now(org_a), before)


# --- estimated value: the medians in the database ------------------------------------------------


def test_deal_size_medians(org_a, agent):
    h = History(org_a, agent)
    c = h.contact("Buyer")
    north = h.lead(c, line="Pro", region="North")
    south = h.lead(c, line="Pro", region="South")
    for amount in (100, 300, 200):
        h.sale(c, north, "upsell", 10, amount)
    for amount in (1000, 400):
        h.sale(c, south, "upsell", 10, amount)
    h.sale(c, north, "new", 10, 50)
    h.sale(c, north, "upsell", 800, 99999)  # older than VALUE_LOOKBACK_DAYS: ignored

    sizes = signals.deal_sizes(organization=org_a, as_of=AS_OF).levels

    assert sizes[KIND_LINE_REGION][("upsell", "Pro", "North")] == (200, 3)  # 100 200 300
    assert sizes[KIND_LINE_REGION][("upsell", "Pro", "South")] == (700, 2)  # (400 + 1000) / 2
    assert sizes[KIND_LINE][("upsell", "Pro")] == (300, 5)  # 100 200 300 400 1000
    assert sizes[KIND][("new",)] == (50, 1)
    assert sizes[()][()] == (250, 6)  # 50 100 200 300 400 1000: (200 + 300) / 2


# --- the refresh ------------------------------------------------------------------------------


def refresh(org, as_of=AS_OF):
    return opportunities_refresh(organization=org, as_of=as_of)


def test_refresh_creates_opportunities_with_history_and_audit(org_a, agent, personas):
    report = refresh(org_a)

    opportunities = Opportunity.objects.for_org(org_a)
    assert report.created == opportunities.count() > 0
    renewal = opportunities.get(type="renewal", subject_key=f"contact:{personas['renewal'].pk}")
    assert (renewal.status, renewal.owner, renewal.currency) == (OpportunityStatus.IDENTIFIED, agent, "KES")
    assert renewal.lead.contact == personas["renewal"]
    # the history is too short to train on: 1 of 3 past renewal signals converted, smoothed
    # towards the 70% prior with 20 pseudo-signals: (1 + 20 x 0.7) / (3 + 20) = 65%
    assert renewal.evidence["confidence"] | {"probability": 0} == {
        "method": "fallback",
        "probability": 0,
        "horizon_days": 60,
        "history_examples": 3,
        "history_converted": 1,
    }
    assert (renewal.confidence, renewal.confidence_method) == (65, "fallback")
    assert renewal.evidence["renewal"]["days_to_due"] == 15
    assert renewal.estimated_value == Decimal("12000.00")  # its own contract payment
    assert renewal.title == "Renewal due in 15 days: Rita Renewal"
    changes = OpportunityStatusChange.objects.filter(opportunity__organization=org_a)
    assert changes.count() == report.created
    assert set(changes.values_list("from_status", "to_status")) == {("", "identified")}
    audits = AuditLog.objects.filter(organization=org_a, action="opportunity.identified")
    assert audits.count() == report.created


def test_refresh_twice_updates_instead_of_duplicating(org_a, agent, personas):
    first = refresh(org_a)
    working = Opportunity.objects.for_org(org_a).get(type="upsell", contact=personas["upsell"])
    working.status, working.owner = OpportunityStatus.IN_PROGRESS, None
    working.save()

    second = refresh(org_a, as_of=AS_OF + dt.timedelta(hours=1))

    assert second.created == 0
    assert second.updated == first.created
    assert Opportunity.objects.for_org(org_a).count() == first.created
    working.refresh_from_db()
    # the status stays; an ownerless one gets the contact's agent; the update time moves
    assert (working.status, working.owner, working.updated_at) == (
        OpportunityStatus.IN_PROGRESS,
        agent,
        AS_OF + dt.timedelta(hours=1),
    )
    assert OpportunityStatusChange.objects.filter(opportunity__organization=org_a).count() == first.created


def test_closed_opportunities_are_left_alone_and_raised_again_only_after_the_horizon(org_a, personas):
    refresh(org_a)
    renewals = Opportunity.objects.for_org(org_a).filter(type="renewal")
    long_ago = renewals.get(subject_key=f"contact:{personas['renewal'].pk}")
    recently = renewals.get(subject_key=f"contact:{personas['overdue'].pk}")
    # lost 61 days ago (beyond RECLOSE_DAYS = 60), converted 59 days ago (within it)
    renewals.filter(pk=long_ago.pk).update(
        status=OpportunityStatus.LOST, closed_at=ago(61), status_changed_at=ago(61), confidence=1
    )
    renewals.filter(pk=recently.pk).update(
        status=OpportunityStatus.CONVERTED, closed_at=ago(59), status_changed_at=ago(59), confidence=2
    )

    report = refresh(org_a, as_of=AS_OF + dt.timedelta(hours=1))

    assert report.created == 1
    assert report.skipped_recently_closed == 1
    # the closed ones are untouched; only the subject closed beyond the horizon is raised again
    assert list(
        renewals.filter(pk__in=[long_ago.pk, recently.pk]).order_by("pk").values_list("status", "confidence")
    ) == [
        (OpportunityStatus.LOST, 1),
        (OpportunityStatus.CONVERTED, 2),
    ]
    assert renewals.filter(subject_key=long_ago.subject_key).count() == 2
    assert renewals.filter(subject_key=recently.subject_key).count() == 1


def test_recently_closed_subject_is_skipped(org_a, personas):
    refresh(org_a)
    Opportunity.objects.for_org(org_a).update(
        status=OpportunityStatus.CONVERTED, closed_at=AS_OF, status_changed_at=AS_OF
    )
    total = Opportunity.objects.for_org(org_a).count()

    again = refresh(org_a, as_of=AS_OF + dt.timedelta(hours=2))

    assert again.created == 0
    assert again.skipped_recently_closed == total
    assert Opportunity.objects.for_org(org_a).count() == total


def test_fallback_with_too_little_history(org_a, personas):
    report = refresh(org_a)

    # a few personas over two years: no type reaches MIN_TYPE_EXAMPLES
    assert set(report.methods.values()) == {"fallback"}
    for opportunity in Opportunity.objects.for_org(org_a):
        history = opportunity.evidence["confidence"]
        expected = model.smoothed_rate(
            signal_type=opportunity.type,
            examples=history["history_examples"],
            converted=history["history_converted"],
        )
        assert opportunity.confidence == round(expected * 100)
        assert opportunity.confidence_method == "fallback"
        assert opportunity.confidence >= MIN_CONFIDENCE_PERCENT


def test_settings_of_the_organization_are_used(org_a, personas):
    InsightSettings.objects.create(organization=org_a, renewal_notice_days=70)

    refresh(org_a)

    renewals = Opportunity.objects.for_org(org_a).filter(type="renewal")
    assert f"contact:{personas['early'].pk}" in set(renewals.values_list("subject_key", flat=True))


def test_refresh_never_touches_another_organization(org_a, org_b, agent, personas, outsider):
    theirs = build_personas(History(org_b, outsider, prefix="b-"))
    refresh(org_b)
    snapshot = list(Opportunity.objects.for_org(org_b).order_by("pk").values())
    Sale.objects.for_org(org_b).update(amount=Decimal("123456.00"))

    refresh(org_a)

    assert list(Opportunity.objects.for_org(org_b).order_by("pk").values()) == snapshot
    mine = Opportunity.objects.for_org(org_a)
    assert not mine.filter(contact__organization=org_b).exists()
    assert not mine.filter(owner__organization=org_b).exists()
    # deal sizes come from org A only (org B's sales are all 123,456 now)
    assert not mine.filter(estimated_value=Decimal("123456.00")).exists()
    assert theirs["renewal"].pk not in {o.contact_id for o in mine}


def _copies(org, agent, copies: int) -> None:
    for copy in range(copies):
        build_personas(History(org, agent, prefix=f"k{copy}-"))


def test_query_count_does_not_grow_with_the_data(org_a, agent):
    small = OrganizationFactory(slug="small-co", timezone="Africa/Nairobi", currency="KES")
    large = OrganizationFactory(slug="large-co", timezone="Africa/Nairobi", currency="KES")
    _copies(small, MemberFactory(email="s@small.test", organization=small), 1)
    _copies(large, MemberFactory(email="l@large.test", organization=large), 4)

    with CaptureQueriesContext(connection) as few:
        small_report = refresh(small)
    with CaptureQueriesContext(connection) as many:
        large_report = refresh(large)

    assert large_report.created > 3 * small_report.created
    assert small_report.training_snapshots == large_report.training_snapshots == 12
    reads = [[q for q in run.captured_queries if q["sql"].startswith("SELECT")] for run in (few, many)]
    writes = [[q for q in run.captured_queries if q["sql"].startswith("INSERT")] for run in (few, many)]
    # reads: 1 settings + 1 first sale + 12 snapshots x 6 (5 facts + outcomes) + 5 current
    # + 4 medians + names + members + lock + existing = 87, whatever the data size
    assert len(reads[0]) == len(reads[1]) == 1 + 1 + 12 * 6 + 5 + 4 + 1 + 1 + 1 + 1
    # writes are batched (opportunities, their history, audit): a few INSERTs, not one a row
    assert len(writes[0]) == 3
    assert len(writes[1]) < large_report.created / 10


# --- calibration on a generated history ---------------------------------------------------------

# Cut-offs of the rolling evaluation: each model is trained only on the history before its
# cut-off, scores the signals at it, and is judged on the sales of the next HORIZON_DAYS.
EVALUATION_CUTOFFS = 4
# A bin is judged when it holds at least this many signals (a rate over fewer says little).
MIN_BIN_SIGNALS = 30
# Allowed gap between observed rate and mean confidence in a bin: ten points (the product's
# "a 70% opportunity converts 60-80% of the time"), widened to the 99% binomial margin
# 2.58 x sqrt(p (1 - p) / n) for bins too small for ten points to be statistically fair.
TOLERANCE_POINTS = 0.10
Z_99 = 2.58


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (small means)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def build_generated_history(org, agents, *, seed: int, customers: int, prospects: int) -> None:
    """Two years of a subscription business where deals follow engagement (deterministic).

    Customers pay monthly (75%) or a yearly contract; each has a warmth w (gamma, mean 1.2):
    about w interactions a month. Upsells follow a meeting (a month with one: 4% + 3% x w;
    70% of those close 1-6 weeks later, plus a rare upsell out of the blue); Pro and
    Enterprise customers buy Add-ons after replying to a campaign (4% a month, half of them
    buy within 1-6 weeks); a contract renews with probability 0.55 + 0.4 (1 - e^-w); monthly
    customers churn (2% + 3% e^-w a month), 45% of the churned write again 3-14 weeks later
    and 60% of those come back within 1-5 weeks; churned customers also chat without coming
    back (4% a month); Enterprise customers buy an expansion out of the blue (0.8% a month,
    too few to model). Lost prospects reply to campaigns, and a few of them come back.
    """
    rng = random.Random(seed)
    start, end = AS_OF - dt.timedelta(days=730), AS_OF
    prices = {"Starter": 3000.0, "Pro": 10000.0, "Enterprise": 50000.0}
    campaign = CampaignFactory(organization=org, external_id="gen-cmp")
    rows: dict[type, list] = {
        Contact: [],
        Lead: [],
        Sale: [],
        Activity: [],
        ChatMessage: [],
        CampaignMessage: [],
    }
    counter = itertools.count(1)

    def ext(kind: str) -> str:
        return f"g{kind}{next(counter)}"

    def at(t: dt.datetime) -> bool:
        return start <= t < end

    def day(t: dt.datetime) -> dt.datetime:
        return t.replace(hour=9, minute=0, second=0, microsecond=0)

    def sale(c, lead, kind, t, amount, line):
        if at(t):
            rows[Sale].append(
                Sale(
                    organization=org,
                    external_id=ext("s"),
                    contact=c,
                    lead=lead,
                    kind=kind,
                    closed_at=t,
                    amount=Decimal(f"{amount:.2f}"),
                    product_line=line,
                )
            )

    def activity(lead, t, kind="call", direction="outbound"):
        if at(t):
            rows[Activity].append(
                Activity(
                    organization=org,
                    external_id=ext("a"),
                    lead=lead,
                    agent=lead.assigned_agent,
                    type=kind,
                    direction=direction,
                    occurred_at=t,
                )
            )

    def chat(c, t):
        if at(t):
            rows[ChatMessage].append(
                ChatMessage(
                    organization=org,
                    external_id=ext("m"),
                    conversation_id=ext("cv"),
                    contact=c,
                    direction="inbound",
                    body="Hi",
                    sent_at=t,
                )
            )

    def reply(c, t):
        if at(t):
            rows[CampaignMessage].append(
                CampaignMessage(
                    organization=org,
                    external_id=ext("cm"),
                    campaign=campaign,
                    contact=c,
                    sent_at=t - dt.timedelta(hours=3),
                    delivered_at=t - dt.timedelta(hours=3),
                    read_at=t - dt.timedelta(hours=1),
                    replied_at=t,
                )
            )

    def days(low: float, high: float) -> dt.timedelta:
        return dt.timedelta(days=rng.uniform(low, high))

    def subscribe(c, lead, line, t0, warmth, *, returning: bool) -> None:
        monthly_plan = rng.random() < 0.75
        price = prices[line]
        sale(c, lead, "new", t0, price if monthly_plan else 10 * price, line)
        t, month, upsold_at = t0, 0, None
        bought_add_ons = False
        while True:
            month_start = t
            for _ in range(poisson(rng, warmth)):
                activity(
                    lead, month_start + days(0, 30), direction="inbound" if rng.random() < 0.3 else "outbound"
                )
            if rng.random() < 0.04 + 0.03 * warmth and (
                upsold_at is None or t - upsold_at > dt.timedelta(days=90)
            ):
                meeting = month_start + days(0, 30)
                activity(lead, meeting, kind="meeting")
                if rng.random() < 0.7:
                    upsold_at = meeting + days(7, 40)
                    sale(c, lead, "upsell", upsold_at, 0.3 * price, line)
            elif rng.random() < 0.005:
                sale(c, lead, "upsell", month_start + days(0, 30), 0.3 * price, line)
            if line != "Starter" and not bought_add_ons and rng.random() < 0.04:
                replied = month_start + days(0, 30)
                reply(c, replied)
                if rng.random() < 0.5:
                    bought_add_ons = True
                    sale(c, lead, "cross_sell", replied + days(7, 40), 2400, "Add-ons")
            if line == "Enterprise" and rng.random() < 0.008:
                sale(c, lead, "expansion", month_start + days(0, 30), 5 * price, line)
            month += 1
            t = t0 + dt.timedelta(days=30 * month)
            if t >= end:
                return
            if monthly_plan:
                if rng.random() < 0.02 + 0.03 * math.exp(-warmth):
                    break
                sale(c, lead, "recurring", t, price, line)
            elif month % 12 == 0:
                if rng.random() >= 0.55 + 0.4 * (1 - math.exp(-warmth)):
                    break
                sale(c, lead, "renewal", t, 10 * price, line)
        churned = t
        for month in range(24):
            if rng.random() < 0.04:
                chat(c, churned + dt.timedelta(days=30 * month) + days(0, 30))
        if not returning and rng.random() < 0.45:
            wrote = churned + days(20, 100)
            chat(c, wrote)
            if rng.random() < 0.6:
                subscribe(c, lead, line, day(wrote + days(7, 35)), warmth, returning=True)

    regions = ("Nairobi", "Mombasa", "Kisumu")
    for number in range(customers):
        c = Contact(organization=org, external_id=ext("c"), name=f"Customer {number}", created_at=start)
        line = rng.choices(("Starter", "Pro", "Enterprise"), weights=(0.45, 0.45, 0.1))[0]
        t0 = day(start + days(0, 540))
        lead = Lead(
            organization=org,
            external_id=ext("l"),
            contact=c,
            product_line=line,
            region=rng.choice(regions),
            assigned_agent=rng.choice(agents),
            created_at=t0 - dt.timedelta(days=10),
            converted_at=t0,
        )
        rows[Contact].append(c)
        rows[Lead].append(lead)
        subscribe(c, lead, line, t0, rng.gammavariate(2.0, 0.6), returning=False)
    for number in range(prospects):
        c = Contact(organization=org, external_id=ext("c"), name=f"Prospect {number}", created_at=start)
        created = day(start + days(0, 650))
        lost = created + days(10, 30)
        lead = Lead(
            organization=org,
            external_id=ext("l"),
            contact=c,
            product_line="Starter",
            region=rng.choice(regions),
            assigned_agent=rng.choice(agents),
            created_at=created,
            lost_at=lost if at(lost) else None,
        )
        rows[Contact].append(c)
        rows[Lead].append(lead)
        if rng.random() < 0.5:
            replied = lost + days(20, 200)
            reply(c, replied)
            if rng.random() < 0.15:
                sale(c, lead, "new", replied + days(5, 40), prices["Starter"], "Starter")
    for kind in (Contact, Lead, Sale, Activity, ChatMessage, CampaignMessage):
        kind.objects.bulk_create(rows[kind], batch_size=2000)


@pytest.fixture
def generated(org_a):
    agents = [MemberFactory(email=f"gen{n}@acme.test", organization=org_a) for n in range(4)]
    build_generated_history(org_a, agents, seed=20260302, customers=1000, prospects=400)
    return org_a


def rolling_evaluation(org) -> pd.DataFrame:
    """The signals of each cut-off with the confidence of a model trained before it and
    whether they converted. The cut-offs are SNAPSHOT_STEP_DAYS apart, so their training
    snapshots fall on one grid: each snapshot is replayed once (memoised by time)."""
    replays: dict[dt.datetime, Replay] = {}

    def replay(*, at: dt.datetime, **kwargs) -> Replay:
        if at not in replays:
            replays[at] = snapshot_replay(at=at, **kwargs)
        return replays[at]

    scored = []
    for cutoff in range(EVALUATION_CUTOFFS):
        at = AS_OF - dt.timedelta(days=model.HORIZON_DAYS + model.SNAPSHOT_STEP_DAYS * cutoff)
        trained = confidence_model_train(
            organization=org, as_of=at, renewal_notice_days=NOTICE, quiet_days=QUIET, replay=replay
        )
        now = replay(organization=org, at=at, renewal_notice_days=NOTICE, quiet_days=QUIET)
        scored.append(
            now.signals.assign(
                probability=trained.confidence.probabilities(now.signals),
                converted=model.signal_labels(now.signals, now.outcomes),
                method=[trained.confidence.method(t) for t in now.signals["type"]],
            )
        )
    return pd.concat(scored, ignore_index=True)


def test_confidence_is_calibrated_on_a_generated_history(generated):
    # given four cut-offs, each scored by a model trained only on the history before it
    scored = rolling_evaluation(generated)

    # when the confidences are binned by tenths
    report = model.calibration_report(
        converted=scored["converted"].to_numpy(), probabilities=scored["probability"].to_numpy()
    )

    # then every populated bin converts at its confidence, within the tolerance
    judged = [b for b in report.bins if b.count >= MIN_BIN_SIGNALS]
    for b in judged:
        margin = Z_99 * math.sqrt(b.mean_predicted * (1 - b.mean_predicted) / b.count)
        assert abs(b.observed_rate - b.mean_predicted) <= max(TOLERANCE_POINTS, margin), b
    # the high bins are populated (the test is about "of the ~70% ones, ~70% convert")
    assert sum(b.count for b in judged if b.low >= 0.5) >= 100
    assert {b.low for b in judged} >= {0.0, 0.6}
    # it beats always predicting the base rate, and its mean is the observed rate
    assert report.brier < 0.8 * report.base_rate_brier
    assert abs(scored["probability"].mean() - report.base_rate) < 0.03
    # upsell, cross-sell, renewal and win-back are modelled; expansion is too rare
    methods = scored.groupby("type")["method"].agg(lambda m: set(m))
    assert methods["upsell"] == methods["renewal"] == methods["win_back"] == {"model"}
    assert methods["expansion"] == {"fallback"}


# --- the demo data ----------------------------------------------------------------------------


def test_demo_data_yields_every_type_and_falls_back_at_small_scale(db):
    org = OrganizationFactory(slug="demo-opps", timezone="Africa/Nairobi", currency="KES")
    demo_load(organization=org, seed=7, scale="small", as_of=AS_OF)

    # the demo's deals follow engagement: most upsells have a meeting in the 4 weeks before
    upsells = list(Sale.objects.for_org(org).filter(kind="upsell").values_list("lead_id", "closed_at"))
    meetings = set(Activity.objects.for_org(org).filter(type="meeting").values_list("lead_id", "occurred_at"))
    preceded = [
        any(
            lead == m_lead and dt.timedelta(0) < closed - at <= dt.timedelta(days=35)
            for m_lead, at in meetings
        )
        for lead, closed in upsells
    ]
    assert sum(preceded) >= len(upsells) / 2
    # and churned customers write in again, some of whom come back
    assert Activity.objects.for_org(org).filter(title="Asked about coming back").exists()

    current = signals_now(org)
    report = refresh(org)

    assert set(current["type"]) == {"upsell", "cross_sell", "renewal", "expansion", "win_back"}
    # 420 contacts over 13 months: no type reaches 20 converted signals, all fall back
    assert set(report.methods.values()) == {"fallback"}
    created = set(Opportunity.objects.for_org(org).values_list("type", flat=True))
    assert created == {"upsell", "cross_sell", "renewal", "expansion", "win_back"}
    assert report.created + report.skipped_low_confidence == report.signals
