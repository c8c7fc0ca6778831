import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from crm.models import AuditLog, ContactSnapshot, Member, Organization
from crm.snapshots import contact_snapshots_rebuild, last_complete_local_day
from tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_create_org_and_add_member(capsys):
    call_command("create_org", "kenya", name="Kenya Sales", timezone="Africa/Nairobi", currency="kes")
    call_command(
        "add_member", "kenya", "Jo@Example.com", role="manager", password="s3cret-pass", team="North"
    )
    org = Organization.objects.get(slug="kenya")
    member = Member.objects.get(email="jo@example.com")
    assert (org.timezone, org.currency) == ("Africa/Nairobi", "KES")
    assert (member.organization, member.role, member.team) == (org, "manager", "North")
    assert member.check_password("s3cret-pass")
    assert AuditLog.objects.filter(action__in=["organization.create", "member.add"]).count() == 2


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (["create_org", "x"], {"name": "X", "timezone": "Mars/Base"}, "Unknown time zone"),
        (["add_member", "missing", "a@b.c"], {"role": "agent", "password": "p"}, "No organization"),
    ],
)
def test_commands_fail_with_clear_message(args, kwargs, message):
    with pytest.raises(CommandError, match=message):
        call_command(*args, **kwargs)


def test_add_member_twice_is_refused(org_a, agent_a):
    with pytest.raises(CommandError, match="already exists"):
        call_command("add_member", org_a.slug, agent_a.email, role="agent", password="x")


def test_snapshot_counts_local_days_and_is_idempotent():
    # given a Nairobi (UTC+3) organization; local 1 Mar starts at 28 Feb 21:00 UTC
    org = OrganizationFactory(slug="snaps", timezone="Africa/Nairobi")
    start_1_mar = dt.datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
    for offset in (
        -dt.timedelta(days=10),  # before the range: counted in totals only
        -dt.timedelta(seconds=1),  # 28 Feb 23:59:59 local
        dt.timedelta(0),  # 1 Mar 00:00 local
        dt.timedelta(hours=23, minutes=59),  # 1 Mar 23:59 local
        dt.timedelta(days=2, hours=1),  # 3 Mar local
    ):
        ContactFactory(organization=org, created_at=start_1_mar + offset)
    # when 28 Feb .. 3 Mar is rebuilt twice
    for _ in range(2):
        written = contact_snapshots_rebuild(
            organization=org, first_day=dt.date(2026, 2, 28), last_day=dt.date(2026, 3, 3)
        )
    # then one row per day: totals 2, 4, 4, 5 and new 1, 2, 0, 1 (counted by hand above)
    assert written == 4
    rows = list(
        ContactSnapshot.objects.for_org(org)
        .order_by("day")
        .values_list("day", "total_contacts", "new_contacts")
    )
    assert rows == [
        (dt.date(2026, 2, 28), 2, 1),
        (dt.date(2026, 3, 1), 4, 2),
        (dt.date(2026, 3, 2), 4, 0),
        (dt.date(2026, 3, 3), 5, 1),
    ]


def test_last_complete_local_day_uses_the_organizations_zone():
    org = Organization(timezone="Africa/Nairobi")
    # 22 Nov 22:30 UTC is already 23 Nov 01:30 in Nairobi, so 22 Nov is complete
    assert last_complete_local_day(organization=org, as_of=dt.datetime(2026, 11, 22, 22, 30, tzinfo=UTC)) == (
        dt.date(2026, 11, 22)
    )


def test_snapshot_task_runs_for_one_org(org_a):
    from crm.tasks import snapshot_contacts

    ContactFactory(organization=org_a, created_at=dt.datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert snapshot_contacts(org_a.pk, "2026-11-20") == 1
    assert ContactSnapshot.objects.for_org(org_a).get().total_contacts == 1
