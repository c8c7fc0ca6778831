"""Training the confidence model of one organization from its own history (reads only).

Replays the reference times of model.training_snapshots through the same selectors the
nightly scoring uses (signals.signals_at sees only rows before each time, so nothing after
it leaks into its features), labels each signal with the sales of the horizon after it
(signals.sale_outcomes) and fits model.confidence_model_fit. Queries: one for the first
sale, then six per snapshot (at most MAX_SNAPSHOTS), whatever the data size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from crm.models import Organization
from insights.bi.opportunities import model, signals


@dataclass(frozen=True)
class Replay:
    """The signals of one past reference time and the sales of the horizon after it."""

    at: dt.datetime
    signals: pd.DataFrame
    outcomes: pd.DataFrame


@dataclass(frozen=True)
class TrainedModel:
    confidence: model.ConfidenceModel
    snapshots: int
    examples: int


def snapshot_replay(
    *, organization: Organization, at: dt.datetime, renewal_notice_days: int, quiet_days: int
) -> Replay:
    """Six queries: the five of signals.signal_facts as of `at`, and the outcomes."""
    return Replay(
        at=at,
        signals=signals.signals_at(
            organization=organization,
            as_of=at,
            renewal_notice_days=renewal_notice_days,
            quiet_days=quiet_days,
        ),
        outcomes=signals.sale_outcomes(
            organization=organization, start=at, end=at + dt.timedelta(days=model.HORIZON_DAYS)
        ),
    )


def confidence_model_train(
    *,
    organization: Organization,
    as_of: dt.datetime,
    renewal_notice_days: int,
    quiet_days: int,
    replay: Callable[..., Replay] = snapshot_replay,
) -> TrainedModel:
    """`replay` computes one snapshot; a caller evaluating several cut-offs (the calibration
    test) may pass a memoised one, since a snapshot depends only on its time."""
    times = model.training_snapshots(
        as_of=as_of, first_sale_at=signals.first_sale_at(organization=organization)
    )
    replays = [
        replay(
            organization=organization, at=at, renewal_notice_days=renewal_notice_days, quiet_days=quiet_days
        )
        for at in times
    ]
    training = model.training_frame((r.at, r.signals, r.outcomes) for r in replays)
    return TrainedModel(
        confidence=model.confidence_model_fit(training), snapshots=len(times), examples=len(training)
    )
