"""The pure parts of the opportunities (no database): customer state, cross-sell lines, the
signal rules on hand-built aggregates, labels, fallback, the model, the calibration report,
the value rule and the wording (docs/metrics.md, "Opportunities").

AS_OF = 2 Mar 2026 09:00 UTC; every instant is a whole number of days before it.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from insights.bi.opportunities import model, rules
from insights.bi.opportunities.value import (
    ALL_SALES,
    KIND,
    KIND_LINE,
    KIND_LINE_REGION,
    DealSizes,
    ValueEstimate,
    estimate_value,
)
from insights.bi.opportunities.wording import opportunity_wording

AS_OF = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def sales(*rows: tuple) -> pd.DataFrame:
    """(contact, line, kind, n, total, first days ago, last days ago) aggregates."""
    return pd.DataFrame(
        [
            (c, line, kind, float(n), float(total), ago(first), ago(last))
            for c, line, kind, n, total, first, last in rows
        ],
        columns=list(rules.SALES_COLUMNS),
    )


def facts(*, sale_rows=(), leads=(), activities=(), replies=(), chats=()) -> rules.SignalFacts:
    """Hand-built aggregates in the selectors' shapes; leads are (contact, lost days ago or None,
    new leads in the window), activities (contact, interactions, inbound, meetings, days ago)."""
    lead_frame = pd.DataFrame(
        [
            (
                c,
                100 + c,
                "Nairobi",
                "Pro",
                7,
                1,
                0,
                int(lost is not None),
                None if lost is None else ago(lost),
                ago(5 if new else 400),
                new,
            )
            for c, lost, new in leads
        ],
        columns=list(rules.LEADS_COLUMNS),
    )
    return rules.SignalFacts(
        as_of=AS_OF,
        sales=sales(*sale_rows) if sale_rows else pd.DataFrame(columns=list(rules.SALES_COLUMNS)),
        leads=lead_frame,
        activities=pd.DataFrame(
            [
                (c, n, inbound, meetings, ago(days) if inbound else None)
                for c, n, inbound, meetings, days in activities
            ],
            columns=list(rules.ACTIVITY_COLUMNS),
        ),
        replies=pd.DataFrame([(c, 1, ago(days)) for c, days in replies], columns=list(rules.REPLY_COLUMNS)),
        chats=pd.DataFrame([(c, 1, ago(days)) for c, days in chats], columns=list(rules.CHAT_COLUMNS)),
    )


def signal_types(f: rules.SignalFacts, *, notice: int = 30, quiet: int = 90) -> dict[int, set[str]]:
    frame = rules.candidate_signals(f, renewal_notice_days=notice, quiet_days=quiet)
    result: dict[int, set[str]] = {}
    for contact, kind in zip(frame["contact_id"], frame["type"], strict=True):
        result.setdefault(int(contact), set()).add(kind)
    return result


# --- customer state ---------------------------------------------------------------------------

MONTHLY = [(1, "Pro", "new", 1, 100, 200, 200), (1, "Pro", "recurring", 6, 600, 170, 20)]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # new 200 days ago + 6 recurring 170..20: cadence (200 - 20) / (7 - 1) = 30, due 30 - 20
        (
            MONTHLY,
            {
                "subscription": "recurring",
                "cadence_days": 30,
                "due_in_days": 10,
                "churned": False,
                "active": True,
                "current_line": "Pro",
                "mean_payment": 100,
            },
        ),
        # one contract payment 350 days ago: a year's term, due in 365 - 350 = 15 days
        (
            [(1, "Ent", "new", 1, 9000, 350, 350)],
            {
                "subscription": "contract",
                "cadence_days": 365,
                "due_in_days": 15,
                "churned": False,
                "active": True,
            },
        ),
        # renewals 740 and 375 days ago: cadence 365, due 365 - 375 = -10; mean 20000 / 2
        (
            [(1, "Ent", "renewal", 2, 20000, 740, 375)],
            {"cadence_days": 365, "due_in_days": -10, "mean_payment": 10000, "churned": False},
        ),
        # monthly until 90 days ago: 90 > 1.5 x 30, churned and not active
        (
            [(1, "Pro", "new", 1, 100, 300, 300), (1, "Pro", "recurring", 7, 700, 270, 90)],
            {"cadence_days": 30, "churned": True, "active": False},
        ),
        # one recurring payment only: monthly by default, paid 40 days ago (< 45): not churned
        ([(1, "Pro", "recurring", 1, 100, 40, 40)], {"cadence_days": 30, "churned": False, "active": True}),
        # one-off buyers are customers for ONE_OFF_ACTIVE_DAYS after their last purchase
        ([(1, "Add-ons", "one_time", 1, 50, 300, 300)], {"subscription": "", "active": True}),
        ([(1, "Add-ons", "one_time", 1, 50, 400, 400)], {"subscription": "", "active": False}),
        # upgraded: the current line is the one of the latest subscription payment
        (
            [
                (1, "Starter", "new", 1, 30, 300, 300),
                (1, "Starter", "recurring", 5, 150, 270, 150),
                (1, "Pro", "recurring", 4, 400, 120, 30),
                (1, "Add-ons", "one_time", 1, 50, 10, 10),
            ],
            {
                "current_line": "Pro",
                "mean_payment": 100,
                "lines_owned": 3,
                "n_purchases": 11,
                "total_spend": 630,
            },
        ),
    ],
)
def test_customer_state(rows, expected):
    state = rules.customer_state(sales(*rows), as_of=AS_OF).loc[1]

    for key, value in expected.items():
        assert state[key] == (pytest.approx(value) if isinstance(value, float | int) else value), key


def test_customer_state_of_no_sales_is_empty():
    assert rules.customer_state(pd.DataFrame(columns=list(rules.SALES_COLUMNS)), as_of=AS_OF).empty


# --- cross-sell lines --------------------------------------------------------------------------


def test_cross_sell_line_is_the_most_co_purchased_line_the_contact_lacks():
    # Pro owners 1-6; 1-4 also own Add-ons, 5 Analytics; 7 owns Starter and Add-ons.
    owned = {
        1: ["Pro", "Add-ons"],
        2: ["Pro", "Add-ons"],
        3: ["Pro", "Add-ons"],
        4: ["Pro", "Add-ons"],
        5: ["Pro", "Analytics"],
        6: ["Pro"],
        7: ["Starter", "Add-ons"],
        8: ["Starter"],
    }
    rows = [(c, line, "new", 1, 1, 100, 100) for c, lines in owned.items() for line in lines]

    lines = rules.cross_sell_lines(sales(*rows))

    # 6: Add-ons owners among Pro owners 4 / 6; Analytics has 1 co-owner (< 3): not a candidate
    assert lines.loc[6].to_dict() == {
        "recommended_line": "Add-ons",
        "based_on_line": "Pro",
        "cross_share": pytest.approx(4 / 6),
        "co_owners": 4,
    }
    # 7: 4 of the 5 Add-ons owners own Pro (Starter -> Pro has no co-owner): Pro, 4 / 5
    assert lines.loc[7, ["recommended_line", "based_on_line"]].tolist() == ["Pro", "Add-ons"]
    assert lines.loc[7, "cross_share"] == pytest.approx(4 / 5)
    # 8: Starter owners are 7 and 8, one of them owns Add-ons (< 3 co-owners): nothing;
    # 1-4 own Add-ons and Pro -> Analytics is too rare: nothing; 5 lacks Add-ons: 4 / 6
    assert set(lines.index) == {5, 6, 7}


# --- the rules on hand-built aggregates -----------------------------------------------------------


def test_signals_need_engagement_and_respect_quiet_periods():
    f = facts(
        sale_rows=[
            *MONTHLY,  # contact 1: engaged by a campaign reply
            (2, "Pro", "new", 1, 100, 200, 200),
            (2, "Pro", "recurring", 6, 600, 170, 20),  # not engaged
            (3, "Pro", "new", 1, 100, 200, 200),
            (3, "Pro", "recurring", 6, 600, 170, 20),
            (3, "Pro", "upsell", 1, 30, 60, 60),  # upsold 60 days ago, chatting
        ],
        leads=[(1, None, 0), (2, None, 0), (3, None, 0)],
        replies=[(1, 4)],
        chats=[(3, 2)],
    )

    found = signal_types(f)

    assert found[1] == {"upsell"}  # no one owns another line: no cross-sell
    assert 2 not in found
    assert 3 not in found
    # with a 30-day quiet period the upsell 60 days ago no longer blocks
    assert signal_types(f, quiet=30)[3] == {"upsell"}


def test_win_back_needs_a_customer_initiated_contact_after_the_lapse():
    f = facts(
        sale_rows=[
            (1, "Pro", "new", 1, 100, 300, 300),
            (1, "Pro", "recurring", 7, 700, 270, 90),
            (2, "Pro", "new", 1, 100, 300, 300),
            (2, "Pro", "recurring", 7, 700, 270, 90),
        ],
        leads=[(1, None, 0), (2, None, 0), (3, 100, 0), (4, 2, 0), (5, 50, 1)],
        # 2 only got an outbound call; 4 wrote 3 days ago, before being lost 2 days ago
        activities=[(2, 1, 0, 0, 5)],
        chats=[(1, 5), (4, 3)],
        replies=[(3, 3)],
    )

    found = signal_types(f)

    # 1 churned and wrote; 3 was lost and replied; 5 was lost and came back with a new lead
    assert {c for c, kinds in found.items() if "win_back" in kinds} == {1, 3, 5}


def test_renewal_window():
    contracts = [
        (c, "Ent", "new", 1, 9000, days, days) for c, days in ((1, 350), (2, 300), (3, 385), (4, 378))
    ]
    f = facts(sale_rows=contracts, leads=[(c, None, 0) for c in range(1, 5)])

    # due in 15, 65, -20 and -13 days: notice 30 and grace 15 keep 1 and 4
    assert {c for c, kinds in signal_types(f).items() if "renewal" in kinds} == {1, 4}
    assert {c for c, kinds in signal_types(f, notice=70).items() if "renewal" in kinds} == {1, 2, 4}


def test_no_data_gives_no_signals():
    frame = rules.candidate_signals(facts(), renewal_notice_days=30, quiet_days=90)

    assert frame.empty
    assert list(frame.columns) == list(rules.SIGNAL_COLUMNS)


# --- labels, snapshots, fallback -----------------------------------------------------------------


def test_training_snapshots():
    first = dt.datetime(2024, 12, 1, 9, tzinfo=dt.UTC)

    times = model.training_snapshots(as_of=AS_OF, first_sale_at=first)

    # as_of - 60 - 30k for k = 0..11 (the oldest 5 Feb 2025), all after first + 60 days
    # (30 Jan 2025); a first sale on 1 Jan 2025 would leave 11 (5 Feb < 2 Mar)
    assert len(times) == 12
    assert times[-1] == AS_OF - dt.timedelta(days=60)
    assert times[0] == AS_OF - dt.timedelta(days=60 + 30 * 11)
    # a first sale on 1 Nov 2025: snapshots from 31 Dec 2025 on, so only as_of - 60 (1 Jan 2026)
    assert model.training_snapshots(
        as_of=AS_OF, first_sale_at=dt.datetime(2025, 11, 1, 9, tzinfo=dt.UTC)
    ) == [AS_OF - dt.timedelta(days=60)]
    assert model.training_snapshots(as_of=AS_OF, first_sale_at=None) == []


@pytest.mark.parametrize(
    ("signal_type", "kind", "line", "converted"),
    [
        ("upsell", "upsell", "Pro", True),
        ("upsell", "expansion", "Pro", False),
        ("expansion", "expansion", "Ent", True),
        ("renewal", "renewal", "Ent", True),
        ("renewal", "recurring", "Ent", True),
        ("renewal", "new", "Ent", False),
        ("cross_sell", "cross_sell", "Analytics", True),  # any cross-sell sale
        ("cross_sell", "one_time", "Add-ons", True),  # the recommended line bought otherwise
        ("cross_sell", "one_time", "Analytics", False),
        ("cross_sell", "upsell", "Add-ons", False),
        ("win_back", "new", "Starter", True),
        ("win_back", "recurring", "Pro", True),
    ],
)
def test_signal_labels(signal_type, kind, line, converted):
    signals = pd.DataFrame(
        {"contact_id": [1, 2], "type": [signal_type] * 2, "recommended_line": ["Add-ons"] * 2}
    )
    outcomes = pd.DataFrame({"contact_id": [1], "kind": [kind], "product_line": [line], "n": [1]})

    # contact 2 bought nothing: never converted
    assert model.signal_labels(signals, outcomes).tolist() == [converted, False]


@pytest.mark.parametrize(
    ("signal_type", "examples", "converted", "rate"),
    [
        ("upsell", 0, 0, 0.10),  # no history: the prior
        ("upsell", 30, 3, 0.10),  # (3 + 20 x 0.10) / (30 + 20) = 5 / 50
        ("renewal", 5, 5, 0.76),  # (5 + 20 x 0.70) / 25 = 19 / 25
        ("win_back", 180, 0, 0.005),  # (0 + 20 x 0.05) / 200 = 1 / 200
    ],
)
def test_smoothed_rate(signal_type, examples, converted, rate):
    assert model.smoothed_rate(
        signal_type=signal_type, examples=examples, converted=converted
    ) == pytest.approx(rate)


def training(rows_per_type: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """(examples, converted) per type; features random, the converted ones have meetings."""
    rng = np.random.default_rng(seed)
    frames = []
    for kind, (examples, converted) in rows_per_type.items():
        frame = pd.DataFrame(rng.random((examples, len(rules.FEATURES))), columns=list(rules.FEATURES))
        labels = np.zeros(examples, dtype=bool)
        labels[:converted] = True
        frame["meetings"] += labels * 1.0
        frames.append(frame.assign(type=kind, converted=labels, contact_id=np.arange(examples)))
    return pd.concat(frames, ignore_index=True)


def test_types_with_too_little_history_fall_back():
    # 100 examples with 20 of each outcome is the least a type needs
    histories = model.type_histories(
        training({"upsell": (100, 20), "cross_sell": (99, 30), "renewal": (100, 80), "win_back": (200, 19)})
    )

    assert {t: h.method for t, h in histories.items()} == {
        "upsell": "model",
        "cross_sell": "fallback",
        "renewal": "model",
        "expansion": "fallback",
        "win_back": "fallback",
    }
    assert histories["expansion"].examples == 0
    assert histories["expansion"].smoothed_rate == pytest.approx(0.10)


def test_fallback_model_predicts_the_smoothed_rates():
    fitted = model.confidence_model_fit(training({"upsell": (30, 3)}))
    signals = training({"upsell": (2, 0), "renewal": (1, 0)})

    assert fitted.estimator is None
    assert fitted.probabilities(signals).tolist() == pytest.approx([0.10, 0.10, 0.70])
    assert fitted.method("upsell") == "fallback"


def test_model_is_deterministic_and_calibrated_in_the_large():
    data = training({"upsell": (600, 90), "cross_sell": (400, 40)})

    first, second = model.confidence_model_fit(data), model.confidence_model_fit(data)
    p = first.probabilities(data)

    assert first.modelled_types == ("upsell", "cross_sell")
    assert np.array_equal(p, second.probabilities(data))
    # maximum likelihood with an intercept: the mean confidence is the training rate 130 / 1000
    assert p.mean() == pytest.approx(0.13, abs=0.002)
    # the meetings separate the converted ones
    assert p[data["converted"]].mean() > 0.5 > p[~data["converted"]].mean()


# --- the calibration report ------------------------------------------------------------------


def test_calibration_report():
    report = model.calibration_report(
        converted=np.array([0, 1, 1, 0, 1]), probabilities=np.array([0.05, 0.1, 0.95, 1.0, 0.15])
    )

    # 0.1 sits on an edge: the upper bin; 1.0 goes to the last bin
    assert [(b.low, b.count, b.mean_predicted, b.observed_rate) for b in report.bins] == [
        (0.0, 1, pytest.approx(0.05), 0.0),
        (0.1, 2, pytest.approx(0.125), 1.0),
        (0.9, 2, pytest.approx(0.975), 0.5),
    ]
    # (0.05² + 0.9² + 0.05² + 1² + 0.85²) / 5 = 2.5375 / 5
    assert report.brier == pytest.approx(0.5075)
    # base rate 3 / 5: (2 x 0.6² + 3 x 0.4²) / 5 = 0.24
    assert (report.base_rate, report.base_rate_brier) == (pytest.approx(0.6), pytest.approx(0.24))


def test_calibration_report_of_nothing():
    report = model.calibration_report(converted=np.array([]), probabilities=np.array([]))

    assert (report.bins, report.count) == ((), 0)
    assert math.isnan(report.brier)


# --- estimated value --------------------------------------------------------------------------

SIZES = DealSizes(
    levels={
        KIND_LINE_REGION: {("upsell", "Pro", "North"): (200.0, 3), ("upsell", "Pro", "South"): (700.0, 2)},
        KIND_LINE: {("upsell", "Pro"): (300.0, 5), ("cross_sell", "Add-ons"): (240.0, 4)},
        KIND: {("upsell",): (250.0, 6), ("renewal",): (9000.0, 3), ("new",): (100.0, 2)},
        ALL_SALES: {(): (120.0, 1)},
    }
)


@pytest.mark.parametrize(
    ("kind", "line", "region", "own", "expected"),
    [
        ("upsell", "Pro", "North", None, ValueEstimate(200, "kind_line_region_median", 3)),
        # South has 2 sales (< 3): the Pro upsells
        ("upsell", "Pro", "South", None, ValueEstimate(300, "kind_line_median", 5)),
        ("upsell", "Starter", "North", None, ValueEstimate(250, "kind_median", 6)),
        ("cross_sell", "Add-ons", "North", None, ValueEstimate(240, "kind_line_median", 4)),
        # no expansion sold yet: every sale's median, even over one sale
        ("expansion", "Ent", "North", None, ValueEstimate(120, "all_sales_median", 1)),
        # win-back is valued as a first sale ("new": 2 sales < 3), so every sale
        ("win_back", "Pro", "North", None, ValueEstimate(120, "all_sales_median", 1)),
        # a renewal renews the contact's own contract
        ("renewal", "Ent", "North", 10000.0, ValueEstimate(10000, "own_payment", 1)),
        ("renewal", "Ent", "North", None, ValueEstimate(9000, "kind_median", 3)),
    ],
)
def test_estimated_value(kind, line, region, own, expected):
    value = estimate_value(
        deal_sizes=SIZES, opportunity_type=kind, product_line=line, region=region, own_payment=own
    )

    assert value == expected


def test_no_sales_give_no_value():
    value = estimate_value(
        deal_sizes=DealSizes(levels={}), opportunity_type="upsell", product_line="", region=""
    )

    assert value == ValueEstimate(None, "no_sales", 0)


# --- wording -----------------------------------------------------------------------------------


def test_wording_is_plain_json_for_every_type():
    f = facts(
        sale_rows=[
            *MONTHLY,
            (2, "Ent", "new", 1, 9000, 350, 350),
            (3, "Pro", "new", 1, 100, 300, 300),
            (3, "Pro", "recurring", 7, 700, 270, 90),
        ],
        leads=[(1, None, 0), (2, None, 0), (3, None, 0)],
        activities=[(1, 2, 1, 1, 3)],
        chats=[(3, 5)],
    )
    frame = rules.candidate_signals(f, renewal_notice_days=30, quiet_days=90)
    history = model.TypeHistory(examples=10, converted=2, method="fallback", smoothed_rate=0.1)

    texts = {
        row["type"]: opportunity_wording(
            row,
            name="Ada",
            currency="KES",
            as_of=AS_OF,
            probability=0.25,
            method="fallback",
            history=history,
            value=ValueEstimate(None, "no_sales", 0),
        )
        for row in frame.to_dict("records")
    }

    assert set(texts) == {"upsell", "renewal", "win_back"}
    for wording in texts.values():
        assert json.loads(json.dumps(wording.evidence)) == wording.evidence
        assert "Confidence 25%" in wording.explanation
    assert texts["renewal"].title == "Renewal due in 15 days: Ada"
    assert texts["renewal"].evidence["renewal"]["due_on"] == "2026-03-17"
    assert texts["upsell"].evidence["engagement_30d"] == {
        "interactions": 2,
        "inbound": 1,
        "meetings": 1,
        "campaign_replies": 0,
        "inbound_chats": 0,
        "new_leads": 0,
    }
    assert texts["win_back"].evidence["win_back"] == {
        "reason": "churned",
        "lapsed_days_ago": 60,
        "last_engaged_days_ago": 5,
    }
