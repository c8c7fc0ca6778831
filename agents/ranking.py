"""Team ranking (docs/metrics.md, "Team ranking"; DESIGN section 6).

score = 0.40 x conversion + 0.35 x satisfaction + 0.25 x response, each component min-max
normalised to [0, 1] across the ranked agents (response inverted: faster is better). A
component the agent has no data for counts 0; where every agent with data has the same
value, the component is 1 for those agents. Rank 1 is the highest score; ties go to the
higher conversion rate, then the e-mail in alphabetical order. Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.metrics import round_half_up

CONVERSION_WEIGHT = 0.40
SATISFACTION_WEIGHT = 0.35
RESPONSE_WEIGHT = 0.25


@dataclass(frozen=True)
class AgentScoreInput:
    agent_id: int
    email: str
    conversion_rate: float | Decimal | None  # percent of handled leads converted, unrounded
    satisfaction: float | Decimal | None  # mean rating 1-5
    response_hours: float | Decimal | None  # mean hours from assignment to first contact


@dataclass(frozen=True)
class RankedAgent:
    agent_id: int
    email: str
    rank: int
    score: float


def _as_float(value: float | Decimal | None) -> float | None:
    # The score is a weighted sum of shares: plain floats (rates arrive as Decimals).
    return None if value is None else float(value)


def _normaliser(
    values: Sequence[float | Decimal | None], *, invert: bool
) -> Callable[[float | Decimal | None], float]:
    present = [float(v) for v in values if v is not None]
    if not present:
        return lambda value: 0.0
    low, high = min(present), max(present)

    def normalise(value: float | Decimal | None) -> float:
        if value is None:
            return 0.0
        if high == low:
            return 1.0
        share = (float(value) - low) / (high - low)
        return 1.0 - share if invert else share

    return normalise


def team_ranking(agents: Sequence[AgentScoreInput]) -> list[RankedAgent]:
    conversion = _normaliser([a.conversion_rate for a in agents], invert=False)
    satisfaction = _normaliser([a.satisfaction for a in agents], invert=False)
    response = _normaliser([a.response_hours for a in agents], invert=True)
    scored = [
        (
            CONVERSION_WEIGHT * conversion(a.conversion_rate)
            + SATISFACTION_WEIGHT * satisfaction(a.satisfaction)
            + RESPONSE_WEIGHT * response(a.response_hours),
            a,
        )
        for a in agents
    ]
    # Scores are compared rounded so float noise (0.1 + 0.2) does not break a real tie.
    scored.sort(
        key=lambda pair: (
            -round(pair[0], 9),
            -(_as_float(pair[1].conversion_rate) if pair[1].conversion_rate is not None else -1.0),
            pair[1].email,
        )
    )
    return [
        RankedAgent(agent_id=a.agent_id, email=a.email, rank=position, score=round_half_up(score, 4))
        for position, (score, a) in enumerate(scored, start=1)
    ]
