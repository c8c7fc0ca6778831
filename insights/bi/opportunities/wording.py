"""What a sales manager reads on an opportunity: title, explanation and evidence (pure).

The evidence holds the numbers the signal was found on, as plain JSON (ints, floats rounded
for reading, ISO dates), so the page can show them and a later refresh can compare them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.metrics import round_half_up
from insights.bi.opportunities.model import HORIZON_DAYS, TypeHistory
from insights.bi.opportunities.rules import CROSS_SELL, ENGAGEMENT_DAYS, EXPANSION, RENEWAL, UPSELL, WIN_BACK
from insights.bi.opportunities.value import ValueEstimate

TITLE_LENGTH = 200
_VERBS = {
    UPSELL: "Upsell",
    CROSS_SELL: "Cross-sell",
    RENEWAL: "Renewal",
    EXPANSION: "Expand",
    WIN_BACK: "Win back",
}


@dataclass(frozen=True)
class Wording:
    title: str
    explanation: str
    evidence: dict[str, Any]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _days(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else math.floor(number)


def _count(value: Any) -> int:
    number = _number(value)
    return 0 if number is None else int(round_half_up(number, 0))


def _money(amount: Any, currency: str) -> str:
    number = _number(amount) or 0.0
    return f"{currency} {round_half_up(number, 0):,.0f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def opportunity_wording(
    signal: dict[str, Any],
    *,
    name: str,
    currency: str,
    as_of: dt.datetime,
    probability: float,
    method: str,
    history: TypeHistory,
    value: ValueEstimate,
) -> Wording:
    kind = signal["type"]
    who = name or f"Contact {signal['contact_id']}"
    line = signal.get("current_line") or ""
    engagement = {
        "interactions": _count(signal["n_interactions"]),
        "inbound": _count(signal["n_inbound"]),
        "meetings": _count(signal["n_meetings"]),
        "campaign_replies": _count(signal["n_replies"]),
        "inbound_chats": _count(signal["n_chats"]),
        "new_leads": _count(signal["n_new_leads"]),
    }
    customer = {
        "purchases": _count(signal["n_purchases"]),
        "spend": round_half_up(_number(signal["total_spend"]) or 0.0, 2),
        "first_purchase_days_ago": _days(signal["first_age"]),
        "last_purchase_days_ago": _days(signal["last_age"]),
        "product_line": line,
        "region": signal.get("region") or "",
    }
    evidence: dict[str, Any] = {
        "signal": kind,
        "as_of": as_of.isoformat(),
        "customer": customer,
        f"engagement_{ENGAGEMENT_DAYS}d": engagement,
        "confidence": {
            "method": method,
            "probability": round_half_up(probability, 4),
            "horizon_days": HORIZON_DAYS,
            "history_examples": history.examples,
            "history_converted": history.converted,
        },
        "value": {"rule": value.rule, "sample": value.sample},
    }
    recent = _engagement_text(engagement)
    since = customer["first_purchase_days_ago"]
    tenure = f"a customer for {since} days" if since is not None else "not a customer yet"
    if kind == RENEWAL:
        due_in = _days(signal["due_in_days"]) or 0
        due_on = (as_of + dt.timedelta(days=float(signal["due_in_days"]))).date()
        evidence["renewal"] = {
            "cadence_days": _days(signal["cadence_days"]),
            "due_on": due_on.isoformat(),
            "days_to_due": due_in,
            "mean_payment": round_half_up(_number(signal["mean_payment"]) or 0.0, 2),
        }
        when = f"due in {due_in} days" if due_in >= 0 else f"{-due_in} days overdue"
        title = f"Renewal {when}: {who}"
        text = (
            f"{who} pays every {_days(signal['cadence_days'])} days ({line or 'no product line'}); the next "
            f"payment was due on {due_on.isoformat()} ({when})."
        )
    elif kind == CROSS_SELL:
        share = _number(signal["cross_share"]) or 0.0
        recommended = signal.get("recommended_line") or ""
        evidence["cross_sell"] = {
            "recommended_line": recommended,
            "because_of_line": signal.get("based_on_line") or "",
            "share_of_similar_customers": round_half_up(share, 4),
            "similar_customers": _count(signal["co_owners"]),
        }
        title = f"Cross-sell {recommended}: {who}"
        text = (
            f"{share:.0%} of the customers who own {signal.get('based_on_line')} also bought {recommended}; "
            f"{who} ({tenure}) has not. {recent}"
        )
    elif kind == WIN_BACK:
        reason = signal.get("lapse_reason") or ""
        lapsed = _days(signal["lapse_age"])
        evidence["win_back"] = {
            "reason": reason,
            "lapsed_days_ago": lapsed,
            "last_engaged_days_ago": _days(signal["engaged_age"]),
        }
        what = {"churned": "stopped paying", "lapsed": "stopped buying", "lost_lead": "was lost as a lead"}
        title = f"Win back: {who}"
        text = f"{who} {what.get(reason, 'lapsed')} {lapsed} days ago and has reached out again. {recent}"
    else:
        verb = "upsell" if kind == UPSELL else "expansion"
        earlier = _count(signal["n_same_kind"])
        title = f"{_VERBS[kind]} {who}" + (f" ({line})" if line else "")
        text = (
            f"{who} is {tenure} on {line or 'no product line'} "
            f"({_plural(customer['purchases'], 'purchase')}, {_money(signal['total_spend'], currency)}), "
            f"with no {verb} recently ({_plural(earlier, 'earlier ' + verb)}). {recent}"
        )
        if kind == EXPANSION:
            text += f" The organization sells seat expansions on {line}."
    text += " " + _confidence_text(kind, probability, method, history)
    if value.amount is not None:
        text += (
            f" Estimated value {_money(Decimal(value.amount), currency)} ({value.rule.replace('_', ' ')})."
        )
    return Wording(title=title[:TITLE_LENGTH], explanation=text.strip(), evidence=evidence)


def _engagement_text(engagement: dict[str, int]) -> str:
    parts = [
        _plural(engagement["interactions"], "interaction"),
        _plural(engagement["meetings"], "meeting"),
        _plural(engagement["campaign_replies"], "campaign reply").replace("replys", "replies"),
        _plural(engagement["inbound_chats"], "chat message"),
    ]
    return f"In the last {ENGAGEMENT_DAYS} days: " + ", ".join(parts) + "."


def _confidence_text(kind: str, probability: float, method: str, history: TypeHistory) -> str:
    if method == "model":
        return (
            f"Confidence {probability:.0%}: the organization's model of which of its {history.examples} "
            f"past {kind.replace('_', '-')} signals converted within {HORIZON_DAYS} days."
        )
    if history.examples:
        return (
            f"Confidence {probability:.0%}: {history.converted} of {history.examples} past signals of this "
            f"type converted within {HORIZON_DAYS} days (too few to model; smoothed towards the default)."
        )
    return f"Confidence {probability:.0%}: the default rate for this type (no history yet)."
