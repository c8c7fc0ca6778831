"""The opportunity signals, from per-contact aggregates as of a reference time (pure).

Definitions (docs/metrics.md, "Opportunities" has them with examples). T is the reference time
`as_of`; only rows before T reach this module (insights.bi.opportunities.signals), and every
age is in days before T, so the same rules replay the history for training.

- customer state: purchases, spend, first and last purchase, product lines owned. A
  *subscription* is either recurring billing (the contact has `recurring` sales: the series
  of its `new` and `recurring` sales, cadence = mean gap, DEFAULT_RECURRING_CADENCE_DAYS with
  one payment) or a *contract* (`new` / `renewal` sales and no `recurring` one: cadence = the
  mean gap between renewals, CONTRACT_TERM_DAYS with fewer than two). Next due = last payment
  + cadence. *Churned*: no payment for more than CHURN_CADENCE_FACTOR cadences. *Active
  customer*: a subscription that has not churned, or (without one) a purchase in the last
  ONE_OFF_ACTIVE_DAYS.
- engagement (last ENGAGEMENT_DAYS): interactions on the contact's leads (calls, e-mails,
  meetings, messages; not automated), of them inbound, campaign replies, inbound chat
  messages, new leads. *Engaged*: at least one of these. Customer-initiated: inbound
  interactions, replies, inbound chats, new leads.
- upsell: an engaged active customer, a customer for UPSELL_MIN_TENURE_DAYS, with no upsell
  or expansion sale in the last `quiet_days`.
- expansion: an engaged active customer for EXPANSION_MIN_TENURE_DAYS whose current product
  line is one the organization has sold expansions in, with no expansion in `quiet_days`.
- cross_sell: an engaged active customer with no cross-sell sale in `quiet_days`, and a
  product line it lacks that similar customers bought: among the customers owning one of its
  lines, the share who also own the other line; the best line with at least
  CROSS_SELL_MIN_OWNERS such customers and a share of at least CROSS_SELL_MIN_SHARE.
- renewal: a subscription with a cadence of at least RENEWAL_MIN_CADENCE_DAYS (contracts,
  quarterly billing; a monthly card payment is not a sales conversation) due within
  [T - RENEWAL_GRACE_DAYS, T + renewal_notice_days].
- win_back: not an active customer, but churned, lapsed (one-off buyer) or with a lost lead,
  and re-engaged: a customer-initiated engagement in the last ENGAGEMENT_DAYS after the lapse
  (the missed payment, the end of the active period, or the lead's loss).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

UPSELL = "upsell"
CROSS_SELL = "cross_sell"
RENEWAL = "renewal"
EXPANSION = "expansion"
WIN_BACK = "win_back"
# The values of insights.bi.models.OpportunityType (kept here so this module stays ORM-free).
SIGNAL_TYPES = (UPSELL, CROSS_SELL, RENEWAL, EXPANSION, WIN_BACK)

ENGAGEMENT_DAYS = 30
CHURN_CADENCE_FACTOR = 1.5
# One recurring payment gives no gap to measure: recurring billing is monthly unless shown.
DEFAULT_RECURRING_CADENCE_DAYS = 30.0
CONTRACT_TERM_DAYS = 365.0
# Below this the "renewal" is an automatic monthly charge, not an opportunity; its loss is
# churn, which the win-back signal covers.
RENEWAL_MIN_CADENCE_DAYS = 80.0
# A renewal still counts as an opportunity this long after its due date.
RENEWAL_GRACE_DAYS = 15.0
ONE_OFF_ACTIVE_DAYS = 365.0
UPSELL_MIN_TENURE_DAYS = 30.0
EXPANSION_MIN_TENURE_DAYS = 60.0
CROSS_SELL_MIN_OWNERS = 3
CROSS_SELL_MIN_SHARE = 0.05

SUBSCRIPTION_KINDS = ("new", "recurring", "renewal")
STATE_COLUMNS = (
    "n_purchases",
    "total_spend",
    "first_age",
    "last_age",
    "lines_owned",
    "n_upsell",
    "last_upsell_age",
    "n_cross_sell",
    "last_cross_sell_age",
    "n_expansion",
    "last_expansion_age",
    "n_one_time",
    "last_one_time_age",
    "n_new",
    "n_renewal",
    "n_recurring",
    "subscription",
    "cadence_days",
    "last_payment_age",
    "due_in_days",
    "churned",
    "active",
    "current_line",
    "mean_payment",
)
# Columns of the aggregate frames (insights.bi.opportunities.signals builds them).
SALES_COLUMNS = ("contact_id", "product_line", "kind", "n", "total", "first_at", "last_at")
LEADS_COLUMNS = (
    "contact_id",
    "lead_id",
    "region",
    "product_line",
    "agent_id",
    "n_leads",
    "n_open",
    "n_lost",
    "last_lost_at",
    "last_created_at",
    "new_leads",
)
ACTIVITY_COLUMNS = ("contact_id", "interactions", "inbound", "meetings", "last_inbound_at")
REPLY_COLUMNS = ("contact_id", "replies", "last_reply_at")
CHAT_COLUMNS = ("contact_id", "chats", "last_chat_at")

# The model's inputs, one value per signal (0 where it does not apply); model.py adds the type.
FEATURES = (
    "is_customer",
    "recency",
    "tenure",
    "tenure_years",
    "purchases",
    "spend",
    "lines_owned",
    "subscriber",
    "cadence",
    "due_in",
    "same_kind_before",
    "interactions",
    "inbound",
    "meetings",
    "replies",
    "chats",
    "new_leads",
    "open_lead",
    "lost_leads",
    "cross_share",
    "lapse",
)
# What the page and the value rule need besides the features.
DETAILS = (
    "lead_id",
    "agent_id",
    "region",
    "current_line",
    "recommended_line",
    "based_on_line",
    "co_owners",
    "first_age",
    "last_age",
    "n_purchases",
    "total_spend",
    "cadence_days",
    "due_in_days",
    "last_payment_age",
    "mean_payment",
    "n_interactions",
    "n_inbound",
    "n_meetings",
    "n_replies",
    "n_chats",
    "n_new_leads",
    "lapse_reason",
    "lapse_age",
    "engaged_age",
    "n_same_kind",
)
SIGNAL_COLUMNS = ("contact_id", "type", *FEATURES, *DETAILS)

# The sale kinds whose earlier sales count as "the same kind" for a type's feature.
SAME_KINDS = {
    UPSELL: ("upsell",),
    CROSS_SELL: ("cross_sell",),
    RENEWAL: ("renewal", "recurring"),
    EXPANSION: ("expansion",),
    WIN_BACK: SUBSCRIPTION_KINDS,
}


@dataclass(frozen=True)
class SignalFacts:
    """The aggregates of one organization as of one reference time (frames of the *_COLUMNS)."""

    as_of: dt.datetime
    sales: pd.DataFrame
    leads: pd.DataFrame
    activities: pd.DataFrame
    replies: pd.DataFrame
    chats: pd.DataFrame


def _dtype(column: str) -> str:
    if column in ("type", "region", "current_line", "recommended_line", "based_on_line", "lapse_reason"):
        return "object"
    if column in ("contact_id", "lead_id", "agent_id"):
        return "Int64"
    return "float64"


_EMPTY = pd.DataFrame({column: pd.Series(dtype=_dtype(column)) for column in SIGNAL_COLUMNS})


def empty_signals() -> pd.DataFrame:
    return _EMPTY.copy()


def age_days(as_of: dt.datetime, values: pd.Series) -> np.ndarray:
    """Days from each timestamp to as_of (NaN where missing)."""
    stamps = pd.to_datetime(values, utc=True)
    return np.asarray((pd.Timestamp(as_of) - stamps) / pd.Timedelta(days=1), dtype=float)


# Reductions per contact over rows coded 0..k-1 (NaN where a contact has no row).
def _sum(codes: np.ndarray, k: int, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(k)
    np.add.at(out, codes if mask is None else codes[mask], values if mask is None else values[mask])
    return out


def _extreme(ufunc: np.ufunc, start: float, codes, k: int, values, mask=None) -> np.ndarray:
    out = np.full(k, start)
    ufunc.at(out, codes if mask is None else codes[mask], values if mask is None else values[mask])
    out[out == start] = np.nan
    return out


def _max(codes, k, values, mask=None) -> np.ndarray:
    return _extreme(np.maximum, -np.inf, codes, k, values, mask)


def _min(codes, k, values, mask=None) -> np.ndarray:
    return _extreme(np.minimum, np.inf, codes, k, values, mask)


def _first_per_code(codes: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, row) of the first row of each code in `order`."""
    found, first = np.unique(codes[order], return_index=True)
    return found, order[first]


def customer_state(sales: pd.DataFrame, *, as_of: dt.datetime) -> pd.DataFrame:
    """One row per contact with a sale before as_of: the customer state of the docstring."""
    if sales.empty:
        return pd.DataFrame(columns=list(STATE_COLUMNS), index=pd.Index([], name="contact_id", dtype="int64"))
    codes, contacts = pd.factorize(sales["contact_id"].to_numpy(dtype=np.int64), sort=True)
    k = len(contacts)
    n = sales["n"].to_numpy(dtype=float)
    total = sales["total"].to_numpy(dtype=float)
    kinds = sales["kind"].to_numpy(dtype=object)
    lines = sales["product_line"].to_numpy(dtype=object)
    first_age, last_age = age_days(as_of, sales["first_at"]), age_days(as_of, sales["last_at"])
    is_kind = {kind: kinds == kind for kind in set(kinds)}
    no_rows = np.zeros(len(kinds), dtype=bool)

    def kind_mask(*names: str) -> np.ndarray:
        mask = no_rows.copy()
        for name in names:
            mask |= is_kind.get(name, no_rows)
        return mask

    state: dict[str, np.ndarray] = {
        "n_purchases": _sum(codes, k, n),
        "total_spend": _sum(codes, k, total),
        "first_age": _max(codes, k, first_age),
        "last_age": _min(codes, k, last_age),
    }
    lined = lines != ""
    pairs = (
        np.unique(np.stack([codes[lined], pd.factorize(lines[lined])[0]]), axis=1) if lined.any() else None
    )
    state["lines_owned"] = np.zeros(k) if pairs is None else np.bincount(pairs[0], minlength=k).astype(float)
    count = {
        kind: _sum(codes, k, n, kind_mask(kind)) for kind in ("new", "recurring", "renewal", *_OTHER_KINDS)
    }
    for kind in _OTHER_KINDS:
        state[f"n_{kind}"] = count[kind]
        state[f"last_{kind}_age"] = _min(codes, k, last_age, kind_mask(kind))
    n_new, n_rec, n_ren = count["new"], count["recurring"], count["renewal"]
    state["n_new"], state["n_renewal"], state["n_recurring"] = n_new, n_rec, n_ren
    recurring = n_rec > 0
    contract = ~recurring & (n_new + n_ren > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Recurring billing: the series of new and recurring payments.
        series = kind_mask("new", "recurring")
        series_n = n_new + n_rec
        series_last = _min(codes, k, last_age, series)
        gap = (_max(codes, k, first_age, series) - series_last) / (series_n - 1)
        recurring_cadence = np.where(series_n >= 2, gap, DEFAULT_RECURRING_CADENCE_DAYS)
        # Contracts: the mean gap between renewals, else a year.
        renewals = kind_mask("renewal")
        renewal_gap = (_max(codes, k, first_age, renewals) - _min(codes, k, last_age, renewals)) / (n_ren - 1)
        contract_cadence = np.where(n_ren >= 2, renewal_gap, CONTRACT_TERM_DAYS)
    contract_last = _min(codes, k, last_age, kind_mask("new", "renewal"))
    state["subscription"] = np.where(recurring, "recurring", np.where(contract, "contract", ""))
    # A cadence of 0 (two payments at the same instant) would make everything overdue.
    cadence = np.where(recurring, recurring_cadence, np.where(contract, contract_cadence, np.nan))
    state["cadence_days"] = np.clip(cadence, 1.0, None)
    state["last_payment_age"] = np.where(recurring, series_last, np.where(contract, contract_last, np.nan))
    state["due_in_days"] = state["cadence_days"] - state["last_payment_age"]
    has_sub = recurring | contract
    with np.errstate(invalid="ignore"):
        churned = has_sub & (state["last_payment_age"] > CHURN_CADENCE_FACTOR * state["cadence_days"])
        state["active"] = (has_sub & ~churned) | (~has_sub & (state["last_age"] <= ONE_OFF_ACTIVE_DAYS))
    state["churned"] = churned

    # The line and mean payment of the latest subscription payment (else of the latest sale);
    # ties go to the first line, then kind, alphabetically.
    order = np.lexsort((kinds.astype(str), lines.astype(str), last_age, codes))
    subscription_rows = order[kind_mask(*SUBSCRIPTION_KINDS)[order] & has_sub[codes[order]]]
    current = np.full(k, "", dtype=object)
    mean_payment = np.full(k, np.nan)
    found, rows = _first_per_code(codes, order[lined[order]] if lined.any() else order)
    current[found] = lines[rows]
    found, rows = _first_per_code(codes, subscription_rows)
    current[found] = lines[rows]
    mean_payment[found] = total[rows] / n[rows]
    state["current_line"], state["mean_payment"] = current, mean_payment
    return pd.DataFrame(state, index=pd.Index(contacts, name="contact_id"))[list(STATE_COLUMNS)]


_OTHER_KINDS = ("upsell", "cross_sell", "expansion", "one_time")


def cross_sell_lines(sales: pd.DataFrame) -> pd.DataFrame:
    """Per customer, the product line it lacks that most customers sharing one of its lines own.

    share(a, b) = customers owning both a and b / customers owning a; a contact's best line b
    maximises share over its lines a (ties: the first line alphabetically), among pairs with
    at least CROSS_SELL_MIN_OWNERS co-owners and a share of at least CROSS_SELL_MIN_SHARE.
    """
    columns = ["recommended_line", "based_on_line", "cross_share", "co_owners"]
    lined = sales[sales["product_line"] != ""]
    if lined.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="contact_id"))
    rows, contacts = pd.factorize(lined["contact_id"].to_numpy(dtype=np.int64), sort=True)
    cols, lines = pd.factorize(lined["product_line"].to_numpy(dtype=object), sort=True)
    m = np.zeros((len(contacts), len(lines)))
    m[rows, cols] = 1.0
    co = m.T @ m
    owners = np.diag(co)
    share = np.divide(co, owners[:, None], out=np.zeros_like(co), where=owners[:, None] > 0)
    share[(co < CROSS_SELL_MIN_OWNERS) | (share < CROSS_SELL_MIN_SHARE)] = 0.0
    np.fill_diagonal(share, 0.0)
    best = np.zeros_like(m)
    based_on = np.zeros(m.shape, dtype=int)
    for a in range(m.shape[1]):
        candidate = m[:, [a]] * share[[a], :]
        better = candidate > best
        best = np.where(better, candidate, best)
        based_on = np.where(better, a, based_on)
    best[m > 0] = 0.0
    pick = best.argmax(axis=1)
    index = np.arange(m.shape[0])
    found = best[index, pick] > 0
    base = based_on[index, pick]
    result = pd.DataFrame(
        {
            "recommended_line": np.asarray(lines, dtype=object)[pick],
            "based_on_line": np.asarray(lines, dtype=object)[base],
            "cross_share": best[index, pick],
            "co_owners": co[base, pick],
        },
        index=pd.Index(contacts, name="contact_id"),
    )
    return result[found]


def _aligned(frame: pd.DataFrame, index: pd.Index, column: str, fill: float = np.nan) -> np.ndarray:
    """`column` of a frame keyed by contact_id, aligned to index (fill where missing)."""
    if frame.empty:
        return np.full(len(index), fill, dtype=float if column != "product_line" else object)
    values = frame.set_index("contact_id")[column].reindex(index)
    if values.dtype.kind in "fiub":
        return (
            values.to_numpy(dtype=float, na_value=fill)
            if not np.isnan(fill)
            else values.to_numpy(dtype=float)
        )
    return values.to_numpy()


def candidate_signals(facts: SignalFacts, *, renewal_notice_days: int, quiet_days: int) -> pd.DataFrame:
    """One row per (contact, type) signal as of facts.as_of, with FEATURES and DETAILS."""
    as_of = facts.as_of
    ids = [
        facts.sales["contact_id"],
        facts.leads["contact_id"],
        facts.activities["contact_id"],
        facts.replies["contact_id"],
        facts.chats["contact_id"],
    ]
    contacts = np.unique(np.concatenate([column.to_numpy(dtype=np.int64) for column in ids]))
    if len(contacts) == 0:
        return empty_signals()
    index = pd.Index(contacts, name="contact_id")
    state = customer_state(facts.sales, as_of=as_of).reindex(index)
    cross = cross_sell_lines(facts.sales).reindex(index)
    leads = facts.leads.set_index("contact_id").reindex(index)

    def col(frame: pd.DataFrame, name: str, fill: float = np.nan) -> np.ndarray:
        values = frame[name].to_numpy(dtype=float)
        return np.where(np.isnan(values), fill, values) if not np.isnan(fill) else values

    def text(frame: pd.DataFrame, name: str) -> np.ndarray:
        values = frame[name].to_numpy(dtype=object)
        return np.where(pd.isna(values), "", values).astype(object)

    # Engagement of the last ENGAGEMENT_DAYS (the selectors already limited the rows to it).
    e = {
        "interactions": _aligned(facts.activities, index, "interactions", 0.0),
        "inbound": _aligned(facts.activities, index, "inbound", 0.0),
        "meetings": _aligned(facts.activities, index, "meetings", 0.0),
        "replies": _aligned(facts.replies, index, "replies", 0.0),
        "chats": _aligned(facts.chats, index, "chats", 0.0),
        "new_leads": col(leads, "new_leads", 0.0),
    }
    new_lead_at = leads["last_created_at"].where(leads["new_leads"].fillna(0) > 0)
    customer_initiated = [
        age_days(as_of, facts.activities.set_index("contact_id")["last_inbound_at"].reindex(index)),
        age_days(as_of, facts.replies.set_index("contact_id")["last_reply_at"].reindex(index)),
        age_days(as_of, facts.chats.set_index("contact_id")["last_chat_at"].reindex(index)),
        age_days(as_of, new_lead_at),
    ]
    with np.errstate(all="ignore"):
        engaged_age = np.fmin.reduce(np.stack(customer_initiated), axis=0)
    engaged = (e["interactions"] + e["replies"] + e["chats"] + e["new_leads"]) > 0

    purchases = col(state, "n_purchases", 0.0)
    is_customer = purchases > 0
    active = state["active"].to_numpy(dtype=object) == True  # noqa: E712 - NaN (no sales) is False
    churned = state["churned"].to_numpy(dtype=object) == True  # noqa: E712
    subscription = text(state, "subscription")
    has_sub = subscription != ""
    tenure, last_age = col(state, "first_age"), col(state, "last_age")
    cadence, due_in = col(state, "cadence_days"), col(state, "due_in_days")
    current_line = text(state, "current_line")
    current_line = np.where(current_line == "", text(leads, "product_line"), current_line)

    def quiet(*kinds: str) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            ages = np.fmin.reduce(np.stack([col(state, f"last_{kind}_age") for kind in kinds]), axis=0)
            return np.isnan(ages) | (ages > quiet_days)

    with np.errstate(invalid="ignore"):
        expansion_lines = list(
            set(facts.sales.loc[facts.sales["kind"] == "expansion", "product_line"]) - {""}
        )
        masks = {
            UPSELL: active & engaged & (tenure >= UPSELL_MIN_TENURE_DAYS) & quiet("upsell", "expansion"),
            EXPANSION: active
            & engaged
            & (tenure >= EXPANSION_MIN_TENURE_DAYS)
            & np.isin(current_line, expansion_lines)
            & quiet("expansion"),
            CROSS_SELL: active & engaged & cross["recommended_line"].notna().to_numpy() & quiet("cross_sell"),
            RENEWAL: has_sub
            & ~churned
            & (cadence >= RENEWAL_MIN_CADENCE_DAYS)
            & (due_in >= -RENEWAL_GRACE_DAYS)
            & (due_in <= float(renewal_notice_days)),
        }
        # Win-back: the most recent lapse, then a customer-initiated engagement after it.
        churn_lapse = np.where(churned, col(state, "last_payment_age") - cadence, np.nan)
        one_off_lapse = np.where(is_customer & ~has_sub & ~active, last_age - ONE_OFF_ACTIVE_DAYS, np.nan)
        lost_lapse = age_days(as_of, leads["last_lost_at"])
        lapse_age = np.fmin.reduce(np.stack([churn_lapse, one_off_lapse, lost_lapse]), axis=0)
        lapse_reason = np.where(lapse_age == lost_lapse, "lost_lead", np.where(churned, "churned", "lapsed"))
        lapse_reason = np.where(np.isnan(lapse_age), None, lapse_reason).astype(object)
        masks[WIN_BACK] = (
            ~active & ~np.isnan(lapse_age) & (engaged_age <= ENGAGEMENT_DAYS) & (engaged_age < lapse_age)
        )

    features = {
        "is_customer": is_customer.astype(float),
        "recency": np.log1p(np.nan_to_num(last_age)),
        "tenure": np.log1p(np.nan_to_num(tenure)),
        "tenure_years": np.nan_to_num(tenure) / 365.0,
        "purchases": np.log1p(purchases),
        "spend": np.log1p(np.clip(col(state, "total_spend", 0.0), 0.0, None)),
        "lines_owned": col(state, "lines_owned", 0.0),
        "subscriber": (has_sub & ~churned).astype(float),
        "cadence": np.log1p(np.nan_to_num(cadence)),
        "due_in": np.clip(np.nan_to_num(due_in) / 30.0, -3.0, 3.0),
        **{name: np.log1p(e[name]) for name in ("interactions", "inbound", "meetings", "replies", "chats")},
        "new_leads": e["new_leads"],
        "open_lead": (col(leads, "n_open", 0.0) > 0).astype(float),
        "lost_leads": np.log1p(col(leads, "n_lost", 0.0)),
    }
    details = {
        "lead_id": col(leads, "lead_id"),
        "agent_id": col(leads, "agent_id"),
        "region": text(leads, "region"),
        "current_line": current_line,
        "first_age": tenure,
        "last_age": last_age,
        "n_purchases": purchases,
        "total_spend": col(state, "total_spend", 0.0),
        "cadence_days": cadence,
        "due_in_days": due_in,
        "last_payment_age": col(state, "last_payment_age"),
        "mean_payment": col(state, "mean_payment"),
        **{f"n_{name}": values for name, values in e.items()},
        "engaged_age": engaged_age,
    }
    counts = {kind: col(state, f"n_{kind}", 0.0) for kind in ("new", "recurring", "renewal", *_OTHER_KINDS)}
    frames = []
    for signal_type in SIGNAL_TYPES:
        mask = masks[signal_type]
        if not mask.any():
            continue
        same = sum(counts[kind] for kind in SAME_KINDS[signal_type])[mask]
        nothing = np.full(int(mask.sum()), np.nan)
        none = np.full(int(mask.sum()), None, dtype=object)
        is_cross, is_win = signal_type == CROSS_SELL, signal_type == WIN_BACK
        rows = {
            "contact_id": contacts[mask],
            "type": np.full(int(mask.sum()), signal_type, dtype=object),
            **{name: values[mask] for name, values in features.items()},
            "same_kind_before": np.log1p(same),
            "cross_share": np.nan_to_num(cross["cross_share"].to_numpy(dtype=float)[mask])
            if is_cross
            else 0.0,
            "lapse": np.log1p(np.clip(lapse_age[mask], 0.0, None)) if is_win else 0.0,
            **{name: values[mask] for name, values in details.items()},
            "recommended_line": cross["recommended_line"].to_numpy(dtype=object)[mask] if is_cross else none,
            "based_on_line": cross["based_on_line"].to_numpy(dtype=object)[mask] if is_cross else none,
            "co_owners": cross["co_owners"].to_numpy(dtype=float)[mask] if is_cross else nothing,
            "lapse_reason": lapse_reason[mask] if is_win else none,
            "lapse_age": lapse_age[mask] if is_win else nothing,
            "n_same_kind": same,
        }
        frames.append(pd.DataFrame(rows))
    if not frames:
        return empty_signals()
    signals = pd.concat(frames, ignore_index=True)[list(SIGNAL_COLUMNS)]
    signals = signals.astype({c: _dtype(c) for c in SIGNAL_COLUMNS})
    return signals.sort_values(["type", "contact_id"], ignore_index=True)
