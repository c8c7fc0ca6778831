"""The demo data generator (crm.demo) and `generate_demo_data`: determinism, loading through
the ingestion service with no rejected row, idempotent re-runs, and the patterns the
dashboards rely on (docs/demo-data.md)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import orjson
import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q
from django.db.models.functions import ExtractHour, TruncDate, TruncMonth

from crm.demo.generator import ENTITY_ORDER, DemoConfig, DemoGenerator
from crm.demo.loader import demo_load
from crm.demo.timeline import anomaly_day, months_before, window_start_date
from crm.management.commands.generate_demo_data import parse_as_of
from crm.models import (
    Activity,
    Campaign,
    CampaignMessage,
    ChatMessage,
    CompetitorPrice,
    Contact,
    ContactSnapshot,
    Lead,
    Member,
    Organization,
    Product,
    Quote,
    Role,
    Sale,
    Touchpoint,
)
from tests.factories import MemberFactory, OrganizationFactory

UTC = dt.UTC
NAIROBI = "Africa/Nairobi"
# 12:30 in Nairobi (UTC+3); a Monday.
AS_OF = dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SEED = 7
EXISTING_AGENTS = 2
# PriceHistory is left out: loading products also records their list price at the real
# time of the load (pricing.listeners), which differs between loads.
DEMO_MODELS = (
    Product,
    Contact,
    Campaign,
    Lead,
    Activity,
    Sale,
    CampaignMessage,
    Touchpoint,
    ChatMessage,
    Quote,
    CompetitorPrice,
)


def _config(seed: int = SEED, scale: str = "small") -> DemoConfig:
    emails = tuple(f"agent{i}@demo.test" for i in range(8))
    return DemoConfig(
        seed=seed, scale=scale, as_of=AS_OF, agent_emails=emails, timezone=NAIROBI, currency="KES"
    )


def _all_records(config: DemoConfig) -> dict[str, list[dict]]:
    generator = DemoGenerator(config)
    records: dict[str, list[dict]] = {
        "products": generator.product_records(),
        "campaigns": generator.campaign_records(),
    }
    for chunk in generator.chunks():
        for entity, rows in chunk.items():
            records.setdefault(entity, []).extend(rows)
    records.update(generator.pricing_records())
    return records


@pytest.fixture(scope="module")
def small_records() -> dict[str, list[dict]]:
    return _all_records(_config())


# --- the generator alone (no database) ---------------------------------------------------


def test_generator_is_deterministic_and_seed_dependent(small_records):
    # given the same configuration twice, and another seed
    again = _all_records(_config())
    other = _all_records(_config(seed=SEED + 1))

    # then the records are identical, and another seed gives other records
    assert again == small_records
    assert other["leads"] != small_records["leads"]


def test_small_scale_volumes(small_records):
    counts = {entity: len(rows) for entity, rows in small_records.items()}

    assert set(counts) == set(ENTITY_ORDER)
    assert 300 <= counts["leads"] <= 500
    assert 2000 <= counts["activities"] <= 6000
    assert counts["sales"] > 200
    assert counts["campaign_messages"] > 500
    assert counts["messages"] > 500


def test_nothing_happens_at_or_after_as_of(small_records):
    as_of = AS_OF.isoformat()
    for entity, rows in small_records.items():
        for row in rows:
            for column, value in row.items():
                # ended_at of a running campaign is its planned end.
                if column.endswith("_at") and value and column != "ended_at":
                    assert value < as_of, (entity, row["external_id"], column)


def test_phone_numbers_are_valid_and_from_several_countries(small_records):
    regions = Counter()
    for contact in small_records["contacts"]:
        number = phonenumbers.parse(contact["phone"])
        assert phonenumbers.is_valid_number(number), contact["phone"]
        regions[phonenumbers.region_code_for_number(number)] += 1

    assert len(regions) >= 5
    assert regions.most_common(1)[0][0] == "KE"


def test_phone_prefixes_stay_valid_on_a_large_sample():
    # given contacts of the medium scale's first chunks (every prefix many times)
    generator = DemoGenerator(_config(scale="medium"))
    chunks = generator.chunks()
    contacts = [row for _ in range(3) for row in next(chunks)["contacts"]]

    invalid = [
        c["phone"] for c in contacts if not phonenumbers.is_valid_number(phonenumbers.parse(c["phone"]))
    ]

    assert len(contacts) == 3000
    assert invalid == []


def test_medium_and_large_are_streamed_in_chunks():
    medium = DemoGenerator(_config(scale="medium"))
    large = DemoGenerator(_config(scale="large"))

    assert medium.chunk_count == 110  # 110,000 contacts / 1,000 per chunk
    assert large.chunk_count == 1100


@pytest.mark.parametrize(
    ("as_of", "zone", "expected"),
    [
        (dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC), NAIROBI, dt.date(2026, 1, 21)),  # 40 days before Mar 2
        # 22:30 UTC is already the next day in Nairobi: 40 days before Mar 3
        (dt.datetime(2026, 3, 2, 22, 30, tzinfo=UTC), NAIROBI, dt.date(2026, 1, 22)),
        (dt.datetime(2026, 3, 2, 22, 30, tzinfo=UTC), "UTC", dt.date(2026, 1, 21)),
        (dt.datetime(2025, 1, 10, 0, 0, tzinfo=UTC), "America/New_York", dt.date(2024, 11, 30)),  # Jan 9 - 40
    ],
)
def test_anomaly_day_is_40_local_days_before_as_of(as_of, zone, expected):
    assert anomaly_day(as_of=as_of, timezone=zone) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 3, 2), 13, dt.date(2025, 2, 2)),
        (dt.date(2026, 3, 31), 13, dt.date(2025, 2, 28)),  # clamped to February's last day
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),  # leap year
        (dt.date(2026, 1, 15), 1, dt.date(2025, 12, 15)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),  # now (09:41:07) floored to the hour
        ("2026-01-15", dt.datetime(2026, 1, 14, 21, 0, tzinfo=UTC)),  # Nairobi midnight = 21:00 UTC
        ("2026-01-15T10:00:00", dt.datetime(2026, 1, 15, 10, 0, tzinfo=UTC)),  # no offset: UTC
        ("2026-01-15T10:00:00+03:00", dt.datetime(2026, 1, 15, 7, 0, tzinfo=UTC)),
    ],
)
def test_parse_as_of(value, expected):
    now = dt.datetime(2026, 3, 2, 9, 41, 7, 123, tzinfo=UTC)

    assert parse_as_of(value, zone=NAIROBI, now=now) == expected


# --- loaded through the ingestion service ----------------------------------------------------


def _org_with_agents(slug: str) -> Organization:
    """An organization that already has two agents (like the demo's agent1 and agent2)."""
    org = OrganizationFactory(slug=slug, name=slug.title(), timezone=NAIROBI, currency="KES")
    for number in range(EXISTING_AGENTS):
        MemberFactory(email=f"agent{number}@{slug}.test", organization=org, role=Role.AGENT)
    return org


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """Organization A loaded once at small scale (committed), removed after this module."""
    with django_db_blocker.unblock():
        org = _org_with_agents("demo-a")
        report = demo_load(organization=org, seed=SEED, scale="small", as_of=AS_OF)
    yield org, report
    with django_db_blocker.unblock():
        Member.objects.filter(organization=org).delete()
        for model in (*DEMO_MODELS, ContactSnapshot):
            model.objects.filter(organization=org).delete()
        org.delete()


def _snapshot(org: Organization) -> dict[str, set[tuple]]:
    """Every demo row of `org`, with references by external_id and agents by their
    position among the org's agents: comparable between organizations."""
    agents = {
        pk: index
        for index, pk in enumerate(
            Member.objects.filter(organization=org, role=Role.AGENT)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    }
    external = {
        "contact_id": dict(Contact.objects.for_org(org).values_list("pk", "external_id")),
        "lead_id": dict(Lead.objects.for_org(org).values_list("pk", "external_id")),
        "campaign_id": dict(Campaign.objects.for_org(org).values_list("pk", "external_id")),
        "product_id": dict(Product.objects.for_org(org).values_list("pk", "external_id")),
    }
    external["last_touch_campaign_id"] = external["campaign_id"]
    snapshot = {}
    for model in DEMO_MODELS:
        names = [f.attname for f in model._meta.concrete_fields if f.name not in ("id", "organization")]
        rows = set()
        for values in model.objects.for_org(org).values_list(*names):
            row = []
            for name, value in zip(names, values, strict=True):
                if name in external:
                    value = external[name].get(value)
                elif name in ("agent_id", "assigned_agent_id"):
                    value = agents.get(value)
                elif isinstance(value, dict | list):
                    value = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
                row.append(value)
            rows.add(tuple(row))
        snapshot[model.__name__] = rows
    return snapshot


@pytest.mark.django_db
def test_small_scale_loads_with_no_rejected_row(loaded):
    org, report = loaded

    assert report.rows_rejected == 0, report.errors[:5]
    assert report.errors == []
    for entity, count in report.counts.items():
        assert count.total > 0, entity
        assert count.stored == count.total, entity
    assert Lead.objects.for_org(org).count() == report.counts["leads"].stored
    assert Activity.objects.for_org(org).count() == report.counts["activities"].stored
    assert not ContactSnapshot.objects.for_org(org).exists()  # the nightly job's business


@pytest.mark.django_db
def test_existing_agents_are_reused_and_topped_up(loaded):
    org, report = loaded
    agents = Member.objects.filter(organization=org, role=Role.AGENT)

    assert report.agents_created == 8 - EXISTING_AGENTS
    assert agents.count() == 8
    assert agents.filter(email="agent0@demo-a.test", leads__isnull=False).exists()
    created = agents.filter(email__endswith="@demo-a.example.com").order_by("pk")
    assert [agent.team for agent in created] == [
        "International",
        "Key Accounts",
        "Nairobi Sales",
        "Coast & Upcountry",
        "International",
        "Key Accounts",
    ]  # TEAMS by position 2..7
    assert created[0].check_password("demo-pass-123")  # one hash shared by all created agents
    assert len({agent.password for agent in created}) == 1


@pytest.mark.django_db
def test_same_seed_and_as_of_give_identical_rows_in_another_org(loaded):
    org_a, _ = loaded
    org_b = _org_with_agents("demo-b")

    report = demo_load(organization=org_b, seed=SEED, scale="small", as_of=AS_OF)

    assert report.rows_rejected == 0
    assert _snapshot(org_b) == _snapshot(org_a)


@pytest.mark.django_db
def test_rerun_is_idempotent(loaded):
    # given organization A already loaded
    org, first = loaded
    before = _snapshot(org)

    # when the command runs again with the same seed and as_of
    out = StringIO()
    call_command(
        "generate_demo_data",
        org.slug,
        seed=SEED,
        scale="small",
        as_of=AS_OF.isoformat(),
        quiet_progress=True,
        stdout=out,
    )

    # then nothing is added or changed
    assert _snapshot(org) == before
    assert {model.__name__: len(rows) for model, rows in zip(DEMO_MODELS, before.values(), strict=True)} == {
        model.__name__: model.objects.for_org(org).count() for model in DEMO_MODELS
    }
    assert Member.objects.filter(organization=org, role=Role.AGENT).count() == 8
    assert "0 rejected" in out.getvalue()
    assert "anomalous day: 2026-01-21" in out.getvalue()


@pytest.mark.django_db
def test_command_refuses_an_unknown_organization():
    with pytest.raises(CommandError, match="No organization"):
        call_command("generate_demo_data", "nope", stdout=StringIO())


# --- what the dashboards rely on ---------------------------------------------------------------


def _window_start(org: Organization) -> dt.datetime:
    first_day = window_start_date(as_of=AS_OF, timezone=org.timezone)
    return dt.datetime.combine(first_day, dt.time(), tzinfo=ZoneInfo(org.timezone))


def _conversion_rates(rows) -> dict:
    return {key: converted / total * 100 for key, total, converted in rows if total}


@pytest.mark.django_db
def test_sources_differ_in_conversion(loaded):
    org, _ = loaded
    rows = (
        Lead.objects.for_org(org)
        .filter(created_at__gte=_window_start(org))
        .values("source")
        .annotate(total=Count("id"), converted=Count("id", filter=Q(converted_at__isnull=False)))
        .values_list("source", "total", "converted")
    )
    rates = _conversion_rates(rows)

    assert rates["Referrals"] > 2 * rates["Paid Ads"]
    assert rates["Paid Ads"] <= 20


@pytest.mark.django_db
def test_agents_differ_in_conversion_response_and_satisfaction(loaded):
    org, _ = loaded
    leads = Lead.objects.for_org(org).filter(assigned_agent__isnull=False)
    rates = _conversion_rates(
        leads.values("assigned_agent")
        .annotate(total=Count("id"), converted=Count("id", filter=Q(converted_at__isnull=False)))
        .values_list("assigned_agent", "total", "converted")
    )
    response_hours = {}
    for agent, assigned, contacted in leads.filter(contacted_at__isnull=False).values_list(
        "assigned_agent", "assigned_at", "contacted_at"
    ):
        response_hours.setdefault(agent, []).append((contacted - assigned).total_seconds() / 3600)
    means = [statistics.mean(hours) for hours in response_hours.values()]
    ratings = leads.filter(satisfaction_rating__isnull=False)

    assert len(rates) == 8  # every agent, the two existing ones included, has leads
    assert max(rates.values()) - min(rates.values()) >= 10  # percentage points
    assert max(means) >= 1.5 * min(means)
    assert ratings.count() >= 40
    assert len(set(ratings.values_list("assigned_agent", flat=True))) >= 6


@pytest.mark.django_db
def test_ab_variants_differ_in_reply_rate(loaded):
    org, _ = loaded
    rows = (
        CampaignMessage.objects.for_org(org)
        .filter(delivered_at__isnull=False)
        .values("campaign__external_id", "variant")
        .annotate(delivered=Count("id"), replied=Count("id", filter=Q(replied_at__isnull=False)))
    )
    totals: dict[str, list[int]] = {}
    per_campaign: dict[str, dict[str, tuple[int, int]]] = {}
    for row in rows:
        delivered, replied = row["delivered"], row["replied"]
        per_campaign.setdefault(row["campaign__external_id"], {})[row["variant"]] = (delivered, replied)
        total = totals.setdefault(row["variant"], [0, 0])
        total[0] += delivered
        total[1] += replied
    reply_rate = {variant: replied / delivered for variant, (delivered, replied) in totals.items()}
    winners, lifts = [], []
    for variants in per_campaign.values():
        if len(variants) < 2 or min(delivered for delivered, _ in variants.values()) < 50:
            continue
        rates = {variant: replied / delivered for variant, (delivered, replied) in variants.items()}
        best = max(rates, key=rates.get)
        winners.append(best)
        lifts.append(rates[best] / max(min(rates.values()), 1e-9))

    # then the challenger B wins overall, A wins some tests, and most tests have a clear winner
    assert set(reply_rate) == {"A", "B"}
    assert reply_rate["B"] >= 1.1 * reply_rate["A"]
    assert set(winners) == {"A", "B"}
    assert sum(lift >= 1.3 for lift in lifts) >= 2 / 3 * len(lifts)


@pytest.mark.django_db
def test_evening_sends_are_read_more(loaded):
    org, _ = loaded
    by_hour = (
        CampaignMessage.objects.for_org(org)
        .filter(delivered_at__isnull=False)
        .annotate(hour=ExtractHour("sent_at", tzinfo=org.tz))
        .values("hour")
        .annotate(delivered=Count("id"), read=Count("id", filter=Q(read_at__isnull=False)))
    )

    def read_rate(hours: range) -> float:
        rows = [row for row in by_hour if row["hour"] in hours]
        return sum(row["read"] for row in rows) / sum(row["delivered"] for row in rows)

    assert read_rate(range(18, 21)) >= 1.1 * read_rate(range(8, 13))


@pytest.mark.django_db
def test_inbound_chat_peaks_in_the_evening(loaded):
    org, _ = loaded
    by_hour = dict(
        ChatMessage.objects.for_org(org)
        .filter(direction="inbound")
        .annotate(hour=ExtractHour("sent_at", tzinfo=org.tz))
        .values("hour")
        .annotate(n=Count("id"))
        .values_list("hour", "n")
    )
    evening = sum(by_hour.get(hour, 0) for hour in (18, 19, 20, 21))

    assert max(by_hour, key=by_hour.get) in (18, 19, 20, 21)
    assert evening / sum(by_hour.values()) >= 0.5


@pytest.mark.django_db
def test_contacts_come_from_at_least_five_countries(loaded):
    org, _ = loaded
    countries = Counter(
        dict(
            Contact.objects.for_org(org).values("country").annotate(n=Count("id")).values_list("country", "n")
        )
    )

    assert len(countries) >= 5
    assert countries.most_common(1)[0][0] == "KE"
    assert "" not in countries


@pytest.mark.django_db
def test_recurring_revenue_in_most_recent_months(loaded):
    org, _ = loaded
    # The last 12 complete local months before as_of: March 2025 to February 2026.
    first = dt.datetime(2025, 3, 1, tzinfo=org.tz)
    last = dt.datetime(2026, 3, 1, tzinfo=org.tz)
    months = set(
        Sale.objects.for_org(org)
        .filter(kind="recurring", closed_at__gte=first, closed_at__lt=last)
        .annotate(month=TruncMonth("closed_at", tzinfo=org.tz))
        .values_list("month", flat=True)
    )
    kinds = set(Sale.objects.for_org(org).values_list("kind", flat=True))

    assert len(months) >= 10
    assert {"new", "recurring", "one_time", "upsell", "renewal"} <= kinds
    assert Sale.objects.for_org(org).filter(amount__lte=Decimal(0)).count() == 0


@pytest.mark.django_db
def test_lead_milestones_are_ordered(loaded):
    org, _ = loaded
    leads = Lead.objects.for_org(org)
    out_of_order = (
        Q(assigned_at__lt=F("created_at"))
        | Q(contacted_at__lt=F("assigned_at"))
        | Q(interested_at__lt=F("contacted_at"))
        | Q(converted_at__lt=F("interested_at"))
        | Q(lost_at__lt=F("created_at"))
        | Q(lost_at__lt=F("contacted_at"))
        | Q(lost_at__lt=F("interested_at"))
        | Q(rated_at__lt=F("converted_at"))
        | Q(contacted_at__isnull=False, assigned_at__isnull=True)
        | Q(interested_at__isnull=False, contacted_at__isnull=True)
        | Q(converted_at__isnull=False, interested_at__isnull=True)
        | Q(converted_at__isnull=False, lost_at__isnull=False)
        | Q(satisfaction_rating__isnull=False, rated_at__isnull=True)
        | Q(assigned_agent__isnull=False, assigned_at__isnull=True)
    )

    assert leads.filter(out_of_order).count() == 0
    assert leads.filter(status="converted").count() == leads.filter(converted_at__isnull=False).count()
    assert leads.filter(status="lost").count() == leads.filter(lost_at__isnull=False).count()
    # Missed opportunities: assigned over a week ago and never reached.
    assert leads.filter(status="new", assigned_at__lt=AS_OF - dt.timedelta(days=7)).exists()
    # Open leads that went cold: contacted, still open, nothing for three weeks.
    assert leads.filter(
        status__in=["contacted", "interested"], contacted_at__lt=AS_OF - dt.timedelta(days=21)
    ).exists()


@pytest.mark.django_db
def test_anomalous_day_has_over_three_times_the_median(loaded):
    org, report = loaded
    per_day = dict(
        ChatMessage.objects.for_org(org)
        .filter(direction="inbound", sent_at__gte=_window_start(org))
        .annotate(day=TruncDate("sent_at", tzinfo=org.tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    first = window_start_date(as_of=AS_OF, timezone=org.timezone)
    days = [first + dt.timedelta(days=i) for i in range((AS_OF.astimezone(org.tz).date() - first).days + 1)]
    median = statistics.median(per_day.get(day, 0) for day in days)

    assert report.anomaly_day == dt.date(2026, 1, 21)
    assert per_day[report.anomaly_day] > 3 * max(median, 1)
    assert max(per_day, key=per_day.get) == report.anomaly_day


@pytest.mark.django_db
def test_activities_follow_the_working_week(loaded):
    org, _ = loaded
    activities = Activity.objects.for_org(org).filter(
        type__in=["call", "email", "meeting"], direction="outbound"
    )
    by_hour = Counter(
        dict(
            activities.annotate(hour=ExtractHour("occurred_at", tzinfo=org.tz))
            .values("hour")
            .annotate(n=Count("id"))
            .values_list("hour", "n")
        )
    )
    weekday = Counter(
        a.astimezone(org.tz).weekday() for a in activities.values_list("occurred_at", flat=True)
    )
    business = sum(n for hour, n in by_hour.items() if 8 <= hour < 18)

    assert business / sum(by_hour.values()) >= 0.9
    assert weekday[6] < weekday[2] / 5  # Sundays far quieter than Wednesdays
    assert activities.filter(type="call", automated=True).exists()
