"""The statistics engine (core/stats): registry, stale marks, refresh, tasks and command.

A test family records the spans it is asked to rebuild, so each rule of the refresh is
checked with hand-picked days; the real families are checked against the raw tables in
tests/agents/test_rollups.py and tests/insights/test_rollups.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from kombu.exceptions import OperationalError as BrokerError

from core import tasks
from core.models import FillState
from core.stats import families as registry
from core.stats.families import Family, families, family_get, family_register
from core.stats.fillstate import hours_trusted_until, trusted_through, window_plan
from core.stats.refresh import statistics_mark_stale, statistics_refresh
from core.stats.rollups import HOUR, coarser_level, hour_level, hour_split, q_columns
from core.timeranges import Window
from crm.events import Ingested
from tests.conftest import require_service

pytestmark = pytest.mark.django_db

# 09:30 UTC on 22 Nov is 12:30 in Nairobi (org_a): yesterday is 21 Nov.
AS_OF = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 11, 21)


class Recorder:
    def __init__(self, earliest: dt.date | None = None) -> None:
        self.spans: list[tuple[dt.date, dt.date]] = []
        self.after: list[dt.datetime] = []
        self.earliest = earliest
        self.during_rebuild = None

    def rebuild(self, *, organization, first_day, last_day) -> int:
        self.spans.append((first_day, last_day))
        if self.during_rebuild:
            self.during_rebuild()
        return (last_day - first_day).days + 1

    def after_refresh(self, *, organization, as_of) -> None:
        self.after.append(as_of)


@pytest.fixture
def recorder():
    """A family "probe" fed by contacts, registered for the test only."""
    rec = Recorder(earliest=dt.date(2026, 10, 1))
    family = Family(
        name="probe",
        stale_entities=frozenset({"contacts"}),
        rebuild=rec.rebuild,
        earliest_day=lambda organization: rec.earliest,
        trailing_days=3,
        after_refresh=rec.after_refresh,
    )
    family_register(family)
    yield rec
    registry._FAMILIES.pop("probe")


def state_of(org, family="probe") -> FillState:
    return FillState.objects.for_org(org).get(family=family)


def test_the_apps_declare_three_families():
    declared = {f.name: f.stale_entities for f in families()}
    assert declared == {
        "agents": frozenset({"leads", "sales"}),
        "insights": frozenset(
            {"leads", "activities", "sales", "campaign_messages", "touchpoints", "sale_attribution"}
        ),
        "performance": frozenset({"leads", "sales", "campaign_messages"}),
    }


def test_a_second_family_under_a_taken_name_is_refused(recorder):
    with pytest.raises(ValueError, match="already registered"):
        family_register(Family("probe", frozenset(), rebuild=len, earliest_day=lambda o: None))
    with pytest.raises(LookupError, match="no statistic family 'nope'"):
        family_get("nope")


def test_first_fill_starts_at_the_first_day_with_data(org_a, recorder):
    span = statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    assert span == (dt.date(2026, 10, 1), YESTERDAY)
    assert recorder.spans == [(dt.date(2026, 10, 1), YESTERDAY)]
    state = state_of(org_a)
    assert (state.filled_through, state.dirty_from, state.version) == (YESTERDAY, None, 0)
    assert recorder.after == [AS_OF]


def test_a_first_fill_goes_back_at_most_the_family_s_first_fill_days(org_a, recorder):
    family = family_get("probe")
    registry._FAMILIES["probe"] = dataclasses.replace(family, first_fill_days=10)
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    # the data starts on 1 Oct, but ten days up to 21 Nov start on 12 Nov
    assert recorder.spans == [(dt.date(2026, 11, 12), YESTERDAY)]
    # once filled, a stale day before that horizon is rebuilt all the same
    FillState.objects.filter(organization=org_a, family="probe").update(dirty_from=dt.date(2026, 10, 5))
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    assert recorder.spans[-1] == (dt.date(2026, 10, 5), YESTERDAY)


def test_first_fill_without_data_rebuilds_only_the_trailing_days(org_a, recorder):
    recorder.earliest = None
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    # trailing_days = 3: 19, 20 and 21 Nov
    assert recorder.spans == [(dt.date(2026, 11, 19), YESTERDAY)]


def test_a_filled_family_rebuilds_the_trailing_days_and_the_stale_ones(org_a, recorder):
    FillState.objects.create(organization=org_a, family="probe", filled_through=dt.date(2026, 11, 20))
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    assert recorder.spans[-1] == (dt.date(2026, 11, 19), YESTERDAY)
    # a stale day before the trailing ones moves the start back to it
    FillState.objects.filter(organization=org_a, family="probe").update(dirty_from=dt.date(2026, 11, 2))
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    assert recorder.spans[-1] == (dt.date(2026, 11, 2), YESTERDAY)
    assert state_of(org_a).dirty_from is None


def test_a_mark_made_during_the_refresh_survives_it(org_a, recorder):
    FillState.objects.create(organization=org_a, family="probe", filled_through=dt.date(2026, 11, 20))
    at = dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC)
    recorder.during_rebuild = lambda: statistics_mark_stale(Ingested(org_a.pk, "contacts", at, at, 1))
    statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
    state = state_of(org_a)
    assert (state.filled_through, state.dirty_from) == (YESTERDAY, dt.date(2026, 11, 21))
    assert trusted_through(state) == dt.date(2026, 11, 20)


def test_marks_move_back_only_in_the_local_day_and_bump_the_version(org_a, recorder):
    FillState.objects.create(organization=org_a, family="probe", filled_through=YESTERDAY)
    # 22:00 UTC on 10 Nov is 01:00 on 11 Nov in Nairobi
    late = dt.datetime(2026, 11, 10, 22, tzinfo=dt.UTC)
    assert statistics_mark_stale(Ingested(org_a.pk, "contacts", late, late, 1)) == ["probe"]
    assert (state_of(org_a).dirty_from, state_of(org_a).version) == (dt.date(2026, 11, 11), 1)
    later = dt.datetime(2026, 11, 15, 9, tzinfo=dt.UTC)
    statistics_mark_stale(Ingested(org_a.pk, "contacts", later, later, 1))
    assert (state_of(org_a).dirty_from, state_of(org_a).version) == (dt.date(2026, 11, 11), 2)


def test_only_the_families_an_entity_feeds_are_marked(org_a, recorder):
    for name in ("probe", "agents", "insights"):
        FillState.objects.create(organization=org_a, family=name, filled_through=YESTERDAY)
    at = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
    assert statistics_mark_stale(Ingested(org_a.pk, "activities", at, at, 1)) == ["insights"]
    assert sorted(statistics_mark_stale(Ingested(org_a.pk, "sales", at, at, 1))) == [
        "agents",
        "insights",
        "performance",
    ]
    assert statistics_mark_stale(Ingested(org_a.pk, "messages", at, at, 1)) == []
    assert statistics_mark_stale(Ingested(org_a.pk, "contacts", None, None, 1)) == []
    assert state_of(org_a, "probe").dirty_from is None
    assert state_of(org_a, "agents").dirty_from == dt.date(2026, 11, 3)


def test_a_mark_queues_one_refresh_per_family_after_commit(
    org_a, recorder, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        tasks, "schedule_statistics_refresh", lambda org_id, name: queued.append((org_id, name))
    )
    at = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        statistics_mark_stale(Ingested(org_a.pk, "leads", at, at, 1))
        assert queued == []
    assert sorted(queued) == [(org_a.pk, "agents"), (org_a.pk, "insights"), (org_a.pk, "performance")]


def test_refresh_is_debounced_per_organization_and_family(org_a, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.refresh_statistics, "apply_async", lambda *a, **k: queued.append(a[0]))
    cache.clear()
    assert tasks.schedule_statistics_refresh(org_a.pk, "agents") is True
    assert tasks.schedule_statistics_refresh(org_a.pk, "agents") is False
    assert tasks.schedule_statistics_refresh(org_a.pk, "insights") is True
    assert queued == [(org_a.pk, "agents"), (org_a.pk, "insights")]


def test_broker_down_leaves_the_stale_mark_for_later(org_a, monkeypatch):
    def refuse(*args, **kwargs):
        raise BrokerError("broker down")

    monkeypatch.setattr(tasks.refresh_statistics, "apply_async", refuse)
    cache.clear()
    assert tasks.schedule_statistics_refresh(org_a.pk, "agents") is False
    # the debounce key is released so the next ingest tries again
    monkeypatch.setattr(tasks.refresh_statistics, "apply_async", lambda *a, **k: None)
    assert tasks.schedule_statistics_refresh(org_a.pk, "agents") is True


def test_the_nightly_fan_out_is_one_task_per_organization_and_family(org_a, org_b, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.refresh_statistics, "delay", lambda *args: queued.append(args))
    assert tasks.refresh_statistics_all("2026-11-22T09:30:00+00:00") == 6
    assert sorted(queued) == sorted(
        (org.pk, name, "2026-11-22T09:30:00+00:00")
        for org in (org_a, org_b)
        for name in ("agents", "insights", "performance")
    )


def test_the_task_refreshes_and_reports_its_span(org_a, recorder):
    assert tasks.refresh_statistics(org_a.pk, "probe", AS_OF.isoformat()) == "2026-10-01..2026-11-21"
    assert tasks.refresh_statistics(org_a.pk, "probe", AS_OF.isoformat()) == "2026-11-19..2026-11-21"


def test_the_command_rebuilds_the_last_days_and_refreshes(org_a, recorder, capsys, time_machine):
    time_machine.move_to(AS_OF, tick=False)
    call_command("rebuild_statistics", "acme", family=["probe"], days=2)
    out = capsys.readouterr().out
    assert "probe: 2 rows rewritten for the last 2 days." in out
    assert "probe: up to date (2026-10-01 .. 2026-11-21 rebuilt)." in out
    assert recorder.spans == [(dt.date(2026, 11, 20), YESTERDAY), (dt.date(2026, 10, 1), YESTERDAY)]


def test_the_command_refuses_bad_input(org_a, recorder):
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        call_command("rebuild_statistics", "nope")
    with pytest.raises(CommandError, match="--days must be between 0 and 3660"):
        call_command("rebuild_statistics", "acme", days=-1)


@pytest.mark.parametrize(
    ("trusted", "rollup_days", "live"),
    [
        # Nairobi (UTC+3): the window 10 Nov 09:00 UTC .. 22 Nov 09:30 UTC is 12:00 on 10 Nov
        # to 12:30 on 22 Nov locally, so the whole days are 11 to 21 Nov (times below in UTC)
        (None, None, [("2026-11-10T09:00", "2026-11-22T09:30")]),
        (
            dt.date(2026, 11, 21),
            (dt.date(2026, 11, 11), dt.date(2026, 11, 21)),
            [("2026-11-10T09:00", "2026-11-10T21:00"), ("2026-11-21T21:00", "2026-11-22T09:30")],
        ),
        (
            dt.date(2026, 11, 15),
            (dt.date(2026, 11, 11), dt.date(2026, 11, 15)),
            [("2026-11-10T09:00", "2026-11-10T21:00"), ("2026-11-15T21:00", "2026-11-22T09:30")],
        ),
        (dt.date(2026, 11, 9), None, [("2026-11-10T09:00", "2026-11-22T09:30")]),
    ],
)
def test_window_plan_splits_trusted_days_from_the_live_rest(org_a, trusted, rollup_days, live):
    window = Window(dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC), AS_OF)
    plan = window_plan(window, tz=org_a.tz, trusted_last_day=trusted)
    assert plan.rollup_days == rollup_days
    utc = [tuple(t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") for t in span) for span in plan.live_ranges]
    assert utc == live


def test_q_columns_names_every_column_a_where_uses():
    where = Q(kind="recurring") & (Q(region__in=["North"]) | ~Q(agent_id=3))
    assert q_columns(where) == {"kind", "region", "agent_id"}
    assert q_columns(None) == set()


def test_the_coarsest_level_with_the_needed_keys_answers():
    from insights.selectors import SALES

    total, hours = SALES.coarser
    assert coarser_level(SALES, needed=set()) is total
    assert coarser_level(SALES, needed={"kind"}) is total
    assert coarser_level(SALES, needed={"kind", "region"}) is SALES
    assert coarser_level(SALES, needed={"agent_id"}) is SALES
    # the hour level answers the same reads' whole hours, never a day read
    assert hour_level(SALES, needed={"kind"}) is hours
    assert hour_level(SALES, needed={"region"}) is None
    assert hours.period == HOUR
    assert hours.keys == {"kind": "kind"}
    # the levels are rebuilt finest first, each day level from the finer rows, the hours
    # (finer in time) from the raw rows
    assert SALES.levels() == (SALES, total, hours)
    assert total.rebuilt_from.model is SALES.model
    assert hours.rebuilt_from is None


@pytest.mark.django_db(transaction=True)
def test_a_second_refresh_of_the_family_waits_for_the_running_one(org_a, recorder):
    """Two refreshes at once would both delete and both insert the same rollup days: the
    second waits for the first (an advisory lock on PostgreSQL; SQLite has one writer)."""
    require_service("PostgreSQL (the advisory lock is PostgreSQL's)", connection.vendor == "postgresql")
    import threading

    import psycopg

    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        password=settings_dict["PASSWORD"] or None,
        autocommit=True,
    )
    # What a running refresh of org_a's "probe" family holds.
    other.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"core.stats:{org_a.pk}:probe"])
    done = threading.Event()

    def refresh() -> None:
        try:
            statistics_refresh(organization=org_a, family="probe", as_of=AS_OF)
            done.set()
        finally:
            connection.close()

    worker = threading.Thread(target=refresh)
    worker.start()
    try:
        assert not done.wait(1.0), "the refresh ran while another held the family"
    finally:
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"core.stats:{org_a.pk}:probe"])
        other.close()
    worker.join(30)
    assert done.is_set()
    assert recorder.spans == [(dt.date(2026, 10, 1), YESTERDAY)]


def _utc(hour: int, minute: int = 0, day: int = 22) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def test_hour_split_reads_the_whole_hours_that_end_by_until():
    # whole hours inside, the minutes either side live
    assert hour_split(((_utc(8, 20), _utc(13, 40)),), until=_utc(12)) == (
        [(_utc(8, 20), _utc(9)), (_utc(12), _utc(13, 40))],
        [(_utc(9), _utc(12))],
    )
    # no whole hour inside: all live
    assert hour_split(((_utc(8, 20), _utc(9, 40)),), until=_utc(12)) == ([(_utc(8, 20), _utc(9, 40))], [])
    # aligned on hours: nothing live
    assert hour_split(((_utc(8), _utc(10)),), until=_utc(12)) == ([], [(_utc(8), _utc(10))])
    # the hours are trusted only before `until`
    assert hour_split(((_utc(8), _utc(10)),), until=_utc(7)) == ([(_utc(8), _utc(10))], [])
    # a half-hour time zone's midnight (18:30 UTC) starts inside an hour
    assert hour_split(((_utc(18, 30, day=21), _utc(9, 30)),), until=_utc(9)) == (
        [(_utc(18, 30, day=21), _utc(19, day=21)), (_utc(9), _utc(9, 30))],
        [(_utc(19, day=21), _utc(9))],
    )


@pytest.mark.parametrize(
    ("filled", "dirty", "hours", "expected"),
    [
        (None, None, None, None),
        # the hours of the last intraday refresh
        (dt.date(2026, 11, 21), None, _utc(9), _utc(9)),
        # an intraday refresh older than the last filled day counts for nothing
        (dt.date(2026, 11, 21), None, _utc(3, day=20), _utc(8)),
        # stale today: up to local midnight only
        (dt.date(2026, 11, 21), dt.date(2026, 11, 22), _utc(9), _utc(8)),
        # stale from an older day: up to that day's midnight
        (dt.date(2026, 11, 21), dt.date(2026, 11, 10), _utc(9), _utc(8, day=10)),
    ],
)
def test_hours_are_trusted_up_to_the_last_intraday_refresh_unless_stale(filled, dirty, hours, expected):
    tz = zoneinfo.ZoneInfo("America/Los_Angeles")  # midnight is 08:00 UTC in November
    state = (
        None if filled is None else FillState(filled_through=filled, dirty_from=dirty, hours_through=hours)
    )
    assert hours_trusted_until(state, tz) == expected


def test_the_intraday_fan_out_is_one_task_per_organization_and_family_with_hours(org_a, org_b, monkeypatch):
    queued = []
    monkeypatch.setattr(
        tasks.refresh_statistics_hours, "apply_async", lambda args, **options: queued.append((args, options))
    )
    assert tasks.refresh_statistics_hours_all("2026-11-22T09:30:00+00:00") == 2
    assert sorted(args for args, _ in queued) == sorted(
        (org.pk, "insights", "2026-11-22T09:30:00+00:00") for org in (org_a, org_b)
    )
    # a backlog never runs an old intraday refresh after the next one
    assert all(options["expires"] <= 300 for _, options in queued)
