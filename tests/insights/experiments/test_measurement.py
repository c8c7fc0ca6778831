"""What each variant measured (insights.experiments.selectors), on small data counted by hand:
campaign experiments (reply, read, conversion, revenue per contact; since the start or the
whole campaign; a stop ends the window) and pricing experiments (assignment by hash, decided
quotes, off-assignment quotes, revenue per quoted subject)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from insights.experiments import selectors, services
from insights.experiments.assignment import assign
from insights.experiments.selectors import VariantMeasure
from tests.factories import CampaignFactory, ContactFactory, LeadFactory, SaleFactory
from tests.insights.experiments.conftest import DAY, HOUR, NOW, START, make_product, message, quote

pytestmark = pytest.mark.django_db


def campaign_experiment(org, member, campaign, *, metric: str, scope: str = "since_start", start=START):
    experiment = services.experiment_create(
        organization=org,
        actor=member,
        name="Template test",
        kind="campaign",
        campaign_id=campaign.external_id,
        variants=[services.VariantSpec("A", 0.5), services.VariantSpec("B", 0.5)],
        metric=metric,
        baseline_rate=0.2 if metric != "revenue_per_contact" else None,
        baseline_sd=50.0 if metric == "revenue_per_contact" else None,
        minimum_detectable_effect=0.1 if metric != "revenue_per_contact" else 20.0,
        method="frequentist",
        scope=scope,
        now=start - HOUR,
    )
    if scope == "since_start":
        experiment = services.experiment_start(
            organization=org, actor=member, experiment_id=experiment.pk, now=start
        )
    return experiment


def by_key(measures: list[VariantMeasure]) -> dict[str, VariantMeasure]:
    return {m.key: m for m in measures}


@pytest.fixture
def rates_campaign(org_a, campaign):
    """After START: A has 3 delivered (1 replied, 2 read) and 1 failed; B 4 delivered (2
    replied, 2 read); a message of variant C (not in the experiment) is ignored. The fixture's
    5 messages before START (A: 4 delivered, 1 replied, 2 read; B: 1 replied) are not counted
    since the start."""
    people = [ContactFactory(organization=org_a, external_id=f"R{i}") for i in range(9)]
    t = START + DAY
    for i, (read, replied) in enumerate([(True, True), (True, False), (False, False)]):
        message(org_a, campaign, "A", people[i], t + i * HOUR, read=read, replied=replied)
    message(org_a, campaign, "A", people[3], t, delivered=False)
    for i, (read, replied) in enumerate([(True, True), (True, True), (False, False), (False, False)]):
        message(org_a, campaign, "B", people[4 + i], t + i * HOUR, read=read, replied=replied)
    message(org_a, campaign, "C", people[8], t, read=True, replied=True)
    return campaign


def test_reply_rate_counts_delivered_messages_since_the_start(org_a, manager_a, rates_campaign):
    experiment = campaign_experiment(org_a, manager_a, rates_campaign, metric="reply_rate")
    found = by_key(selectors.measures(experiment, as_of=NOW))
    # A: 3 delivered (the failed one is not), 1 replied; B: 4 delivered, 2 replied
    assert found["A"] == VariantMeasure("A", n=3, conversions=1)
    assert found["B"] == VariantMeasure("B", n=4, conversions=2)


def test_read_rate_counts_reads(org_a, manager_a, rates_campaign):
    experiment = campaign_experiment(org_a, manager_a, rates_campaign, metric="read_rate")
    found = by_key(selectors.measures(experiment, as_of=NOW))
    assert (found["A"].n, found["A"].conversions) == (3, 2)
    assert (found["B"].n, found["B"].conversions) == (4, 2)


def test_the_whole_campaign_scope_counts_the_messages_before_the_experiment(org_a, manager_a, rates_campaign):
    experiment = campaign_experiment(
        org_a, manager_a, rates_campaign, metric="reply_rate", scope="whole_campaign"
    )
    assert experiment.status == "draft"  # a read-out measures the campaign so far, even as a draft
    found = by_key(selectors.measures(experiment, as_of=NOW))
    # A: 4 + 3 delivered, 1 + 1 replied; B: 1 + 4 delivered, 1 + 2 replied
    assert (found["A"].n, found["A"].conversions) == (7, 2)
    assert (found["B"].n, found["B"].conversions) == (5, 3)


def test_a_draft_since_start_measures_nothing(org_a, manager_a, rates_campaign):
    experiment = services.experiment_create(
        organization=org_a,
        actor=manager_a,
        name="Not started",
        kind="campaign",
        campaign_id="K1",
        variants=[services.VariantSpec("A", 0.5), services.VariantSpec("B", 0.5)],
        metric="reply_rate",
        minimum_detectable_effect=0.1,
        method="frequentist",
        now=START,
    )
    assert selectors.measures(experiment, as_of=NOW) == [VariantMeasure("A"), VariantMeasure("B")]


def test_a_stop_ends_the_window(org_a, manager_a, rates_campaign):
    experiment = campaign_experiment(org_a, manager_a, rates_campaign, metric="reply_rate")
    experiment = services.experiment_stop(
        organization=org_a,
        actor=manager_a,
        experiment_id=experiment.pk,
        now=START + DAY + 90 * dt.timedelta(minutes=1),
    )
    # Stopped at START + 1 day + 90 minutes: A's messages at +0h and +1h count (1 replied),
    # B's at +0h and +1h (2 replied); the later ones do not.
    found = by_key(selectors.measures(experiment, as_of=NOW))
    assert (found["A"].n, found["A"].conversions) == (2, 1)
    assert (found["B"].n, found["B"].conversions) == (2, 2)


@pytest.fixture
def sales_campaign(org_a):
    """Six contacts messaged after START, and their sales (org_a's currency is KES):

    - c1: A at +1d; sale of 100 at +3d -> converted, 100
    - c2: A at +1d; a sale before the message only -> not converted, 0
    - c3: A at +2d; sales of 50 (+4d) and 30 (+5d, no currency = the organization's) -> 80
    - c4: B at +1d, then A at +2d; sale of 200 at +6d -> counted once, in B (the first), 200
    - c5: B at +2d; a sale of 500 in EUR -> not counted, 0
    - c6: B at +3d; a sale through the contact's lead (no contact on the sale) at +4d -> 60
    - c7: B at +3d, not delivered (a sale of 70 at +4d) -> not a messaged contact
    """
    campaign = CampaignFactory(organization=org_a, external_id="K2", name="Sales", started_at=START)
    c = {i: ContactFactory(organization=org_a, external_id=f"S{i}") for i in range(1, 8)}
    message(org_a, campaign, "A", c[1], START + DAY)
    message(org_a, campaign, "A", c[2], START + DAY)
    message(org_a, campaign, "A", c[3], START + 2 * DAY)
    message(org_a, campaign, "B", c[4], START + DAY)
    message(org_a, campaign, "A", c[4], START + 2 * DAY)
    message(org_a, campaign, "B", c[5], START + 2 * DAY)
    message(org_a, campaign, "B", c[6], START + 3 * DAY)
    message(org_a, campaign, "B", c[7], START + 3 * DAY, delivered=False)

    def sale(contact, amount: str, at, *, currency: str = "KES", lead=None):
        SaleFactory(
            organization=org_a,
            contact=contact,
            lead=lead,
            amount=Decimal(amount),
            currency=currency,
            closed_at=at,
        )

    sale(c[1], "100.00", START + 3 * DAY)
    sale(c[2], "999.00", START)
    sale(c[3], "50.00", START + 4 * DAY)
    sale(c[3], "30.00", START + 5 * DAY, currency="")
    sale(c[4], "200.00", START + 6 * DAY)
    sale(c[5], "500.00", START + 3 * DAY, currency="EUR")
    sale(
        None, "60.00", START + 4 * DAY, lead=LeadFactory(organization=org_a, external_id="SL6", contact=c[6])
    )
    sale(c[7], "70.00", START + 4 * DAY)
    return campaign


def test_conversion_rate_counts_contacts_with_a_sale_after_their_first_message(
    org_a, manager_a, sales_campaign
):
    experiment = campaign_experiment(org_a, manager_a, sales_campaign, metric="conversion_rate")
    found = by_key(selectors.measures(experiment, as_of=NOW))
    # A: c1, c2, c3 messaged; c1 and c3 bought. B: c4, c5, c6 messaged; c4 and c6 bought.
    assert (found["A"].n, found["A"].conversions) == (3, 2)
    assert (found["B"].n, found["B"].conversions) == (3, 2)


def test_revenue_per_contact_sums_and_squares_per_contact(org_a, manager_a, sales_campaign):
    experiment = campaign_experiment(org_a, manager_a, sales_campaign, metric="revenue_per_contact")
    found = by_key(selectors.measures(experiment, as_of=NOW))
    # A: 100, 0, 80 -> sum 180, squares 100^2 + 80^2 = 16400
    assert found["A"] == VariantMeasure("A", n=3, conversions=2, total=180.0, total_squares=16400.0)
    # B: 200, 0, 60 -> sum 260, squares 200^2 + 60^2 = 43600
    assert found["B"] == VariantMeasure("B", n=3, conversions=2, total=260.0, total_squares=43600.0)
    # mean 60, sd sqrt((16400 - 180^2 / 3) / 2) = sqrt(2800) = 52.915...
    assert found["A"].mean == 60.0
    assert found["A"].sd == pytest.approx(52.9150262)


def test_a_sale_counts_within_30_days_of_the_message_only(org_a, manager_a):
    campaign = CampaignFactory(
        organization=org_a, external_id="K3", name="Window", started_at=START - 40 * DAY
    )
    early, late = (ContactFactory(organization=org_a, external_id=f"W{i}") for i in (1, 2))
    sent = START - 35 * DAY
    message(org_a, campaign, "A", early, sent)
    message(org_a, campaign, "B", late, sent)
    # 30 days after the message minus a second counts; exactly 30 days after does not
    SaleFactory(
        organization=org_a, contact=early, currency="KES", closed_at=sent + dt.timedelta(days=30, seconds=-1)
    )
    SaleFactory(organization=org_a, contact=late, currency="KES", closed_at=sent + dt.timedelta(days=30))
    experiment = campaign_experiment(
        org_a, manager_a, campaign, metric="conversion_rate", scope="whole_campaign", start=START
    )
    found = by_key(selectors.measures(experiment, as_of=NOW))
    # the messages were delivered a minute after sending; the window runs from the send
    assert (found["A"].n, found["A"].conversions) == (1, 1)
    assert (found["B"].n, found["B"].conversions) == (1, 0)


# --- pricing ------------------------------------------------------------------------------


def subjects_for(
    experiment, variants: list[tuple[str, float]], wanted: dict[str, int], *, prefix: str
) -> dict:
    """The first subject keys `prefix`1, `prefix`2, ... the hash assigns to each wanted variant."""
    found: dict[str, list[str]] = {key: [] for key in wanted}
    i = 0
    while any(len(found[key]) < count for key, count in wanted.items()):
        i += 1
        key = assign(experiment.pk, f"contact:{prefix}{i}", variants)
        if key in found and len(found[key]) < wanted[key]:
            found[key].append(f"{prefix}{i}")
    return found


@pytest.fixture
def price_test(org_a, manager_a):
    make_product(org_a, "P9")
    experiment = services.experiment_create(
        organization=org_a,
        actor=manager_a,
        name="Price test",
        kind="pricing",
        product_id="P9",
        variants=[
            services.VariantSpec("low", 0.5, Decimal("90.00")),
            services.VariantSpec("high", 0.5, Decimal("110.00")),
        ],
        metric="conversion_rate",
        baseline_rate=0.3,
        minimum_detectable_effect=0.1,
        method="sequential",
        now=START - HOUR,
    )
    return services.experiment_start(
        organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START
    )


def build_quotes(org, experiment):
    """Two subjects per variant, quoted after START:

    - low L1: 90 won x2 (revenue 180), 90 lost          -> 2 decided, 1 won
    - low L2: 110 won (off assignment, revenue 110), 90 open -> 1 decided, 1 won, 1 off
    - high H1: 110 lost                                 -> 1 decided
    - high H2: 110 won (110); and 110 won before START (not counted) -> 1 decided, 1 won
    - a quote of another product, and one with neither contact nor lead: not counted.
    """
    variants = [("low", 0.5), ("high", 0.5)]
    found = subjects_for(experiment, variants, {"low": 2, "high": 2}, prefix="PC")
    (l1, l2), (h1, h2) = (
        [ContactFactory(organization=org, external_id=e) for e in found[k]] for k in ("low", "high")
    )
    product = experiment.product
    t = START + DAY
    quote(org, product, price="90.00", outcome="won", quoted=t, contact=l1, quantity=2)
    quote(org, product, price="90.00", outcome="lost", quoted=t, contact=l1)
    quote(org, product, price="110.00", outcome="won", quoted=t, contact=l2)
    quote(org, product, price="90.00", outcome="open", quoted=t, contact=l2)
    quote(org, product, price="110.00", outcome="lost", quoted=t, contact=h1)
    quote(org, product, price="110.00", outcome="won", quoted=t, contact=h2)
    quote(org, product, price="110.00", outcome="won", quoted=START - DAY, contact=h2)
    quote(org, make_product(org, "P-OTHER"), price="90.00", outcome="won", quoted=t, contact=l1)
    quote(org, product, price="90.00", outcome="won", quoted=t)


def test_pricing_conversion_counts_decided_quotes_of_the_assigned_variant(org_a, price_test):
    build_quotes(org_a, price_test)
    found = by_key(selectors.measures(price_test, as_of=NOW))
    # low: L1 2 decided + L2 1 decided = 3, won 1 + 1 = 2, L2's 110 quote is off assignment
    assert found["low"] == VariantMeasure("low", n=3, conversions=2, off_assignment=1)
    # high: H1 1 + H2 1 decided, 1 won
    assert found["high"] == VariantMeasure("high", n=2, conversions=1, off_assignment=0)


def test_pricing_revenue_per_quoted_subject(org_a, manager_a, price_test):
    price_test.metric = "revenue_per_contact"
    price_test.save(update_fields=["metric"])
    build_quotes(org_a, price_test)
    found = by_key(selectors.measures(price_test, as_of=NOW))
    # low: L1 won 90 x 2 = 180, L2 won 110 -> 2 subjects, sum 290, squares 180^2 + 110^2 = 44500
    assert found["low"] == VariantMeasure(
        "low", n=2, conversions=2, total=290.0, total_squares=44500.0, off_assignment=1
    )
    # high: H1 0, H2 110 -> sum 110, squares 12100
    assert found["high"] == VariantMeasure(
        "high", n=2, conversions=1, total=110.0, total_squares=12100.0, off_assignment=0
    )


def test_a_lead_without_contact_is_its_own_subject_and_a_leads_contact_is_the_contact(org_a, price_test):
    variants = [("low", 0.5), ("high", 0.5)]
    product = price_test.product
    # a lead without a contact: subject lead:<external_id>
    lone = LeadFactory(organization=org_a, external_id="LONE")
    lone_variant = assign(price_test.pk, "lead:LONE", variants)
    quote(org_a, product, price="90.00", outcome="won", quoted=START + DAY, lead=lone)
    # a quote naming only a lead whose contact is X counts for contact X
    contact = ContactFactory(organization=org_a, external_id="XC")
    with_contact = LeadFactory(organization=org_a, external_id="LX", contact=contact)
    contact_variant = assign(price_test.pk, "contact:XC", variants)
    quote(org_a, product, price="110.00", outcome="lost", quoted=START + DAY, lead=with_contact)
    found = by_key(selectors.measures(price_test, as_of=NOW))
    expected = {"low": [0, 0], "high": [0, 0]}
    expected[lone_variant][0] += 1
    expected[lone_variant][1] += 1
    expected[contact_variant][0] += 1
    assert {k: [m.n, m.conversions] for k, m in found.items()} == expected


def test_baselines(org_a, campaign, product):
    # the campaign fixture's control A before START: 4 delivered, 1 replied, 2 read
    reply = selectors.campaign_baseline(org_a, campaign, metric="reply_rate", control_key="A", as_of=START)
    read = selectors.campaign_baseline(org_a, campaign, metric="read_rate", control_key="A", as_of=START)
    assert (reply.rate, reply.n) == (0.25, 4)
    assert read.rate == 0.5
    # the product fixture: 4 won of 10 decided in the last 90 days
    assert selectors.pricing_baseline(org_a, product, metric="conversion_rate", as_of=NOW).rate == 0.4
    # revenue per quoted subject: 4 subjects won 100, 6 won nothing -> mean 40,
    # sd sqrt((4 x 100^2 - 400^2 / 10) / 9) = sqrt(2666.67) = 51.64
    revenue = selectors.pricing_baseline(org_a, product, metric="revenue_per_contact", as_of=NOW)
    assert revenue.rate == 40.0
    assert revenue.sd == pytest.approx(51.6397779)
    # nothing before: no baseline
    empty = selectors.pricing_baseline(
        org_a, make_product(org_a, "P-NEW"), metric="conversion_rate", as_of=NOW
    )
    assert (empty.rate, empty.n) == (None, 0)
